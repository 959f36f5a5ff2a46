package outxtest

import (
	"strings"
	"testing"
	"time"
)

func TestCheckAccountTasks(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday
	task := func(createdMin, finishedMin float64) Task {
		tk := Task{Type: TypeSendMessage, CreatedAt: t0.Add(time.Duration(createdMin * float64(time.Minute)))}
		if finishedMin >= 0 {
			tk.FinishedAt = t0.Add(time.Duration(finishedMin * float64(time.Minute)))
		}
		return tk
	}
	weekdays9to17 := func(at time.Time) bool {
		return at.Weekday() != time.Saturday && at.Weekday() != time.Sunday && at.Hour() >= 9 && at.Hour() < 17
	}
	for _, tc := range []struct {
		name  string
		tasks []Task
		p     AccountPacing
		want  []string // each a part of the error; none: no error
	}{
		{name: "none", tasks: nil},
		{name: "gaps from each end", tasks: []Task{task(0, 1), task(3, 4), task(6, 7)}, p: AccountPacing{MinGap: 2 * time.Minute}},
		{name: "in any order", tasks: []Task{task(6, 7), task(0, 1), task(3, 4)}, p: AccountPacing{MinGap: 2 * time.Minute}},
		{name: "overlap", tasks: []Task{task(0, 2), task(1, 3)},
			want: []string{"task 1 (agent_send_message) was created at 09:01:00.000 while task 0 (agent_send_message) was in flight (until 09:02:00.000)"}},
		{name: "gap counted from the end, not the start", tasks: []Task{task(0, 2), task(3, 4)}, p: AccountPacing{MinGap: 2 * time.Minute},
			want: []string{"task 1 (agent_send_message) was created 1m0s after task 0 (agent_send_message) ended: want at least 2m0s"}},
		{name: "never finished", tasks: []Task{task(0, -1), task(3, 4)}, want: []string{"task 0 (agent_send_message) never finished"}},
		{name: "hourly cap over any 60 minutes", tasks: []Task{task(0, 1), task(30, 31), task(59, 60), task(61, 62)}, p: AccountPacing{HourlyCap: 2},
			want: []string{"task 2 (agent_send_message) makes 3 tasks within an hour; the hourly cap is 2",
				"task 3 (agent_send_message) makes 3 tasks within an hour"}},
		{name: "daily cap by calendar day", tasks: []Task{task(0, 1), task(60, 61), task(24*60, 24*60+1)}, p: AccountPacing{DailyCap: 2}},
		{name: "daily cap broken", tasks: []Task{task(0, 1), task(60, 61), task(120, 121)}, p: AccountPacing{DailyCap: 2},
			want: []string{"task 2 (agent_send_message) makes 3 tasks on 2026-03-02; the daily cap is 2"}},
		{name: "days of a time zone", tasks: []Task{task(5*60+30, 5*60+31), task(6*60+30, 6*60+31)},
			p: AccountPacing{DailyCap: 1, Location: time.FixedZone("UTC+9", 9*3600)}}, // 14:30 and 15:30 UTC: 23:30 and 00:30 there
		{name: "outside the hours", tasks: []Task{task(0, 1), task(8*60+30, 8*60+31)}, p: AccountPacing{Open: weekdays9to17},
			want: []string{"task 1 (agent_send_message) was created 2026-03-02 17:30:00 +0000 UTC, outside the sending hours"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAccountTasks(tc.tasks, tc.p)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error with %q, got none", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
