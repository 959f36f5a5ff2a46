package outxtest

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// AccountPacing is what one account's tasks must keep, by the sandbox's own
// clock. Zero values check nothing but one task at a time.
type AccountPacing struct {
	// MinGap is the least time from the end of a task to the creation of
	// the next: the gap counts from the previous task's end, so a queue of
	// tasks never bursts out when an extension comes back.
	MinGap time.Duration
	// HourlyCap, when not 0, is the most tasks created in any 60 minutes.
	HourlyCap int
	// DailyCap, when not 0, is the most tasks created in one calendar day
	// of Location.
	DailyCap int
	// Location is the time zone of DailyCap's days; nil is UTC.
	Location *time.Location
	// Open, when set, says whether a task may be created at a moment: the
	// account's sending days and hours.
	Open func(time.Time) bool
}

// CheckAccountTasks says whether one account's tasks kept to p: each
// finished; none was created while another was in flight; each came at least
// p.MinGap after the previous one's end; and the caps and the sending hours,
// when given, held. The tasks are taken in the order they were created. The
// error lists every breach, naming the tasks by their position in that
// order; nil means all held.
//
// One check, used wherever a test asks "one task at a time, gaps from the
// previous end" (workflows tests in virtual time, e2e tests on the real
// server), so that the rule cannot drift between them.
func CheckAccountTasks(tasks []Task, p AccountPacing) error {
	tasks = slices.Clone(tasks)
	slices.SortStableFunc(tasks, func(a, b Task) int { return a.CreatedAt.Compare(b.CreatedAt) })
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	var errs []error
	for i, task := range tasks {
		if task.FinishedAt.IsZero() {
			errs = append(errs, fmt.Errorf("task %d (%s) never finished", i, task.Type))
		}
		if p.Open != nil && !p.Open(task.CreatedAt) {
			errs = append(errs, fmt.Errorf("task %d (%s) was created %s, outside the sending hours", i, task.Type, task.CreatedAt))
		}
		if i > 0 {
			prev := tasks[i-1]
			switch gap := task.CreatedAt.Sub(prev.FinishedAt); {
			case prev.FinishedAt.IsZero():
				// Reported above; no gap to measure.
			case gap < 0:
				errs = append(errs, fmt.Errorf("task %d (%s) was created at %s while task %d (%s) was in flight (until %s)",
					i, task.Type, task.CreatedAt.Format(time.TimeOnly+".000"), i-1, prev.Type, prev.FinishedAt.Format(time.TimeOnly+".000")))
			case gap < p.MinGap:
				errs = append(errs, fmt.Errorf("task %d (%s) was created %s after task %d (%s) ended: want at least %s",
					i, task.Type, gap, i-1, prev.Type, p.MinGap))
			}
		}
		inHour, inDay := 0, 0
		y, m, d := task.CreatedAt.In(loc).Date()
		for _, u := range tasks[:i+1] {
			if task.CreatedAt.Sub(u.CreatedAt) < time.Hour {
				inHour++
			}
			if uy, um, ud := u.CreatedAt.In(loc).Date(); uy == y && um == m && ud == d {
				inDay++
			}
		}
		if p.HourlyCap > 0 && inHour > p.HourlyCap {
			errs = append(errs, fmt.Errorf("task %d (%s) makes %d tasks within an hour; the hourly cap is %d", i, task.Type, inHour, p.HourlyCap))
		}
		if p.DailyCap > 0 && inDay > p.DailyCap {
			errs = append(errs, fmt.Errorf("task %d (%s) makes %d tasks on %d-%02d-%02d; the daily cap is %d", i, task.Type, inDay, y, m, d, p.DailyCap))
		}
	}
	return errors.Join(errs...)
}
