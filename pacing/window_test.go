package pacing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// rfc reads an RFC 3339 time; tests write instants with their offset so that
// each expectation says which side of a DST change it is on.
func rfc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustWindow(t testing.TB, tz, days, hours string) Window {
	t.Helper()
	w, err := ParseWindow(tz, days, hours)
	if err != nil {
		t.Fatalf("ParseWindow(%q, %q, %q): %v", tz, days, hours, err)
	}
	return w
}

func daysOf(ds ...time.Weekday) (days [7]bool) {
	for _, d := range ds {
		days[d] = true
	}
	return days
}

const (
	sun = time.Sunday
	mon = time.Monday
	tue = time.Tuesday
	wed = time.Wednesday
	thu = time.Thursday
	fri = time.Friday
	sat = time.Saturday
)

func TestParseWindow(t *testing.T) {
	weekdays := daysOf(mon, tue, wed, thu, fri)
	all := daysOf(sun, mon, tue, wed, thu, fri, sat)
	tests := []struct {
		tz, days, hours string
		wantDays        [7]bool
		start, end      int
	}{
		{"Europe/Berlin", "mon-fri", "09:00-18:00", weekdays, 9 * 60, 18 * 60},
		{"UTC", "MON,Wed,fri", "08:30-12:15", daysOf(mon, wed, fri), 8*60 + 30, 12*60 + 15},
		{"UTC", "sat-sun", "10:00-11:00", daysOf(sat, sun), 600, 660},
		{"UTC", "fri-mon", "10:00-11:00", daysOf(fri, sat, sun, mon), 600, 660},
		{"UTC", "mon-sun", "00:00-24:00", all, 0, 1440},
		{"UTC", "Daily", "9:05-17:59", all, 9*60 + 5, 17*60 + 59},
		{"UTC", "weekdays", "00:00-00:01", weekdays, 0, 1},
		{"UTC", "weekends", "23:59-24:00", daysOf(sat, sun), 1439, 1440},
		{"America/New_York", " Monday - Friday ", " 09:00 - 17:00 ", weekdays, 540, 1020},
		{"UTC", "Mon–Fri", "09:00–18:00", weekdays, 540, 1080}, // as String writes them
		{"UTC", "tue,thu-sat,sun", "12:00-13:00", daysOf(tue, thu, fri, sat, sun), 720, 780},
		{"UTC", "wed-wed", "12:00-13:00", daysOf(wed), 720, 780},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.tz, tt.days, tt.hours)
		if err != nil {
			t.Errorf("ParseWindow(%q, %q, %q): %v", tt.tz, tt.days, tt.hours, err)
			continue
		}
		if w.Location.String() != tt.tz || w.Days != tt.wantDays || w.Start != tt.start || w.End != tt.end {
			t.Errorf("ParseWindow(%q, %q, %q) = %v %v %d-%d, want %s %v %d-%d", tt.tz, tt.days, tt.hours,
				w.Location, w.Days, w.Start, w.End, tt.tz, tt.wantDays, tt.start, tt.end)
		}
	}
}

