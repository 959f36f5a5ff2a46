package workflows_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// eventRun is what campaignEvents runs: the recipients (people(4) when
// nil), and a setup of the environment and sandbox (nil: a pause at 25m
// and its resume at 5h).
type eventRun struct {
	recipients []recipients.Recipient
	input      func(*workflows.CampaignInput)
	setup      func(*testsuite.TestWorkflowEnvironment, *outxtest.Server)
}

// campaignEvents runs a campaign paused and resumed once, on a worker
// whose webhooks are cfg, and returns the events in the outbox and the
// number of local activities the run started.
func campaignEvents(t *testing.T, cfg webhooks.Config, run eventRun) (map[string]webhooks.Event, int) {
	t.Helper()
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ob, _ := contacts.OutboxOf(st)
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(thu)
	env.SetTestTimeout(time.Minute)
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Minute, Now: env.Now})
	t.Cleanup(sb.Close)
	client, err := outx.New(sb.URL, outxtest.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterWorkflow(workflows.Campaign)
	env.RegisterWorkflow(workflows.SendMessage)
	env.RegisterActivity(&activities.Activities{OutX: client, PollInterval: 2 * time.Millisecond, PollBurst: 20 * time.Millisecond, Events: em})
	env.RegisterActivity(&activities.Webhooks{Config: cfg, Outbox: ob, Emitter: em})
	newGrantAtOnce(env)
	locals := 0
	env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []any) { locals++ })
	if run.setup != nil {
		run.setup(env, sb)
	} else {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "checking replies"})
		}, 25*time.Minute)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalResume, nil) }, 5*time.Hour)
	}
	rs := run.recipients
	if rs == nil {
		rs = people(4)
	}
	in := anytime(workflows.CampaignInput{CampaignID: "spring", Template: "Hi {{first_name}}", Recipients: rs}, 10*time.Minute)
	if run.input != nil {
		run.input(&in)
	}
	env.ExecuteWorkflow(workflows.Campaign, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	rows, err := ob.List(context.Background(), "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]webhooks.Event{}
	for _, r := range rows {
		var e webhooks.Event
		if err := json.Unmarshal(r.Body, &e); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[e.Type]; dup {
			t.Fatalf("two %s events", e.Type)
		}
		out[e.Type] = e
		if e.ID != r.EventID {
			t.Fatalf("row %s holds event %s", r.EventID, e.ID)
		}
	}
	return out, locals
}

// TestCampaignEvents: a campaign writes its start, pause, resume and end,
// one local activity each, with ids of their own.
func TestCampaignEvents(t *testing.T) {
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"campaign.*"}}}}
	evs, locals := campaignEvents(t, cfg, eventRun{})
	want := []string{webhooks.CampaignStarted, webhooks.CampaignPaused, webhooks.CampaignResumed, webhooks.CampaignFinished}
	if len(evs) != len(want) || locals != len(want) {
		t.Fatalf("events %v after %d local activities, want %v, one each", evs, locals, want)
	}
	ids := map[string]bool{}
	for _, typ := range want {
		e, ok := evs[typ]
		if !ok || e.Campaign != "spring" || e.Account != "default" || ids[e.ID] {
			t.Fatalf("%s: %+v", typ, e)
		}
		ids[e.ID] = true
	}
	if evs[webhooks.CampaignPaused].Reason != "paused by operator: checking replies" {
		t.Errorf("paused: %+v", evs[webhooks.CampaignPaused])
	}
	if e := evs[webhooks.CampaignFinished]; !json.Valid(e.Data) || string(e.Data) == "" {
		t.Errorf("finished without its counts: %+v", e)
	}
}

// TestCampaignEventsCostNothingWithoutEndpoints: a worker without
// endpoints, or whose endpoints take no campaign event, runs no local
// activity and writes nothing.
func TestCampaignEventsCostNothingWithoutEndpoints(t *testing.T) {
	for name, cfg := range map[string]webhooks.Config{
		"no endpoints":          {},
		"messages only":         {Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"message.*"}}}},
		"another campaign only": {Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Campaigns: []string{"autumn-*"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			evs, locals := campaignEvents(t, cfg, eventRun{})
			if len(evs) != 0 || locals != 0 {
				t.Fatalf("%d events, %d local activities; want none", len(evs), locals)
			}
		})
	}
}

