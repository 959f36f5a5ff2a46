package campaignfile

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// dayPrefix is the day count that may lead a duration: "3d", "1d12h".
var dayPrefix = regexp.MustCompile(`^([0-9]+)d`)

// ParseDuration reads a duration as people write them in a campaign: Go's
// duration text ("90s", "45m", "12h") or a whole number of days first
// ("3d", "1d12h"), since sequences wait days, and "72h" is nobody's way to
// say three days. A day is 24 hours.
func ParseDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%q: want a duration such as 90s, 45m, 12h, 3d or 1d12h", s)
	}
	rest := strings.TrimSpace(s)
	var days time.Duration
	if m := dayPrefix.FindStringSubmatch(rest); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/int64(day) {
			return 0, fmt.Errorf("%q: too long", s)
		}
		days, rest = time.Duration(n)*day, rest[len(m[0]):]
		if rest == "" {
			return days, nil
		}
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return bad()
		}
	}
	d, err := time.ParseDuration(rest)
	switch {
	case err != nil:
		return bad()
	case days > 0 && d > math.MaxInt64-days:
		return 0, fmt.Errorf("%q: too long", s)
	}
	return days + d, nil
}

// FormatDuration writes d as ParseDuration reads it, in days when it has
// any ("14d", "3d12h"), else as Go does ("12h0m0s" becomes "12h").
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	s := ""
	if d >= day {
		s = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
		if d == 0 {
			return s
		}
	}
	t := d.String()
	// Go writes whole hours and minutes with trailing zero units.
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return s + t
}
