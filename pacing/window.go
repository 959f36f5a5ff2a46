package pacing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is when a campaign may act: from Start to End on the chosen days of
// the week, on the wall clock of Location. Activity at 3 a.m. in the sender's
// own time zone looks automated, so the window lives in that zone, not in UTC,
// and follows its daylight-saving changes.
type Window struct {
	Location *time.Location
	Days     [7]bool // indexed by time.Weekday (Sunday=0)
	// Start and End are minutes after local midnight, 0 <= Start < End <= 1440;
	// End 1440 is the midnight that ends the day ("24:00").
	Start, End int
}

// FieldError is an invalid setting. Field is the setting's name in a
// campaign's configuration, so that the message points at what to fix.
type FieldError struct{ Field, Rule string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// searchDays bounds the search for the window's next opening. A week is
// enough, except when a week's only opening falls in the hour a
// spring-forward day skips.
const searchDays = 15

var dayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// ParseWindow builds a Window from the three settings people type: an IANA
// time zone ("Europe/Berlin"), days ("mon-fri", "mon,wed,fri", "fri-mon",
// "daily", "weekdays", "weekends"; case-insensitive) and hours
// ("09:00-18:00", end up to "24:00"). Errors are *FieldError naming the
// setting ("time_zone", "days" or "hours").
func ParseWindow(tz, days, hours string) (Window, error) {
	var w Window
	var err error
	if w.Location, err = parseZone(tz); err != nil {
		return Window{}, err
	}
	if w.Days, err = parseDays(days); err != nil {
		return Window{}, err
	}
	if w.Start, w.End, err = parseHours(hours); err != nil {
		return Window{}, err
	}
	return w, nil
}

func parseZone(tz string) (*time.Location, error) {
	name := strings.TrimSpace(tz)
	// LoadLocation reads "" as UTC and "Local" as the host's zone; both are
	// more likely mistakes than choices, and "Local" differs between workers.
	if name == "" || name == "Local" {
		return nil, &FieldError{"time_zone", fmt.Sprintf("%q: want an IANA time zone such as Europe/Berlin or UTC", tz)}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &FieldError{"time_zone", fmt.Sprintf("%q: unknown time zone (want an IANA name such as Europe/Berlin or UTC)", tz)}
	}
	return loc, nil
}

func parseDays(s string) ([7]bool, error) {
	var days [7]bool
	bad := func(rule string) ([7]bool, error) {
		return [7]bool{}, &FieldError{"days", fmt.Sprintf("%q: %s", s, rule)}
	}
	list := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "–", "-"))
	switch list {
	case "":
		return bad("no days given (want e.g. mon-fri, mon,wed,fri or daily)")
	case "daily", "every day":
		list = "sun-sat"
	case "weekdays":
		list = "mon-fri"
	case "weekends":
		list = "sat-sun"
	}
	for item := range strings.SplitSeq(list, ",") {
		from, to, isRange := strings.Cut(item, "-")
		if !isRange {
			to = from
		}
		a, aok := weekday(from)
		b, bok := weekday(to)
		switch {
		case !aok:
			return bad(fmt.Sprintf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", strings.TrimSpace(from)))
		case !bok:
			return bad(fmt.Sprintf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", strings.TrimSpace(to)))
		}
		for d := a; ; d = (d + 1) % 7 { // a range may wrap: fri-mon
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// weekday reads a day's full or three-letter name.
func weekday(s string) (int, bool) {
	s = strings.TrimSpace(s)
	for d, name := range dayNames {
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

func parseHours(s string) (start, end int, err error) {
	bad := func(rule string) (int, int, error) {
		return 0, 0, &FieldError{"hours", fmt.Sprintf("%q: %s", s, rule)}
	}
	from, to, ok := strings.Cut(strings.ReplaceAll(s, "–", "-"), "-")
	if !ok {
		return bad(syntaxRule)
	}
	start, rule := parseClock(from)
	if rule == "" {
		end, rule = parseClock(to)
	}
	switch {
	case rule != "":
		return bad(rule)
	case end <= start:
		return bad("the end must be after the start")
	}
	return start, end, nil
}

const syntaxRule = "want HH:MM-HH:MM, e.g. 09:00-18:00"

// parseClock reads "HH:MM" as minutes after midnight; rule says what is wrong.
func parseClock(s string) (minutes int, rule string) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || strings.Trim(h+m, "0123456789") != "" {
		return 0, syntaxRule
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	switch {
	case mm > 59:
		return 0, "minutes must be 00-59"
	case hh > 24 || hh == 24 && mm > 0:
		return 0, "hours must be 00-23, or 24:00 for the midnight that ends the day"
	}
	return hh*60 + mm, ""
}

// loc is w's zone; a nil Location (which Policy.Validate rejects) reads as
// UTC rather than panicking inside a workflow.
func (w Window) loc() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// Open reports whether t is inside the window: its local weekday is a
// sending day and its local time of day is in [Start, End).
func (w Window) Open(t time.Time) bool {
	l := t.In(w.loc())
	m := l.Hour()*60 + l.Minute()
	return w.Days[l.Weekday()] && w.Start <= m && m < w.End
}

// NextOpen returns t if the window is open at t, and otherwise the earliest
// later instant at which it is, or the zero Time if it never opens.
//
// Daylight-saving changes make wall times repeat or go missing, so NextOpen
// walks the zone's stretches of constant UTC offset; within one, local time is
// UTC plus a fixed offset and each day's open period is exact. A period that
// starts in an hour a spring-forward day skips thus opens at the change
// (03:00 for a 02:30 start in Berlin), the first instant Open reports, and a
// period in the hour a fall-back day repeats opens a second time.
func (w Window) NextOpen(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	limit := t.Add(searchDays * 24 * time.Hour)
	for from := t; from.Before(limit); {
		fixed, end := stretch(from.In(w.loc()))
		if end.IsZero() || end.After(limit) {
			end = limit
		}
		y, m, d := from.In(fixed).Date()
		for i := 0; ; i++ {
			day := time.Date(y, m, d+i, 0, 0, 0, 0, fixed)
			if !day.Before(end) {
				break
			}
			open, close := w.period(day)
			if w.Days[day.Weekday()] && from.Before(close) && open.Before(end) {
				return later(open, from)
			}
		}
		from = end
	}
	return time.Time{}
}

// ClosesAt returns the earliest instant >= t at which the window is closed:
// t itself when it is closed at t, and otherwise the end of the current open
// period. Periods are per local day, so a window open until 24:00 closes at
// midnight even when the next day opens at 00:00.
func (w Window) ClosesAt(t time.Time) time.Time {
	if !w.Open(t) {
		return t
	}
	l := t.In(w.loc())
	y, m, d := l.Date()
	for from := l; ; {
		fixed, end := stretch(from)
		_, close := w.period(time.Date(y, m, d, 0, 0, 0, 0, fixed))
		if end.IsZero() || close.Before(end) {
			return close
		}
		// The offset changes before the period ends; the new wall clock may
		// already be past End (spring forward) or still short of it (fall back).
		from = end.In(w.loc())
		if ey, em, ed := from.Date(); !w.Open(from) || ey != y || em != m || ed != d {
			return end
		}
	}
}

// stretch returns t's UTC offset as a fixed zone, and the instant it stops
// applying (zero if never).
func stretch(t time.Time) (*time.Location, time.Time) {
	name, off := t.Zone()
	_, end := t.ZoneBounds()
	return time.FixedZone(name, off), end
}

// period returns the open period of the day that starts at midnight.
func (w Window) period(midnight time.Time) (open, close time.Time) {
	return midnight.Add(time.Duration(w.Start) * time.Minute), midnight.Add(time.Duration(w.End) * time.Minute)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// String describes the window for people, e.g. "Mon–Fri 09:00–18:00
// Europe/Berlin" or "every day, all day UTC".
func (w Window) String() string {
	var runs []string
	for i := 0; i < 7; i++ { // Monday first
		d := (i + 1) % 7
		if !w.Days[d] {
			continue
		}
		j := i
		for j+1 < 7 && w.Days[(j+2)%7] {
			j++
		}
		run := time.Weekday(d).String()[:3]
		if j > i {
			run += "–" + time.Weekday((j + 1) % 7).String()[:3]
		}
		runs = append(runs, run)
		i = j
	}
	days := strings.Join(runs, ", ")
	switch {
	case w.Days == [7]bool{true, true, true, true, true, true, true}:
		days = "every day"
	case days == "":
		days = "no day"
	}
	if w.Start == 0 && w.End == 24*60 {
		return days + ", all day " + w.loc().String()
	}
	return fmt.Sprintf("%s %s–%s %s", days, clock(w.Start), clock(w.End), w.loc())
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
