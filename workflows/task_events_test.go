package workflows_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// single is one single send (no campaign): a message or a connection
// request, under its workflow id.
type single struct {
	ID      string                            `json:"id"`
	Message *workflows.SendMessageInput       `json:"message,omitempty"`
	Connect *workflows.ConnectionRequestInput `json:"connect,omitempty"`
}

// singles runs, as a worker's clients would start them, single sends one
// after the other, beside the account's pacer.
func singles(ctx workflow.Context, in []single) error {
	pctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, senders.Default)})
	if err := workflow.ExecuteChildWorkflow(pctx, workflows.SenderPacer, pacer.Input{Sender: senders.Default}).
		GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return err
	}
	for _, s := range in {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: s.ID})
		var f workflow.Future
		if s.Message != nil {
			f = workflow.ExecuteChildWorkflow(cctx, workflows.SendMessage, *s.Message)
		} else {
			f = workflow.ExecuteChildWorkflow(cctx, workflows.SendConnectionRequest, *s.Connect)
		}
		_ = f.Get(ctx, nil) // not delivered: failed, as designed
	}
	return nil
}

// taskEvents runs in (on the stack: the real pacer, an account with an
// hourly cap of one action) on a worker whose webhooks are cfg, with a
// real contacts store writing the events of outcomes; it returns the
// outbox's events by type and the local activities the runs started.
func taskEvents(t *testing.T, cfg webhooks.Config, run func(h *stackHarness)) (map[string][]webhooks.Event, int) {
	t.Helper()
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}
	capped := unlimited
	capped.HourlyCap = ptr(1)
	h := newStack(t, map[string]senders.Limits{senders.Default: capped}, outxtest.Options{},
		func(a *activities.Activities, env *testsuite.TestWorkflowEnvironment) {
			a.Events = em
			a.Contacts = activities.WithEvents(st, em)
			env.RegisterActivity(&activities.Webhooks{Config: cfg, Outbox: ob, Emitter: em})
			env.RegisterWorkflow(singles)
		})
	h.env.SetStartTime(thu)
	h.env.SetTestTimeout(3 * time.Minute)
	locals := 0
	h.env.SetOnLocalActivityStartedListener(func(*activity.Info, context.Context, []any) { locals++ })
	run(h)
	rows, err := ob.List(context.Background(), "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]webhooks.Event{}
	ids := map[string]bool{}
	for _, r := range rows {
		var e webhooks.Event
		if err := json.Unmarshal(r.Body, &e); err != nil {
			t.Fatal(err)
		}
		if ids[e.ID] {
			t.Fatalf("event %s twice", e.ID)
		}
		ids[e.ID] = true
		out[e.Type] = append(out[e.Type], e)
	}
	return out, locals
}

// runSingles runs a delivered message to Ann, then a connection request to
// Bob, then a message to Zoe whose task never ends (its poll deadline is
// 2 h): Bob's and Zoe's wait for the hourly cap.
func runSingles(t *testing.T, h *stackHarness) {
	t.Helper()
	h.env.ExecuteWorkflow(singles, []single{
		{ID: "single/ann", Message: &workflows.SendMessageInput{RecipientURN: "urn:li:person:ACoAAAnn", Message: "Hi Ann"}},
		{ID: "single/bob", Connect: &workflows.ConnectionRequestInput{ProfileURN: "urn:li:person:ACoAABob"}},
		{ID: "single/zoe", Message: &workflows.SendMessageInput{RecipientURN: outxtest.Stuck + "-zoe", Message: "Hi Zoe", PollDeadline: workflows.Duration(2 * time.Hour)}},
	})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

// TestSingleSendEvents: single sends write account.waiting when a limit of
// the account holds them (once per kind, an id of their own), and a
// message whose task has no final status by the poll deadline writes
// message.unknown: one local activity each, the types learnt from the
// AcquireSlot answer.
func TestSingleSendEvents(t *testing.T) {
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef")}}}
	evs, locals := taskEvents(t, cfg, func(h *stackHarness) { runSingles(t, h) })
	w, u := evs[webhooks.AccountWaiting], evs[webhooks.MessageUnknown]
	if len(w) != 2 || len(u) != 1 || locals != 3 {
		t.Fatalf("account.waiting %+v, message.unknown %+v after %d local activities; want two waits (Zoe, Bob), Zoe's unknown, one local activity each", w, u, locals)
	}
	for _, e := range w {
		id := map[string]string{outxtest.Stuck + "-zoe": "single/zoe", "urn:li:person:ACoAABob": "single/bob"}[e.RecipientURN]
		if id == "" || e.ID != webhooks.ID(id, webhooks.AccountWaiting, "wait-"+pacer.WaitHourlyCap) || e.Campaign != "" ||
			e.Account != senders.Default || !strings.Contains(e.Reason, "hourly cap") {
			t.Errorf("account.waiting: %+v", e)
		}
	}
	if e := u[0]; e.RecipientURN != outxtest.Stuck+"-zoe" || e.TaskID == "" || e.Campaign != "" || !strings.Contains(e.Reason, "no final status within") ||
		e.ID != webhooks.ID("single/zoe", webhooks.MessageUnknown, "") {
		t.Errorf("message.unknown: %+v", e)
	}
	if len(evs[webhooks.MessageDelivered]) != 1 || len(evs[webhooks.ConnectionSent]) != 1 {
		t.Errorf("the outcomes' events: %v", evs)
	}
}

// TestSingleSendEventsCostNothingWithoutEndpoints: the same single sends
// on a worker without endpoints, or whose endpoints take neither type, run
// no local activity.
func TestSingleSendEventsCostNothingWithoutEndpoints(t *testing.T) {
	for name, cfg := range map[string]webhooks.Config{
		"no endpoints":   {},
		"delivered only": {Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"message.delivered"}}}},
		"campaigns only": {Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Campaigns: []string{"*"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			evs, locals := taskEvents(t, cfg, func(h *stackHarness) { runSingles(t, h) })
			if locals != 0 || len(evs[webhooks.AccountWaiting]) != 0 || len(evs[webhooks.MessageUnknown]) != 0 {
				t.Fatalf("%d local activities, events %v; want none", locals, evs)
			}
		})
	}
}

