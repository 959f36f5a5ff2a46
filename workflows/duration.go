package workflows

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON as Go's duration text ("90s",
// "24h"), so that inputs typed by people and by the temporal CLI read well.
// A JSON number is read as seconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if json.Unmarshal(b, &secs) != nil {
			return fmt.Errorf("duration: want text such as \"90s\" or a number of seconds, got %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want text such as \"90s\", \"15m\" or \"24h\"", s)
	}
	*d = Duration(v)
	return nil
}

// Or returns d, or def when d is not positive.
func (d Duration) Or(def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}

func (d Duration) String() string { return time.Duration(d).String() }
