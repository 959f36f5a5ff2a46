// Package pacing holds the rules that space out a LinkedIn outreach
// campaign's actions: random gaps, hourly and daily caps, and a sending
// window. Its functions are pure and take the current time as an argument,
// because workflow code calls them and must decide the same way on replay.
package pacing

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// Policy is a campaign's pacing. LinkedIn restricts accounts whose activity
// is too dense or too regular, so actions are spaced by random gaps, capped
// per rolling hour and per local day, and kept inside a sending window.
type Policy struct {
	MinGap, MaxGap time.Duration // gap between the end of one OutX task and the start of the next; 0 <= MinGap <= MaxGap
	HourlyCap      int           // at most this many actions in any rolling 60 minutes; 0 = no cap
	DailyCap       int           // at most this many actions per local calendar day of Window.Location; 0 = no cap
	WeeklyCap      int           // at most this many actions per local ISO week (Monday to Sunday); 0 = no cap
	Window         Window
}

// maxHourlyCap bounds HourlyCap because State keeps one start per allowed
// action, and State travels through continue-as-new.
const maxHourlyCap = 1000

// Validate checks p before a campaign starts, so that a bad setting fails
// the start rather than a running workflow. Errors are *FieldError.
func (p Policy) Validate() error {
	w := p.Window
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	switch {
	case p.MinGap < 0:
		return bad("min_gap", "must not be negative, got %v", p.MinGap)
	case p.MaxGap < p.MinGap:
		return bad("max_gap", "must be at least min_gap (%v), got %v", p.MinGap, p.MaxGap)
	case p.HourlyCap < 0:
		return bad("hourly_cap", "must not be negative, got %d", p.HourlyCap)
	case p.HourlyCap > maxHourlyCap:
		return bad("hourly_cap", "must be at most %d so that the pacing state stays small, got %d", maxHourlyCap, p.HourlyCap)
	case p.DailyCap < 0:
		return bad("daily_cap", "must not be negative, got %d", p.DailyCap)
	case p.WeeklyCap < 0:
		return bad("weekly_cap", "must not be negative, got %d", p.WeeklyCap)
	case w.Location == nil:
		return bad("time_zone", "is required")
	case w.Start < 0 || w.End > 24*60 || w.End <= w.Start:
		return bad("hours", "want 00:00 <= start < end <= 24:00, got %d-%d minutes", w.Start, w.End)
	case w.Days == [7]bool{}:
		return bad("days", "at least one day is required, or the window never opens")
	}
	return nil
}

// State is what pacing remembers between actions. It is carried in JSON
// through continue-as-new, so it stays small: RecentStarts holds at most
// HourlyCap entries.
type State struct {
	LastEnd      time.Time   `json:"last_end,omitzero"`       // when the previous action's OutX task ended (its gap counts from here)
	RecentStarts []time.Time `json:"recent_starts,omitempty"` // start times of the latest actions, oldest first, at most HourlyCap, only those within the last hour matter
	Day          string      `json:"day,omitempty"`           // local date "2006-01-02" that DayCount counts
	DayCount     int         `json:"day_count,omitempty"`
	Week         string      `json:"week,omitempty"` // local Monday "2006-01-02" of the ISO week WeekCount counts
	WeekCount    int         `json:"week_count,omitempty"`
}

// Record notes an action that started at start, which counts against the
// caps, and whose OutX task ended at end, from which the next gap counts.
// It keeps only the starts that can still matter: the latest HourlyCap, and
// of those the ones newer than end-1h. An action on a local day before Day
// no longer affects any cap and is not counted.
func (s *State) Record(p Policy, start, end time.Time) {
	s.LastEnd = end.UTC()
	switch day := localDate(start, p.Window.loc()); {
	case day == s.Day:
		s.DayCount++
	case day > s.Day: // "2006-01-02" sorts as text
		s.Day, s.DayCount = day, 1
	}
	if p.WeeklyCap > 0 {
		switch week := weekStart(start, p.Window.loc()).Format(time.DateOnly); {
		case week == s.Week:
			s.WeekCount++
		case week > s.Week:
			s.Week, s.WeekCount = week, 1
		}
	}
	if p.HourlyCap <= 0 {
		s.RecentStarts = nil
		return
	}
	starts := append(slices.Clone(s.RecentStarts), start.UTC()) // a copy: State values passed to Next share the slice
	slices.SortFunc(starts, time.Time.Compare)
	cut := end.Add(-time.Hour)
	i := max(len(starts)-p.HourlyCap, 0)
	for i < len(starts) && !starts[i].After(cut) {
		i++
	}
	s.RecentStarts = slices.Clip(starts[i:])
	if len(s.RecentStarts) == 0 {
		s.RecentStarts = nil
	}
}