func TestParseWindowErrors(t *testing.T) {
	tests := []struct {
		tz, days, hours string
		want            string // the whole error text
	}{
		{"Mars/Olympus_Mons", "mon-fri", "09:00-18:00", `time_zone: "Mars/Olympus_Mons": unknown time zone (want an IANA name such as Europe/Berlin or UTC)`},
		{"", "mon-fri", "09:00-18:00", `time_zone: "": want an IANA time zone such as Europe/Berlin or UTC`},
		{"Local", "mon-fri", "09:00-18:00", `time_zone: "Local": want an IANA time zone such as Europe/Berlin or UTC`},
		{"UTC", "", "09:00-18:00", `days: "": no days given (want e.g. mon-fri, mon,wed,fri or daily)`},
		{"UTC", "mon-fry", "09:00-18:00", `days: "mon-fry": unknown day "fry" (want mon, tue, wed, thu, fri, sat or sun)`},
		{"UTC", "funday", "09:00-18:00", `days: "funday": unknown day "funday" (want mon, tue, wed, thu, fri, sat or sun)`},
		{"UTC", "mon,,fri", "09:00-18:00", `days: "mon,,fri": unknown day "" (want mon, tue, wed, thu, fri, sat or sun)`},
		{"UTC", "mon-tue-wed", "09:00-18:00", `days: "mon-tue-wed": unknown day "tue-wed" (want mon, tue, wed, thu, fri, sat or sun)`},
		{"UTC", "mon-fri", "9-18", `hours: "9-18": want HH:MM-HH:MM, e.g. 09:00-18:00`},
		{"UTC", "mon-fri", "09:00", `hours: "09:00": want HH:MM-HH:MM, e.g. 09:00-18:00`},
		{"UTC", "mon-fri", "09:00-18:00-19:00", `hours: "09:00-18:00-19:00": want HH:MM-HH:MM, e.g. 09:00-18:00`},
		{"UTC", "mon-fri", "9am-6pm", `hours: "9am-6pm": want HH:MM-HH:MM, e.g. 09:00-18:00`},
		{"UTC", "mon-fri", "+9:00-18:00", `hours: "+9:00-18:00": want HH:MM-HH:MM, e.g. 09:00-18:00`},
		{"UTC", "mon-fri", "18:00-09:00", `hours: "18:00-09:00": the end must be after the start`},
		{"UTC", "mon-fri", "09:00-09:00", `hours: "09:00-09:00": the end must be after the start`},
		{"UTC", "mon-fri", "24:00-24:00", `hours: "24:00-24:00": the end must be after the start`},
		{"UTC", "mon-fri", "09:60-18:00", `hours: "09:60-18:00": minutes must be 00-59`},
		{"UTC", "mon-fri", "09:00-18:75", `hours: "09:00-18:75": minutes must be 00-59`},
		{"UTC", "mon-fri", "09:00-25:00", `hours: "09:00-25:00": hours must be 00-23, or 24:00 for the midnight that ends the day`},
		{"UTC", "mon-fri", "09:00-24:30", `hours: "09:00-24:30": hours must be 00-23, or 24:00 for the midnight that ends the day`},
	}
	for _, tt := range tests {
		_, err := ParseWindow(tt.tz, tt.days, tt.hours)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("ParseWindow(%q, %q, %q) = %v, want a *FieldError", tt.tz, tt.days, tt.hours, err)
			continue
		}
		if field, _, _ := strings.Cut(tt.want, ":"); fe.Field != field || err.Error() != tt.want {
			t.Errorf("ParseWindow(%q, %q, %q) error\n got %s (field %q)\nwant %s", tt.tz, tt.days, tt.hours, err, fe.Field, tt.want)
		}
	}
}

func TestWindowString(t *testing.T) {
	tests := []struct{ tz, days, hours, want string }{
		{"Europe/Berlin", "mon-fri", "09:00-18:00", "Mon–Fri 09:00–18:00 Europe/Berlin"},
		{"UTC", "daily", "00:00-24:00", "every day, all day UTC"},
		{"UTC", "mon,wed,fri", "08:30-12:00", "Mon, Wed, Fri 08:30–12:00 UTC"},
		{"UTC", "sat-sun", "10:00-24:00", "Sat–Sun 10:00–24:00 UTC"},
		{"UTC", "fri-mon", "00:00-24:00", "Mon, Fri–Sun, all day UTC"},
		{"America/New_York", "sun,tue-thu", "07:05-07:06", "Tue–Thu, Sun 07:05–07:06 America/New_York"},
	}
	for _, tt := range tests {
		if got := mustWindow(t, tt.tz, tt.days, tt.hours).String(); got != tt.want {
			t.Errorf("window %s %s %s: String() = %q, want %q", tt.tz, tt.days, tt.hours, got, tt.want)
		}
	}
	if got, want := (Window{Start: 60, End: 120}).String(), "no day 01:00–02:00 UTC"; got != want {
		t.Errorf("zero-day window: String() = %q, want %q", got, want)
	}
}

