package pacing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// office is the policy of the simulation: Mon-Fri 09:00-18:00 in Berlin.
func office(t testing.TB) Policy {
	return Policy{
		MinGap:    30 * time.Second,
		MaxGap:    90 * time.Second,
		HourlyCap: 20,
		DailyCap:  50,
		Window:    mustWindow(t, "Europe/Berlin", "mon-fri", "09:00-18:00"),
	}
}

func times(ss ...string) []time.Time {
	var ts []time.Time
	for _, s := range ss {
		ts = append(ts, rfc(s))
	}
	return ts
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Policy)
		field string // "" for valid
	}{
		{"valid", func(*Policy) {}, ""},
		{"no caps and no gaps", func(p *Policy) { p.MinGap, p.MaxGap, p.HourlyCap, p.DailyCap = 0, 0, 0, 0 }, ""},
		{"hourly cap at its limit", func(p *Policy) { p.HourlyCap = 1000 }, ""},
		{"negative min gap", func(p *Policy) { p.MinGap = -time.Second }, "min_gap"},
		{"max gap below min gap", func(p *Policy) { p.MaxGap = 10 * time.Second }, "max_gap"},
		{"negative hourly cap", func(p *Policy) { p.HourlyCap = -1 }, "hourly_cap"},
		{"hourly cap too large for the state", func(p *Policy) { p.HourlyCap = 1001 }, "hourly_cap"},
		{"negative daily cap", func(p *Policy) { p.DailyCap = -1 }, "daily_cap"},
		{"no time zone", func(p *Policy) { p.Window.Location = nil }, "time_zone"},
		{"empty hours", func(p *Policy) { p.Window.End = p.Window.Start }, "hours"},
		{"hours past midnight", func(p *Policy) { p.Window.End = 1441 }, "hours"},
		{"no days", func(p *Policy) { p.Window.Days = [7]bool{} }, "days"},
	}
	for _, tt := range tests {
		p := office(t)
		tt.edit(&p)
		err := p.Validate()
		var fe *FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.field == "":
		case !errors.As(err, &fe) || fe.Field != tt.field || !strings.HasPrefix(err.Error(), tt.field+": "):
			t.Errorf("%s: Validate() = %v, want a *FieldError for %s", tt.name, err, tt.field)
		}
	}
}