func localDate(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// weekStart is local midnight of the Monday of t's week.
func weekStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	back := (int(l.Weekday()) + 6) % 7 // days since Monday
	y, m, d := l.Date()
	return time.Date(y, m, d-back, 0, 0, 0, 0, loc)
}

// Reason says why the next action waits, for logs and for the campaign's
// status.
type Reason string

const (
	Ready         Reason = "ready"
	Spacing       Reason = "spacing" // waiting out the gap after the previous task
	HourlyCap     Reason = "hourly_cap"
	DailyCap      Reason = "daily_cap"
	WeeklyCap     Reason = "weekly_cap"
	OutsideWindow Reason = "outside_window"
)

// Next returns the earliest instant at >= now at which the next action may
// start, given the gap drawn for it, and why it waits until then: the
// constraint that last moved it, or Ready if at == now. at satisfies every
// constraint at once:
//   - at >= s.LastEnd+gap;
//   - fewer than HourlyCap of s.RecentStarts lie in (at-1h, at];
//   - fewer than DailyCap actions on at's local day (DayCount counts only if
//     Day is that day);
//   - Window.Open(at).
//
// Each constraint can only move at later, and meeting one may break another
// (waiting for the hour to clear can leave the window), so Next applies them
// in turn until none moves at. A reached daily cap moves at to the window's
// first opening on a later day, and reports DailyCap even though the window
// placed it. If the window never opens, Next returns the zero Time and
// OutsideWindow; Validate rejects such a policy.
func (p Policy) Next(s State, now time.Time, gap time.Duration) (at time.Time, why Reason) {
	at, why = now, Ready
	push := func(t time.Time, r Reason) {
		if t.After(at) {
			at, why = t, r
		}
	}
	loc := p.Window.loc()
	for range 64 { // a few rounds suffice; the bound only guards against surprises
		before := at
		push(s.LastEnd.Add(gap), Spacing)
		if p.HourlyCap > 0 {
			push(hourFree(s.RecentStarts, p.HourlyCap, at), HourlyCap)
		}
		if l := at.In(loc); p.DailyCap > 0 && s.Day == l.Format(time.DateOnly) && s.DayCount >= p.DailyCap {
			y, m, d := l.Date()
			open := p.Window.NextOpen(time.Date(y, m, d+1, 0, 0, 0, 0, loc))
			if open.IsZero() {
				return time.Time{}, DailyCap
			}
			push(open, DailyCap)
		}
		if p.WeeklyCap > 0 && s.Week != "" && s.WeekCount >= p.WeeklyCap {
			ws := weekStart(at, loc)
			if ws.Format(time.DateOnly) == s.Week {
				y, m, d := ws.Date()
				open := p.Window.NextOpen(time.Date(y, m, d+7, 0, 0, 0, 0, loc))
				if open.IsZero() {
					return time.Time{}, WeeklyCap
				}
				push(open, WeeklyCap)
			}
		}
		open := p.Window.NextOpen(at)
		if open.IsZero() {
			return time.Time{}, OutsideWindow
		}
		push(open, OutsideWindow)
		if at.Equal(before) {
			break
		}
	}
	return at, why
}

// hourFree returns the earliest instant >= at at which fewer than limit of
// starts lie in the rolling hour ending there.
func hourFree(starts []time.Time, limit int, at time.Time) time.Time {
	var in []time.Time
	for _, t := range starts {
		if t.After(at.Add(-time.Hour)) && !t.After(at) {
			in = append(in, t)
		}
	}
	if len(in) < limit {
		return at
	}
	slices.SortFunc(in, time.Time.Compare)
	// Once the oldest len(in)-limit+1 have left the hour, limit-1 remain.
	return in[len(in)-limit].Add(time.Hour)
}

// Gap draws the gap before action number n of a campaign, uniformly in
// [MinGap, MaxGap] to the nanosecond. It is a hash of (seed, n) rather than a
// random number so that a replayed workflow draws the same gap, and a
// different seed per campaign keeps campaigns from moving in step.
func (p Policy) Gap(seed string, n int64) time.Duration {
	span := p.MaxGap - p.MinGap
	if span <= 0 {
		return p.MinGap
	}
	sum := sha256.Sum256(append(binary.BigEndian.AppendUint64(nil, uint64(n)), seed...))
	// The high word of hash*(span+1) is uniform in [0, span] without the
	// bias of a modulo.
	off, _ := bits.Mul64(binary.BigEndian.Uint64(sum[:8]), uint64(span)+1)
	return p.MinGap + time.Duration(off)
}
