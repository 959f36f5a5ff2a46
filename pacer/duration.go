package pacer

import (
	"encoding/json"
	"math"
	"reflect"
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
	// A *json.UnmarshalTypeError, so that encoding/json adds the field's
	// name (pacing.min_gap) and the input names the rule (input_json.go).
	bad := func(why string) error {
		v := string(b)
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return &json.UnmarshalTypeError{Value: v + why, Type: reflect.TypeFor[Duration]()}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if json.Unmarshal(b, &secs) != nil {
			return bad("")
		}
		if math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
			return bad(" seconds (out of range)")
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return bad("")
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