// TestSequenceEvents: a sequence writes sequence.finished with every
// step's outcome, and connection.not_accepted when the wait for the
// connection runs out.
func TestSequenceEvents(t *testing.T) {
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"),
		Events: []string{"sequence.*", "connection.not_accepted"}}}}
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{AcceptDelay: 20 * time.Hour},
		func(a *activities.Activities, env *testsuite.TestWorkflowEnvironment) {
			a.Events = em
			env.RegisterActivity(&activities.Webhooks{Config: cfg, Outbox: ob, Emitter: em})
		})
	accepts, ignores := outxtest.Accepts+"-ann", outxtest.Ignores+"-bob"
	in := sequenceCampaign("seq-events", person(accepts, "Ann"), person(ignores, "Bob"))
	in.Steps = []workflows.Step{
		{Type: workflows.StepConnect, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWaitForConnection, Timeout: workflows.Duration(3 * 24 * time.Hour), CheckEvery: workflows.Duration(12 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Thanks, {{first_name}}!"},
	}
	h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})

	rows, err := ob.List(context.Background(), "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]webhooks.Event{}
	for _, r := range rows {
		var e webhooks.Event
		if err := json.Unmarshal(r.Body, &e); err != nil {
			t.Fatal(err)
		}
		got[e.Type+" "+e.RecipientURN] = e
	}
	if len(got) != 3 {
		t.Fatalf("events %v, want sequence.finished for both and connection.not_accepted for Bob", got)
	}
	ann := got[webhooks.SequenceFinished+" "+accepts]
	var data struct {
		Reached int                    `json:"reached"`
		Steps   []workflows.StepResult `json:"steps"`
	}
	if err := json.Unmarshal(ann.Data, &data); err != nil || ann.Outcome != string(workflows.Delivered) || data.Reached != 3 || len(data.Steps) != 3 {
		t.Errorf("Ann's sequence.finished: %+v (data %+v, %v)", ann, data, err)
	}
	if bob := got[webhooks.SequenceFinished+" "+ignores]; bob.Outcome != string(workflows.NotConnected) || bob.Campaign != "seq-events" {
		t.Errorf("Bob's sequence.finished: %+v", bob)
	}
	if na := got[webhooks.ConnectionNotAccepted+" "+ignores]; na.Step == "" || !strings.Contains(na.Reason, "not accepted within") {
		t.Errorf("Bob's connection.not_accepted: %+v", na)
	}
}

// TestInvalidRowEvent: the page load that finds an invalid row writes its
// message.invalid, with the line and the problem, at no extra action.
func TestInvalidRowEvent(t *testing.T) {
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"message.invalid"}}}}
	rs := append(people(2), recipients.Recipient{RecipientURN: "urn:li:company:123", Vars: map[string]string{"first_name": "Acme"}})
	evs, locals := campaignEvents(t, cfg, eventRun{recipients: rs})
	e, ok := evs[webhooks.MessageInvalid]
	if len(evs) != 1 || !ok || locals != 0 {
		t.Fatalf("events %v after %d local activities, want one message.invalid and none", evs, locals)
	}
	if e.Campaign != "spring" || e.Outcome != "invalid" || !strings.Contains(e.Reason, "line 3: ") || !strings.Contains(e.Reason, "recipient_urn") {
		t.Errorf("message.invalid: %+v", e)
	}
}

