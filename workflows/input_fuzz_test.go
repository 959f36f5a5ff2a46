package workflows_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/workflows"
)

// FuzzWorkflowInputs reads any JSON as the temporal CLI would hand it to a
// workflow (SendMessage's and Campaign's inputs): no panic; a value that
// cannot be read is refused naming the field; a campaign input that
// validates has a pacing policy; reading back what was written gives the
// same input, still valid.
func FuzzWorkflowInputs(f *testing.F) {
	for _, s := range []string{
		`{"recipient_urn":"urn:li:person:ACoAAB","message":"Hi Ada","send_deadline":"90m","poll_deadline":3600}`,
		`{"template":"Hi {{first_name}}!","recipients":[{"recipient_urn":"urn:li:person:ACoAAB","vars":{"first_name":"Ada"}}],
		  "window":{"time_zone":"Europe/Berlin","days":"mon-fri","hours":"09:00-17:30"},"pacing":{"min_gap":"90s","max_gap":"4m","hourly_cap":10,"daily_cap":25}}`,
		`{"template":"Hi","recipients_file":{"path":"/data/r.csv","sha256":"00"},"page_size":1000,"max_run_events":100}`,
		`{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:a"}],"state":{"run":3,"cursor":{"offset":5,"line":6},"page_done":-1}}`,
		`{"template":"{{","recipients":[],"pacing":{"min_gap":"-1s","max_gap":1e300,"hourly_cap":-1},"window":{"time_zone":"Local","days":"","hours":"25:00-26:00"}}`,
		`{"send_deadline":"soon","poll_deadline":true}`,
		`{"recipient_urn":5,"message":["a"]}`,
		`{"campaign_id":"a\nb","template":"Hi","recipients_file":{"path":"relative.csv"}}`,
		`[]`, `null`, `"text"`, `{"pacing":{"daily_cap":"5"}}`, `{"window":{"time_zone":"../../etc/passwd"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var send workflows.SendMessageInput
		if err := json.Unmarshal([]byte(data), &send); err != nil {
			checkDecodeError(t, data, err)
		} else {
			roundTrip(t, send)
		}

		var in workflows.CampaignInput
		if err := json.Unmarshal([]byte(data), &in); err != nil {
			checkDecodeError(t, data, err)
			return
		}
		verr := in.Validate()
		p, perr := in.Policy()
		switch {
		case verr == nil && perr != nil:
			t.Fatalf("Validate passed but Policy failed: %v", perr)
		case perr == nil && p.Validate() != nil:
			t.Fatalf("Policy() = %+v, which does not validate: %v", p, p.Validate())
		case perr != nil && (verr == nil || !strings.Contains(verr.Error(), perr.Error())):
			t.Fatalf("Validate() = %v does not report Policy's %v", verr, perr)
		}
		if verr != nil {
			for _, line := range strings.Split(verr.Error(), "\n") {
				if !strings.Contains(line, ":") {
					t.Fatalf("Validate() line %q names no field", line)
				}
			}
		}
		// (A field that could not be read is not written back: the verdict
		// only holds one way.)
		again := roundTrip(t, in)
		if verr == nil && again.Validate() != nil {
			t.Fatalf("Validate() passed, but %v after a round trip", again.Validate())
		}
	})
}

// checkDecodeError: a value of the wrong type is refused naming its field
// (or the input's type, for a top-level mistake).
func checkDecodeError(t *testing.T, data string, err error) {
	t.Helper()
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field == "" && !strings.Contains(err.Error(), "Go value of type workflows.") {
		t.Fatalf("decoding %q: %v names no field", data, err)
	}
}

// roundTrip writes v as the starter would and reads it back: it must be
// readable and the same.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", v, err)
	}
	var again T
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("reading back %s: %v", b, err)
	}
	b2, _ := json.Marshal(again)
	if !reflect.DeepEqual(b, b2) {
		t.Fatalf("round trip changed the input:\n%s\n%s", b, b2)
	}
	return again
}