func TestNext(t *testing.T) {
	const wed = "2026-03-25T" // a Wednesday in Berlin winter time (+01:00)
	tests := []struct {
		name   string
		edit   func(*Policy)
		state  State
		now    string
		gap    time.Duration
		want   string
		reason Reason
	}{
		{"ready", nil, State{LastEnd: rfc(wed + "09:58:00+01:00")}, wed + "10:00:00+01:00", time.Minute, wed + "10:00:00+01:00", Ready},
		{"ready with an empty state", nil, State{}, wed + "10:00:00+01:00", time.Minute, wed + "10:00:00+01:00", Ready},
		{"ready exactly when the gap ends", nil, State{LastEnd: rfc(wed + "09:59:00+01:00")}, wed + "10:00:00+01:00", time.Minute, wed + "10:00:00+01:00", Ready},
		{
			"spacing counts from the last end, not the last start", nil,
			State{LastEnd: rfc(wed + "09:59:40+01:00"), RecentStarts: times(wed + "09:55:00+01:00")},
			wed + "10:00:00+01:00", time.Minute, wed + "10:00:40+01:00", Spacing,
		},
		{
			"hourly cap waits for the oldest start to leave the hour", func(p *Policy) { p.HourlyCap = 3 },
			State{RecentStarts: times(wed+"09:10:00+01:00", wed+"09:30:00+01:00", wed+"09:50:00+01:00")},
			wed + "10:00:00+01:00", 0, wed + "10:10:00+01:00", HourlyCap,
		},
		{
			"a start exactly an hour ago no longer counts", func(p *Policy) { p.HourlyCap = 3 },
			State{RecentStarts: times(wed+"09:00:00+01:00", wed+"09:30:00+01:00", wed+"09:50:00+01:00")},
			wed + "10:00:00+01:00", 0, wed + "10:00:00+01:00", Ready,
		},
		{
			"more starts than the cap (the cap was lowered)", func(p *Policy) { p.HourlyCap = 2 },
			State{RecentStarts: times(wed+"09:10:00+01:00", wed+"09:30:00+01:00", wed+"09:50:00+01:00")},
			wed + "10:00:00+01:00", 0, wed + "10:30:00+01:00", HourlyCap,
		},
		{
			"hourly cap outlasts the gap", func(p *Policy) { p.HourlyCap = 3 },
			State{LastEnd: rfc(wed + "09:59:50+01:00"), RecentStarts: times(wed+"09:10:00+01:00", wed+"09:30:00+01:00", wed+"09:50:00+01:00")},
			wed + "10:00:00+01:00", time.Minute, wed + "10:10:00+01:00", HourlyCap,
		},
		{
			"the opening is checked against the hourly cap again", func(p *Policy) { p.HourlyCap = 3 },
			// Starts after now are odd (a clock moved back), but they count once at reaches them.
			State{RecentStarts: times(wed+"08:05:00+01:00", wed+"08:10:00+01:00", wed+"08:15:00+01:00")},
			wed + "07:00:00+01:00", 0, wed + "09:05:00+01:00", HourlyCap,
		},
		{
			"daily cap on a Friday waits for Monday's opening", nil,
			State{Day: "2026-03-27", DayCount: 50},
			"2026-03-27T15:00:00+01:00", time.Minute, "2026-03-30T09:00:00+02:00", DailyCap,
		},
		{
			"daily cap waits for the next local midnight", func(p *Policy) { p.Window = mustWindow(t, "Europe/Berlin", "daily", "00:00-24:00") },
			State{Day: "2026-03-25", DayCount: 50},
			wed + "23:50:00+01:00", 0, "2026-03-26T00:00:00+01:00", DailyCap,
		},
		{
			"the count of an earlier day does not count", nil,
			State{Day: "2026-03-24", DayCount: 50},
			wed + "10:00:00+01:00", 0, wed + "10:00:00+01:00", Ready,
		},
		{
			"after midnight yesterday's count is spent; the window still waits", nil,
			State{Day: "2026-03-25", DayCount: 50},
			"2026-03-26T00:30:00+01:00", 0, "2026-03-26T09:00:00+01:00", OutsideWindow,
		},
		{
			"the local day counts, not the UTC day", // 00:30+01:00 is still the 25th in UTC
			func(p *Policy) { p.Window = mustWindow(t, "Europe/Berlin", "daily", "00:00-24:00") },
			State{Day: "2026-03-26", DayCount: 50},
			"2026-03-26T00:30:00+01:00", 0, "2026-03-27T00:00:00+01:00", DailyCap,
		},
		{"before the opening", nil, State{}, wed + "07:00:00+01:00", 0, wed + "09:00:00+01:00", OutsideWindow},
		{"Saturday waits for Monday", nil, State{}, "2026-03-28T10:00:00+01:00", 0, "2026-03-30T09:00:00+02:00", OutsideWindow},
		{
			"the gap pushes past the close to the next day's opening", nil,
			State{LastEnd: rfc(wed + "17:58:50+01:00")},
			wed + "17:59:00+01:00", 90 * time.Second, "2026-03-26T09:00:00+01:00", OutsideWindow,
		},
		{
			"the hourly cap pushes past Friday's close to Monday", func(p *Policy) { p.HourlyCap = 2 },
			State{RecentStarts: times("2026-03-27T17:20:00+01:00", "2026-03-27T17:25:00+01:00")},
			"2026-03-27T17:30:00+01:00", 0, "2026-03-30T09:00:00+02:00", OutsideWindow,
		},
		{
			"a gap longer than the night still counts at the opening", func(p *Policy) { p.MaxGap = 20 * time.Hour },
			State{LastEnd: rfc(wed + "17:00:00+01:00")},
			wed + "17:10:00+01:00", 16*time.Hour + 30*time.Minute, "2026-03-26T09:30:00+01:00", Spacing,
		},
		{
			"the window never opens", func(p *Policy) { p.Window.Days = [7]bool{} },
			State{}, wed + "10:00:00+01:00", 0, "0001-01-01T00:00:00Z", OutsideWindow,
		},
	}
	for _, tt := range tests {
		p := office(t)
		if tt.edit != nil {
			tt.edit(&p)
		}
		at, why := p.Next(tt.state, rfc(tt.now), tt.gap)
		if want := rfc(tt.want); !at.Equal(want) || why != tt.reason {
			t.Errorf("%s: Next(now %s, gap %v) = %s, %s; want %s, %s", tt.name, tt.now, tt.gap,
				at.In(p.Window.loc()).Format(time.RFC3339), why, tt.want, tt.reason)
		}
	}
}