// stackEvents runs campaign in on the stack (real pacer) of a worker whose
// endpoints take every event, and returns the events by type.
func stackEvents(t *testing.T, in workflows.CampaignInput, during func(h *stackHarness)) map[string][]webhooks.Event {
	t.Helper()
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef")}}}
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}
	h := newStack(t, map[string]senders.Limits{senders.Default: unlimited}, outxtest.Options{},
		func(a *activities.Activities, env *testsuite.TestWorkflowEnvironment) {
			a.Events = em
			env.RegisterActivity(&activities.Webhooks{Config: cfg, Outbox: ob, Emitter: em})
		})
	h.env.SetStartTime(thu)
	h.env.SetTestTimeout(3 * time.Minute)
	if during != nil {
		during(h)
	}
	h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	rows, err := ob.List(context.Background(), "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]webhooks.Event{}
	for _, r := range rows {
		var e webhooks.Event
		if err := json.Unmarshal(r.Body, &e); err != nil {
			t.Fatal(err)
		}
		out[e.Type] = append(out[e.Type], e)
	}
	return out
}

// TestOutXPauseEvents: OutX refusing the sends (no extension online), for
// which the account's pacer pauses the account, is a campaign.paused with
// the reason, and its end a campaign.resumed.
func TestOutXPauseEvents(t *testing.T) {
	in := anytime(workflows.CampaignInput{CampaignID: "offline", Template: "Hi {{first_name}}", Recipients: people(3)}, time.Minute)
	evs := stackEvents(t, in, func(h *stackHarness) {
		h.sb.SetExtensionOffline(true)
		h.env.RegisterDelayedCallback(func() { h.sb.SetExtensionOffline(false) }, 3*time.Hour)
	})
	p, r := evs[webhooks.CampaignPaused], evs[webhooks.CampaignResumed]
	if len(p) != 1 || len(r) != 1 || p[0].ID == r[0].ID || len(evs[webhooks.CampaignFinished]) != 1 {
		t.Fatalf("paused %+v, resumed %+v; want one pause by OutX and its resume, then the end", p, r)
	}
	if p[0].Reason == "" || p[0].Campaign != "offline" {
		t.Errorf("campaign.paused: %+v", p[0])
	}
	t.Logf("paused: %s", p[0].Reason)
}

// TestAccountWaitingEvent: the campaign's hourly cap holds its next
// message: account.waiting, with the pacer's reason.
func TestAccountWaitingEvent(t *testing.T) {
	in := anytime(workflows.CampaignInput{CampaignID: "capped", Template: "Hi {{first_name}}", Recipients: people(3)}, time.Minute)
	in.Pacing.HourlyCap = num(2)
	evs := stackEvents(t, in, nil)
	w := evs[webhooks.AccountWaiting]
	if len(w) == 0 || !strings.Contains(w[0].Reason, "hourly cap") || w[0].Account != "default" || w[0].Campaign != "capped" {
		t.Fatalf("account.waiting: %+v (all: %v)", w, evs)
	}
	if len(evs[webhooks.MessageDelivered]) != 0 {
		t.Fatalf("message events without the contacts store: %v", evs)
	}
}

// TestUnknownAtPollDeadlineEvent: a campaign message whose task has no final
// status by the poll deadline writes message.unknown itself (one local
// activity), with the task id.
func TestUnknownAtPollDeadlineEvent(t *testing.T) {
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"message.unknown"}}}}
	rs := append(people(1), recipients.Recipient{RecipientURN: outxtest.Stuck + "-zoe", Vars: map[string]string{"first_name": "Zoe"}})
	evs, locals := campaignEvents(t, cfg, eventRun{recipients: rs, setup: func(*testsuite.TestWorkflowEnvironment, *outxtest.Server) {},
		input: func(in *workflows.CampaignInput) { in.PollDeadline = workflows.Duration(2 * time.Hour) }})
	e, ok := evs[webhooks.MessageUnknown]
	if len(evs) != 1 || !ok || locals != 1 {
		t.Fatalf("events %v after %d local activities, want one message.unknown", evs, locals)
	}
	if e.RecipientURN != outxtest.Stuck+"-zoe" || e.TaskID == "" || !strings.Contains(e.Reason, "no final status within") || e.Campaign != "spring" {
		t.Errorf("message.unknown: %+v", e)
	}
}