// TestSequenceStepWaitingEvent: a sequence's step held by the account's
// hourly cap writes account.waiting itself (its campaign hears nothing of
// the step's waits), with the campaign and the step.
func TestSequenceStepWaitingEvent(t *testing.T) {
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"account.waiting"}}}}
	evs, locals := taskEvents(t, cfg, func(h *stackHarness) {
		in := sequenceCampaign("seq-capped", person("urn:li:person:ACoAAAnn", "Ann"), person("urn:li:person:ACoAABob", "Bob"))
		in.Steps = []workflows.Step{{Type: workflows.StepMessage, Template: "Hi {{first_name}}"}}
		h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	})
	w := evs[webhooks.AccountWaiting]
	if len(w) != 1 || locals != 1 {
		t.Fatalf("account.waiting %+v after %d local activities; want Bob's step's, one", w, locals)
	}
	if e := w[0]; e.RecipientURN != "urn:li:person:ACoAABob" || e.Campaign != "seq-capped" || e.Step != "1-message" || !strings.Contains(e.Reason, "hourly cap") {
		t.Errorf("account.waiting: %+v", e)
	}
}

// switchable is the worker's contacts store, replaced when the store
// comes back: the stores it holds are real (SQLite), the first one closed
// while it is down. The activities call Claim, Finish and Check.
type switchable struct {
	contacts.Store // the first store, for the calls the activities never make
	mu             sync.Mutex
	st             contacts.Store
}

func (s *switchable) get() contacts.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *switchable) set(st contacts.Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
}

func (s *switchable) Claim(ctx context.Context, c contacts.Claim) (contacts.Verdict, error) {
	return s.get().Claim(ctx, c)
}

func (s *switchable) Finish(ctx context.Context, r contacts.Result) error {
	return s.get().Finish(ctx, r)
}

func (s *switchable) Check(ctx context.Context, c contacts.Claim) (contacts.Verdict, error) {
	return s.get().Check(ctx, c)
}

func (s *switchable) CheckMany(ctx context.Context, cs []contacts.Claim) ([]contacts.Verdict, error) {
	return s.get().CheckMany(ctx, cs)
}

// TestAcceptedEventSurvivesAStoreDown: the contacts store is down (closed)
// when the sequence's check finds the person connected; the step still
// ends connected, and connection.accepted is written once the store is
// back, before the sequence goes on.
func TestAcceptedEventSurvivesAStoreDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef"), Events: []string{"connection.accepted"}}}}
	open := func() (contacts.Store, contacts.Store, webhooks.Outbox) {
		st, err := contacts.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		ob, _ := contacts.OutboxOf(st)
		return st, activities.WithEvents(st, &webhooks.Emitter{Config: cfg, Outbox: ob}), ob
	}
	st, ev, _ := open()
	sw := &switchable{Store: ev}
	sw.set(ev)
	var back contacts.Store
	var backOutbox webhooks.Outbox
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{AcceptDelay: time.Hour},
		func(a *activities.Activities, env *testsuite.TestWorkflowEnvironment) {
			a.Contacts = sw
			a.Events = &webhooks.Emitter{Config: cfg}
		})
	// Down from the 6th hour (the connection request is over), back at
	// the 20th (the first check is at about the 12th).
	h.env.RegisterDelayedCallback(func() { _ = st.Close() }, 6*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		var ev contacts.Store
		back, ev, backOutbox = open()
		sw.set(ev)
	}, 20*time.Hour)
	ann := outxtest.Accepts + "-ann"
	in := sequenceCampaign("seq-down", person(ann, "Ann"))
	in.Steps = []workflows.Step{
		{Type: workflows.StepConnect, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWaitForConnection, Timeout: workflows.Duration(3 * 24 * time.Hour), CheckEvery: workflows.Duration(12 * time.Hour)},
	}
	h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if back == nil {
		t.Fatal("the store never came back")
	}
	defer back.Close()
	if res := h.sequenceResults(t)[ann]; res.Outcome != workflows.Delivered || len(res.Steps) != 2 || res.Steps[1].Outcome != workflows.Connected {
		t.Fatalf("sequence: %+v; want the connection accepted", res)
	}
	rows, err := backOutbox.List(context.Background(), "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Type != webhooks.ConnectionAccepted {
		t.Fatalf("outbox %+v; want connection.accepted", rows)
	}
	var e webhooks.Event
	if err := json.Unmarshal(rows[0].Body, &e); err != nil {
		t.Fatal(err)
	}
	if e.RecipientURN != ann || e.Campaign != "seq-down" || e.TaskID == "" || e.Outcome != "accepted" {
		t.Errorf("connection.accepted: %+v", e)
	}
}