// TestSimulation runs 500 actions of a campaign from a Thursday afternoon in
// Berlin, across the weekend on which DST ends, and checks every rule on the
// schedule Next produced. The state goes through JSON between actions, as it
// does through continue-as-new.
func TestSimulation(t *testing.T) {
	p := office(t)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	loc := p.Window.Location
	var (
		s       State
		now     = rfc("2026-10-22T16:00:00+02:00") // Thursday
		starts  []time.Time
		perDay  = map[string]int{}
		reasons = map[Reason]int{}
		prevEnd time.Time
	)
	for n := range int64(500) {
		gap := p.Gap("campaign-42", n)
		at, why := p.Next(s, now, gap)
		reasons[why]++
		l := at.In(loc)
		switch {
		case at.Before(now):
			t.Fatalf("action %d: Next = %s, before now %s", n, l, now.In(loc))
		case why == Ready != at.Equal(now):
			t.Fatalf("action %d: Next = %s, %s at now %s", n, l, why, now.In(loc))
		case !p.Window.Open(at):
			t.Fatalf("action %d at %s: outside the window", n, l)
		case l.Weekday() == time.Saturday || l.Weekday() == time.Sunday:
			t.Fatalf("action %d at %s: on a weekend", n, l)
		case n > 0 && at.Before(prevEnd.Add(gap)):
			t.Fatalf("action %d at %s: less than its gap %v after the previous end %s", n, l, gap, prevEnd.In(loc))
		case n > 0 && at.Before(prevEnd.Add(p.MinGap)):
			t.Fatalf("action %d at %s: less than MinGap after the previous end %s", n, l, prevEnd.In(loc))
		}
		if perDay[l.Format(time.DateOnly)]++; perDay[l.Format(time.DateOnly)] > p.DailyCap {
			t.Fatalf("action %d at %s: more than %d actions that day", n, l, p.DailyCap)
		}
		end := at.Add(5*time.Second + time.Duration(n*7919%35)*time.Second) // the OutX task takes 5-39s
		s.Record(p, at, end)
		if len(s.RecentStarts) > p.HourlyCap {
			t.Fatalf("action %d: %d recent starts, more than HourlyCap", n, len(s.RecentStarts))
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s = State{}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		starts, prevEnd, now = append(starts, at), end, end
	}
	busiest := 0
	for i, at := range starts {
		j := i
		for j > 0 && starts[j-1].After(at.Add(-time.Hour)) {
			j--
		}
		if busiest = max(busiest, i-j+1); i-j+1 > p.HourlyCap {
			t.Fatalf("%d actions in the hour up to %s", i-j+1, at.In(loc))
		}
	}
	// The run must have exercised every rule, or the checks above prove little.
	full := 0
	for _, c := range perDay {
		if c == p.DailyCap {
			full++
		}
	}
	last := starts[len(starts)-1]
	if busiest != p.HourlyCap || full < 8 || last.Before(rfc("2026-10-26T09:00:00+01:00")) {
		t.Errorf("busiest hour %d, %d full days, last action %s: the run did not reach the caps or cross the DST weekend", busiest, full, last.In(loc))
	}
	for _, r := range []Reason{Ready, Spacing, HourlyCap, DailyCap, OutsideWindow} {
		if reasons[r] == 0 {
			t.Errorf("no action waited for %s: %v", r, reasons)
		}
	}
	if want := "2026-10-26T09:00:00+01:00"; !firstOn(starts, loc, "2026-10-26").Equal(rfc(want)) {
		t.Errorf("first action on Monday after fall back = %s, want %s", firstOn(starts, loc, "2026-10-26").In(loc), want)
	}
}

func firstOn(starts []time.Time, loc *time.Location, day string) time.Time {
	for _, s := range starts {
		if s.In(loc).Format(time.DateOnly) == day {
			return s
		}
	}
	return time.Time{}
}

func TestGap(t *testing.T) {
	p := Policy{MinGap: 30 * time.Second, MaxGap: 90 * time.Second}
	mid := (p.MinGap + p.MaxGap) / 2
	low, same := 0, 0
	for n := range int64(10_000) {
		g := p.Gap("seed-a", n)
		if g < p.MinGap || g > p.MaxGap {
			t.Fatalf("Gap(seed-a, %d) = %v, outside [%v, %v]", n, g, p.MinGap, p.MaxGap)
		}
		if again := p.Gap("seed-a", n); again != g {
			t.Fatalf("Gap(seed-a, %d) = %v, then %v", n, g, again)
		}
		if g < mid {
			low++
		}
		if p.Gap("seed-b", n) == g {
			same++
		}
	}
	if low < 4_500 || low > 5_500 {
		t.Errorf("%d of 10000 gaps below %v, want about half", low, mid)
	}
	if same > 0 {
		t.Errorf("seeds a and b drew %d equal gaps of 10000", same)
	}
	// Pinned values: a change here changes the gaps of running campaigns on replay.
	if got, want := fmt.Sprint(p.Gap("seed-a", 0), p.Gap("seed-a", 1), p.Gap("", 0)), pinnedGaps; got != want {
		t.Errorf("Gap values changed: got %s, want %s", got, want)
	}
	for _, q := range []Policy{{}, {MinGap: time.Minute, MaxGap: time.Minute}, {MinGap: time.Minute, MaxGap: time.Second}} {
		if got := q.Gap("seed-a", 7); got != q.MinGap {
			t.Errorf("%v..%v: Gap = %v, want MinGap", q.MinGap, q.MaxGap, got)
		}
	}
	narrow := Policy{MinGap: time.Second, MaxGap: time.Second + 1}
	seen := map[time.Duration]bool{}
	for n := range int64(100) {
		seen[narrow.Gap("x", n)] = true
	}
	if len(seen) != 2 {
		t.Errorf("a 1ns range drew %d distinct gaps, want both ends", len(seen))
	}
}

const pinnedGaps = "1m1.247331644s 58.666479874s 1m11.093848799s"

func TestRecordBounded(t *testing.T) {
	p := office(t)
	var s State
	start := rfc("2026-03-25T09:00:00+01:00")
	for n := range 10_000 {
		at := start.Add(time.Duration(n) * 5 * time.Second)
		s.Record(p, at, at.Add(2*time.Second))
		if len(s.RecentStarts) > p.HourlyCap {
			t.Fatalf("after %d records: %d recent starts, more than HourlyCap %d", n+1, len(s.RecentStarts), p.HourlyCap)
		}
	}
	last := start.Add(9_999 * 5 * time.Second)
	if len(s.RecentStarts) != p.HourlyCap || !s.RecentStarts[p.HourlyCap-1].Equal(last) || !s.RecentStarts[0].Equal(last.Add(-19*5*time.Second)) {
		t.Errorf("RecentStarts = %v, want the latest %d starts, up to %s", s.RecentStarts, p.HourlyCap, last)
	}
	if !s.LastEnd.Equal(last.Add(2 * time.Second)) {
		t.Errorf("LastEnd = %s, want %s", s.LastEnd, last.Add(2*time.Second))
	}

	// Starts 10 minutes apart: only those of the last hour are kept.
	s = State{}
	for n := range 100 {
		at := start.Add(time.Duration(n) * 10 * time.Minute)
		s.Record(p, at, at.Add(2*time.Second))
	}
	if len(s.RecentStarts) != 6 {
		t.Errorf("starts 10 minutes apart: %d recent starts, want 6", len(s.RecentStarts))
	}

	// Without an hourly cap there is nothing to remember.
	p.HourlyCap = 0
	s.Record(p, start, start)
	if s.RecentStarts != nil {
		t.Errorf("no hourly cap: RecentStarts = %v, want nil", s.RecentStarts)
	}
}

func TestRecordDayCount(t *testing.T) {
	p := office(t)
	var s State
	for i, tt := range []struct {
		start string
		day   string
		count int
	}{
		{"2026-03-25T23:58:00+01:00", "2026-03-25", 1},
		{"2026-03-25T23:59:00+01:00", "2026-03-25", 2},
		{"2026-03-26T00:01:00+01:00", "2026-03-26", 1}, // still the 25th in UTC
		{"2026-03-26T10:00:00+01:00", "2026-03-26", 2},
		{"2026-03-25T12:00:00+01:00", "2026-03-26", 2}, // a late record of an earlier day
	} {
		s.Record(p, rfc(tt.start), rfc(tt.start).Add(time.Second))
		if s.Day != tt.day || s.DayCount != tt.count {
			t.Errorf("record %d at %s: Day %s DayCount %d, want %s %d", i, tt.start, s.Day, s.DayCount, tt.day, tt.count)
		}
	}
}

func TestStateJSON(t *testing.T) {
	if b, err := json.Marshal(State{}); err != nil || string(b) != "{}" {
		t.Errorf("zero State = %s, %v; want {}", b, err)
	}
	p := office(t)
	var s State
	s.Record(p, rfc("2026-03-25T10:00:00+01:00"), rfc("2026-03-25T10:00:30+01:00"))
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"last_end":"2026-03-25T09:00:30Z","recent_starts":["2026-03-25T09:00:00Z"],"day":"2026-03-25","day_count":1}`
	if string(b) != want {
		t.Errorf("State JSON = %s, want %s", b, want)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(back); string(b2) != want {
		t.Errorf("State JSON after a round trip = %s, want %s", b2, want)
	}
}

// TestWeeklyCap: a weekly cap counts actions per local ISO week and, once
// reached, moves the next action to the window's first opening of the next
// week, whatever the daily cap allows.
func TestWeeklyCap(t *testing.T) {
	p := office(t)
	p.WeeklyCap, p.HourlyCap, p.DailyCap = 3, 0, 0
	var s State
	// Wednesday, Thursday, Friday of one week (Berlin).
	for _, start := range []string{"2026-03-25T10:00:00+01:00", "2026-03-26T10:00:00+01:00", "2026-03-27T10:00:00+01:00"} {
		s.Record(p, rfc(start), rfc(start).Add(time.Minute))
	}
	if s.Week != "2026-03-23" || s.WeekCount != 3 {
		t.Fatalf("Week %s WeekCount %d, want 2026-03-23 3", s.Week, s.WeekCount)
	}
	at, why := p.Next(s, rfc("2026-03-27T11:00:00+01:00"), time.Minute)
	if want := rfc("2026-03-30T09:00:00+02:00"); !at.Equal(want) || why != WeeklyCap { // Monday, after the DST change
		t.Errorf("Next = %s %s, want %s weekly_cap", at, why, want)
	}
	// The next week counts afresh.
	s.Record(p, rfc("2026-03-30T09:00:00+02:00"), rfc("2026-03-30T09:01:00+02:00"))
	if s.Week != "2026-03-30" || s.WeekCount != 1 {
		t.Errorf("after a Monday action: Week %s WeekCount %d, want 2026-03-30 1", s.Week, s.WeekCount)
	}
	if at, why := p.Next(s, rfc("2026-03-30T10:00:00+02:00"), time.Minute); !at.Equal(rfc("2026-03-30T10:00:00+02:00")) || why != Ready {
		t.Errorf("Next on Monday = %s %s, want ready now", at, why)
	}
	// Without a weekly cap, nothing is counted per week.
	p.WeeklyCap = 0
	var u State
	u.Record(p, rfc("2026-03-25T10:00:00+01:00"), rfc("2026-03-25T10:01:00+01:00"))
	if u.Week != "" || u.WeekCount != 0 {
		t.Errorf("no weekly cap: Week %q WeekCount %d, want empty", u.Week, u.WeekCount)
	}
}
