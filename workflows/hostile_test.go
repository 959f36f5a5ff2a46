package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// TestMistypedInputIsInvalid: an input written by hand (the temporal CLI, the
// UI) with a value of the wrong type ends the run at once as invalid, naming
// the field and what it must be, instead of failing inside the SDK with a
// retryable "unable to decode"; nothing is sent.
func TestMistypedInputIsInvalid(t *testing.T) {
	for raw, want := range map[string]string{
		`{"recipient_urn":5,"message":"Hi"}`:                                        "recipient_urn: got number, want a string",
		`{"recipient_urn":"urn:li:person:a","message":["Hi"]}`:                      "message: got array, want a string",
		`{"recipient_urn":"urn:li:person:a","message":"Hi","send_deadline":"soon"}`: `send_deadline: got "soon", want a duration such as "90s"`,
		`{"recipient_urn":"urn:li:person:a","message":"Hi","poll_deadline":1e300}`:  "poll_deadline: got 1e300 seconds (out of range), want a duration",
		`["urn:li:person:a","Hi"]`:                                                  "input: got array, want an object",
		`"urn:li:person:a"`:                                                         "input: got string, want an object",
	} {
		t.Run(raw, func(t *testing.T) {
			h := newHarness(t, outxtest.Options{})
			h.env.ExecuteWorkflow(workflows.SendMessageWorkflow, json.RawMessage(raw))
			if !h.env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			err := h.env.GetWorkflowError()
			assertFailure(t, err, "MessageInvalid")
			res, ok := workflows.ResultFromError(err)
			if !ok || res.Outcome != workflows.Invalid || !strings.Contains(res.Reason, want) {
				t.Fatalf("result = %+v, want invalid saying %q", res, want)
			}
			if n := len(h.sb.Requests()); n != 0 {
				t.Fatalf("OutX received %d requests", n)
			}
		})
	}
}

// TestCampaignRefusesHostileInput: a campaign input no starter would write
// (a mistyped field, an id too long for its children's ids, a state whose
// cursor lies outside the list) fails the run as InvalidCampaign, naming
// the field, instead of crashing every attempt of its workflow task.
func TestCampaignRefusesHostileInput(t *testing.T) {
	one := `"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:a"}]`
	for raw, want := range map[string]string{
		`{` + one + `,"pacing":{"daily_cap":"5"}}`:                          "pacing.daily_cap: got string, want a whole number",
		`{` + one + `,"pacing":{"min_gap":"a while"}}`:                      `pacing.min_gap: got "a while", want a duration`,
		`{` + one + `,"state":{"run":1,"cursor":{"offset":99,"line":100}}}`: "state.cursor.offset: 99 is past the 1 inline recipients",
		`{` + one + `,"state":{"run":1,"cursor":{"offset":-1}}}`:            "state: cursor and page_done must not be negative",
		`{` + one + `,"state":{"run":1,"cursor":{"offset":"x"}}}`:           "state.cursor.offset: got string, want a whole number",
		`{` + one + `,"campaign_id":"` + strings.Repeat("c", 201) + `"}`:    "campaign_id: at most 200 characters",
		`{` + one + `,"campaign_id":"a\nb"}`:                                `campaign_id: "a\nb" must be valid text without control characters`,
		`[]`:                                                                "input: got array, want an object",
	} {
		t.Run(raw[:min(len(raw), 60)], func(t *testing.T) {
			h := newCampaignHarness(t, thu, outxtest.Options{}, "")
			h.env.ExecuteWorkflow(workflows.CampaignWorkflow, json.RawMessage(raw))
			if !h.env.IsWorkflowCompleted() {
				t.Fatal("campaign did not complete")
			}
			err := h.env.GetWorkflowError()
			assertFailure(t, err, workflows.ErrInvalidCampaign)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v does not say %q", err, want)
			}
			if n := len(h.sb.Requests()); n != 0 || len(h.starts) != 0 {
				t.Fatalf("OutX received %d requests, %d messages started", n, len(h.starts))
			}
		})
	}
}