// TestWindowDST checks Open, NextOpen and ClosesAt on hand-worked instants
// around the 2026 DST changes: Berlin springs forward on Sun 29 Mar (02:00
// CET -> 03:00 CEST) and falls back on Sun 25 Oct (03:00 CEST -> 02:00 CET);
// New York on Sun 8 Mar (02:00 EST -> 03:00 EDT) and Sun 1 Nov (02:00 EDT ->
// 01:00 EST).
func TestWindowDST(t *testing.T) {
	office := mustWindow(t, "Europe/Berlin", "mon-fri", "09:00-18:00")
	early := mustWindow(t, "Europe/Berlin", "daily", "02:30-05:00")   // starts in the skipped hour
	repeat := mustWindow(t, "Europe/Berlin", "daily", "02:00-02:30")  // inside the repeated hour
	skipped := mustWindow(t, "Europe/Berlin", "daily", "02:10-02:40") // wholly inside the skipped hour
	nyOffice := mustWindow(t, "America/New_York", "mon-fri", "09:00-17:00")
	nyEarly := mustWindow(t, "America/New_York", "daily", "02:30-03:30")
	nyRepeat := mustWindow(t, "America/New_York", "daily", "01:00-01:30")
	allDay := mustWindow(t, "Europe/Berlin", "weekdays", "00:00-24:00")

	tests := []struct {
		name   string
		w      Window
		t      string
		open   bool
		next   string // NextOpen
		closes string // ClosesAt
	}{
		{"Friday evening to Monday across spring forward", office, "2026-03-27T18:30:00+01:00", false, "2026-03-30T09:00:00+02:00", "2026-03-27T18:30:00+01:00"},
		{"Friday evening to Monday across fall back", office, "2026-10-23T18:30:00+02:00", false, "2026-10-26T09:00:00+01:00", "2026-10-23T18:30:00+02:00"},
		{"Friday 23:59 to Monday", office, "2026-03-27T23:59:00+01:00", false, "2026-03-30T09:00:00+02:00", "2026-03-27T23:59:00+01:00"},
		{"Saturday 00:00 to Monday", office, "2026-03-28T00:00:00+01:00", false, "2026-03-30T09:00:00+02:00", "2026-03-28T00:00:00+01:00"},
		{"Friday at the close", office, "2026-03-27T18:00:00+01:00", false, "2026-03-30T09:00:00+02:00", "2026-03-27T18:00:00+01:00"},
		{"Friday just before the close", office, "2026-03-27T17:59:59+01:00", true, "2026-03-27T17:59:59+01:00", "2026-03-27T18:00:00+01:00"},
		{"Monday after spring forward, open", office, "2026-03-30T12:00:00+02:00", true, "2026-03-30T12:00:00+02:00", "2026-03-30T18:00:00+02:00"},
		{"Thursday before the opening", office, "2026-10-22T08:59:00+02:00", false, "2026-10-22T09:00:00+02:00", "2026-10-22T08:59:00+02:00"},
		{"at the opening", office, "2026-10-22T09:00:00+02:00", true, "2026-10-22T09:00:00+02:00", "2026-10-22T18:00:00+02:00"},

		{"02:30 start on the spring-forward day opens at 03:00", early, "2026-03-29T01:30:00+01:00", false, "2026-03-29T03:00:00+02:00", "2026-03-29T01:30:00+01:00"},
		{"open at the change", early, "2026-03-29T03:00:00+02:00", true, "2026-03-29T03:00:00+02:00", "2026-03-29T05:00:00+02:00"},
		{"02:30 start the day before", early, "2026-03-28T06:00:00+01:00", false, "2026-03-29T03:00:00+02:00", "2026-03-28T06:00:00+01:00"},
		{"02:30 start the day after", early, "2026-03-29T05:00:00+02:00", false, "2026-03-30T02:30:00+02:00", "2026-03-29T05:00:00+02:00"},
		{"02:30 start on the fall-back day", early, "2026-10-25T01:00:00+02:00", false, "2026-10-25T02:30:00+02:00", "2026-10-25T01:00:00+02:00"},
		// The clock falls back from 03:00 to 02:00, before 02:30: closed for half an hour.
		{"fall back closes a window that started in the repeated hour", early, "2026-10-25T02:45:00+02:00", true, "2026-10-25T02:45:00+02:00", "2026-10-25T02:00:00+01:00"},
		{"and it reopens at the second 02:30", early, "2026-10-25T02:00:00+01:00", false, "2026-10-25T02:30:00+01:00", "2026-10-25T02:00:00+01:00"},
		{"then closes at 05:00 standard time", early, "2026-10-25T02:30:00+01:00", true, "2026-10-25T02:30:00+01:00", "2026-10-25T05:00:00+01:00"},

		{"repeated hour, first pass", repeat, "2026-10-25T01:00:00+02:00", false, "2026-10-25T02:00:00+02:00", "2026-10-25T01:00:00+02:00"},
		{"repeated hour, first pass, open", repeat, "2026-10-25T02:10:00+02:00", true, "2026-10-25T02:10:00+02:00", "2026-10-25T02:30:00+02:00"},
		{"repeated hour, second pass", repeat, "2026-10-25T02:30:00+02:00", false, "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+02:00"},
		{"repeated hour, second pass, open", repeat, "2026-10-25T02:00:00+01:00", true, "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"},
		{"repeated hour, after", repeat, "2026-10-25T02:30:00+01:00", false, "2026-10-26T02:00:00+01:00", "2026-10-25T02:30:00+01:00"},
		{"skipped period does not open", skipped, "2026-03-29T00:00:00+01:00", false, "2026-03-30T02:10:00+02:00", "2026-03-29T00:00:00+01:00"},

		{"New York Friday evening to Monday across spring forward", nyOffice, "2026-03-06T17:30:00-05:00", false, "2026-03-09T09:00:00-04:00", "2026-03-06T17:30:00-05:00"},
		{"New York Friday evening to Monday across fall back", nyOffice, "2026-10-30T17:30:00-04:00", false, "2026-11-02T09:00:00-05:00", "2026-10-30T17:30:00-04:00"},
		{"New York 02:30 start opens at 03:00", nyEarly, "2026-03-08T01:00:00-05:00", false, "2026-03-08T03:00:00-04:00", "2026-03-08T01:00:00-05:00"},
		{"New York open at the change", nyEarly, "2026-03-08T03:00:00-04:00", true, "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"},
		{"New York repeated hour, first pass", nyRepeat, "2026-11-01T00:00:00-04:00", false, "2026-11-01T01:00:00-04:00", "2026-11-01T00:00:00-04:00"},
		{"New York repeated hour, first pass, open", nyRepeat, "2026-11-01T01:00:00-04:00", true, "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"New York repeated hour, second pass", nyRepeat, "2026-11-01T01:30:00-04:00", false, "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-04:00"},

		{"all day closes at midnight", allDay, "2026-03-26T23:59:00+01:00", true, "2026-03-26T23:59:00+01:00", "2026-03-27T00:00:00+01:00"},
		{"all day Friday 23:59 to Monday", allDay, "2026-03-27T23:59:00+01:00", true, "2026-03-27T23:59:00+01:00", "2026-03-28T00:00:00+01:00"},
		{"all day, weekend to Monday midnight", allDay, "2026-03-28T12:00:00+01:00", false, "2026-03-30T00:00:00+02:00", "2026-03-28T12:00:00+01:00"},
	}
	for _, tt := range tests {
		at := rfc(tt.t)
		if got := tt.w.Open(at); got != tt.open {
			t.Errorf("%s: %v Open(%s) = %v, want %v", tt.name, tt.w, tt.t, got, tt.open)
		}
		if got, want := tt.w.NextOpen(at), rfc(tt.next); !got.Equal(want) {
			t.Errorf("%s: %v NextOpen(%s) = %s, want %s", tt.name, tt.w, tt.t, got.In(tt.w.Location).Format(time.RFC3339), tt.next)
		}
		if got, want := tt.w.ClosesAt(at), rfc(tt.closes); !got.Equal(want) {
			t.Errorf("%s: %v ClosesAt(%s) = %s, want %s", tt.name, tt.w, tt.t, got.In(tt.w.Location).Format(time.RFC3339), tt.closes)
		}
	}
}

// TestWindowBruteForce compares NextOpen and ClosesAt with a minute-by-minute
// scan of Open, for windows that start, end or lie in the hours that DST
// changes skip or repeat (including Lord Howe Island's half-hour change).
func TestWindowBruteForce(t *testing.T) {
	windows := [][2]string{
		{"mon-fri", "09:00-18:00"},
		{"daily", "02:30-05:00"},
		{"daily", "02:00-02:30"},
		{"daily", "02:10-02:40"},
		{"sun", "02:00-03:00"},
		{"mon,wed,fri,sun", "01:00-01:30"},
		{"weekdays", "00:00-24:00"},
		{"daily", "00:00-24:00"},
		{"sat-sun", "01:45-02:15"},
	}
	ranges := []struct{ tz, from string }{
		{"Europe/Berlin", "2026-03-26T00:00:00Z"},
		{"Europe/Berlin", "2026-10-22T00:00:00Z"},
		{"America/New_York", "2026-03-05T00:00:00Z"},
		{"America/New_York", "2026-10-29T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-02T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-10-01T00:00:00Z"},
		{"UTC", "2026-03-26T00:00:00Z"},
	}
	const queried, scanned = 6 * 24 * 60, (6 + searchDays + 1) * 24 * 60 // minutes
	for _, r := range ranges {
		for _, spec := range windows {
			w := mustWindow(t, r.tz, spec[0], spec[1])
			from := rfc(r.from)
			open := make([]bool, scanned)
			date := make([]string, scanned)
			for i := range scanned {
				m := from.Add(time.Duration(i) * time.Minute)
				open[i], date[i] = w.Open(m), m.In(w.Location).Format(time.DateOnly)
			}
			for i := 0; i < queried; i += 7 {
				for _, sec := range []time.Duration{0, 30 * time.Second} {
					q := from.Add(time.Duration(i)*time.Minute + sec)
					next, closes := q, q
					if !open[i] {
						next = time.Time{}
						for j := i + 1; j < scanned; j++ {
							if open[j] {
								next = from.Add(time.Duration(j) * time.Minute)
								break
							}
						}
					} else {
						j := i + 1
						for open[j] && date[j] == date[i] {
							j++
						}
						closes = from.Add(time.Duration(j) * time.Minute)
					}
					if got := w.NextOpen(q); !got.Equal(next) {
						t.Fatalf("%v NextOpen(%s) = %s, want %s", w, q.In(w.Location), got.In(w.Location), next.In(w.Location))
					}
					if got := w.ClosesAt(q); !got.Equal(closes) {
						t.Fatalf("%v ClosesAt(%s) = %s, want %s", w, q.In(w.Location), got.In(w.Location), closes.In(w.Location))
					}
				}
			}
		}
	}
}

func TestWindowNeverOpen(t *testing.T) {
	w := Window{Location: time.UTC, Start: 540, End: 1080} // no days
	now := rfc("2026-03-25T10:00:00Z")
	if w.Open(now) {
		t.Errorf("window without days is open")
	}
	if got := w.NextOpen(now); !got.IsZero() {
		t.Errorf("NextOpen of a window without days = %s, want the zero Time", got)
	}
}
