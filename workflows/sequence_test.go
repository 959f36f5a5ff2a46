package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// stackInput is what the stack workflow runs: campaigns on their senders'
// pacers.
type stackInput struct {
	Senders   []string                  `json:"senders"`
	Campaigns []workflows.CampaignInput `json:"campaigns"`
}

// stack runs, in the test environment, what a worker hosts: each sender's
// pacer and the campaigns, as children of one root, so that the campaigns'
// runs and the pacers signal each other as they do on a server. It returns
// the campaigns' final progress, in order.
func stack(ctx workflow.Context, in stackInput) ([]workflows.CampaignProgress, error) {
	for _, s := range in.Senders {
		pctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, s)})
		if err := workflow.ExecuteChildWorkflow(pctx, workflows.SenderPacer, pacer.Input{Sender: s}).
			GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return nil, err
		}
	}
	futs := make([]workflow.Future, len(in.Campaigns))
	for i, c := range in.Campaigns {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: c.CampaignID})
		futs[i] = workflow.ExecuteChildWorkflow(cctx, workflows.Campaign, c)
	}
	out := make([]workflows.CampaignProgress, len(futs))
	var errs []error
	for i, f := range futs {
		errs = append(errs, f.Get(ctx, &out[i]))
	}
	return out, errors.Join(errs...)
}

type stackHarness struct {
	env *testsuite.TestWorkflowEnvironment
	sb  *outxtest.Server

	mu        sync.Mutex
	sequences map[string]workflows.SequenceResult // by recipient URN
	// messageEnds are when SendMessage runs ended, in order: when outpace
	// saw their task end and released the account's slot.
	messageEnds []time.Time
	// messages are the SendMessage runs' results, by workflow id.
	messages map[string]workflows.SendMessageResult
	// acts are the activities the worker would host (set Contacts before
	// running to keep a ledger).
	acts *activities.Activities
}

func (h *stackHarness) sequenceResults(t *testing.T) map[string]workflows.SequenceResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.sequences)
}

// sunday is Sunday 1 November 2026, 08:00 UTC.
var sunday = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

// anyHours is a window that never closes, for tests whose subject is not
// the sending hours.
var anyHours = senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00"}

// newStack builds the stack; each configure call may add to the
// activities and the environment before they are registered.
func newStack(t *testing.T, limits map[string]senders.Limits, opts outxtest.Options, configure ...func(*activities.Activities, *testsuite.TestWorkflowEnvironment)) *stackHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(sunday)
	env.SetTestTimeout(2 * time.Minute)
	if opts.TaskDelay == 0 {
		opts.TaskDelay = 20 * time.Second
	}
	if opts.AcceptDelay == 0 {
		opts.AcceptDelay = 30 * time.Hour
	}
	opts.Now = env.Now
	teams := []outxtest.Team{}
	acts := &activities.Activities{Accounts: map[string]*outx.Client{}, PollInterval: 2 * time.Millisecond, PollBurst: 20 * time.Millisecond}
	names := make([]string, 0, len(limits))
	for name := range limits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		teams = append(teams, outxtest.Team{Name: name, APIKey: "key-" + name})
	}
	opts.Teams = teams
	sb := outxtest.NewServer(opts)
	t.Cleanup(sb.Close)
	for _, name := range names {
		c, err := outx.New(sb.URL, "key-"+name)
		if err != nil {
			t.Fatal(err)
		}
		acts.Accounts[name] = c
		acts.Senders.Accounts = append(acts.Senders.Accounts, senders.Account{Name: name, Limits: limits[name]})
	}
	env.RegisterWorkflow(stack)
	env.RegisterWorkflow(workflows.Campaign)
	env.RegisterWorkflow(workflows.SendMessage)
	env.RegisterWorkflow(workflows.SendConnectionRequest)
	env.RegisterWorkflow(workflows.Sequence)
	env.RegisterWorkflow(workflows.SenderPacer)
	for _, f := range configure {
		f(acts, env)
	}
	env.RegisterActivity(acts)
	h := &stackHarness{env: env, sb: sb, sequences: map[string]workflows.SequenceResult{}, messages: map[string]workflows.SendMessageResult{}, acts: acts}
	askPacerBySignal(env, acts)
	env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, result converter.EncodedValue, err error) {
		if info.WorkflowType.Name == workflows.SendMessageWorkflow {
			r, ok := workflows.ResultFromError(err)
			if err == nil && result != nil {
				ok = result.Get(&r) == nil
			}
			h.mu.Lock()
			h.messageEnds = append(h.messageEnds, env.Now())
			if ok {
				h.messages[info.WorkflowExecution.ID] = r
			}
			h.mu.Unlock()
		}
		if info.WorkflowType.Name != workflows.SequenceWorkflow {
			return
		}
		r, ok := workflows.SequenceResultFromError(err)
		if err == nil && result != nil {
			ok = result.Get(&r) == nil
		}
		if ok {
			h.mu.Lock()
			h.sequences[r.RecipientURN] = r
			h.mu.Unlock()
		}
	})
	return h
}

// askPacerBySignal carries the acquire activity's requests to the pacers
// running in the test environment. There, an activity cannot send an
// update to a workflow; so the activity answers "waiting" and its request
// is signalled to the pacer (which takes the acquire request as a signal
// too), whose grant then comes by signal as for any request that waits.
// The update itself is exercised by the model test (pacer_model_test.go)
// and on a real server (e2e). The answer names the event types as the real
// activity does (activities.SlotEvents, from acts' webhooks).
func askPacerBySignal(env *testsuite.TestWorkflowEnvironment, acts *activities.Activities) {
	var a *activities.Activities
	var mu sync.Mutex
	pending := map[string]activities.AcquireSlotInput{} // by activity id
	env.OnActivity(a.AcquireSlot, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.AcquireSlotInput) (pacer.Answer, error) {
		mu.Lock()
		defer mu.Unlock()
		pending[activity.GetInfo(ctx).WorkflowExecution.RunID+"/"+activity.GetInfo(ctx).ActivityID] = in
		return pacer.Answer{ID: in.Request.ID, Waiting: &pacer.Wait{Kind: pacer.WaitQueued, Reason: "asked by signal"},
			Events: activities.SlotEvents(acts.Events, in.Sender, in.Request.Campaign, in.Request.Action)}, nil
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if info.ActivityType.Name != "AcquireSlot" || err != nil {
			return
		}
		mu.Lock()
		key := info.WorkflowExecution.RunID + "/" + info.ActivityID
		in, ok := pending[key]
		delete(pending, key)
		mu.Unlock()
		if ok {
			if err := env.SignalWorkflowByID(in.PacerID, pacer.UpdateAcquire, in.Request); err != nil {
				panic(fmt.Sprintf("signalling the pacer %s: %v", in.PacerID, err))
			}
		}
	})
}

func (h *stackHarness) run(t *testing.T, in stackInput) []workflows.CampaignProgress {
	t.Helper()
	h.env.ExecuteWorkflow(stack, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("the stack did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("stack: %v", err)
	}
	var out []workflows.CampaignProgress
	if err := h.env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// tasks lists the sandbox's tasks for one recipient, by type, in order.
func (h *stackHarness) tasks(urn string) []outxtest.Task {
	var out []outxtest.Task
	for _, task := range h.sb.Tasks() {
		if task.RecipientURN == urn {
			out = append(out, task)
		}
	}
	return out
}

func types(ts []outxtest.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, strings.TrimPrefix(t.Type, "agent_"))
	}
	return out
}

// fiveSteps is the sequence the issue names: connect, wait for the
// acceptance, message, wait three days, follow up.
func fiveSteps() []workflows.Step {
	return []workflows.Step{
		{Type: workflows.StepConnect, Template: "Hi {{first_name}}, let's connect"},
		{Type: workflows.StepWaitForConnection, Timeout: workflows.Duration(14 * 24 * time.Hour), CheckEvery: workflows.Duration(12 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Thanks for connecting, {{first_name}}!"},
		{Type: workflows.StepWait, Duration: workflows.Duration(3 * 24 * time.Hour)},
		{Type: workflows.StepMessage, Name: "follow-up", Template: "Any thoughts, {{first_name}}?"},
	}
}

func person(urn, name string) recipients.Recipient {
	return recipients.Recipient{RecipientURN: urn, Vars: map[string]string{"first_name": name}}
}

func sequenceCampaign(id string, rs ...recipients.Recipient) workflows.CampaignInput {
	return workflows.CampaignInput{
		CampaignID: id, Steps: fiveSteps(), Recipients: rs,
		Pacing: workflows.Pacing{MinGap: dur(time.Minute), MaxGap: dur(2 * time.Minute), HourlyCap: num(0), DailyCap: num(0)},
		Window: workflows.SendingWindow{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00"},
	}
}

// TestSequenceOverWeeks takes four people through connect →
// wait_for_connection → message → wait 3 days → follow-up, in virtual time:
// one accepts and gets both messages, one never accepts and ends
// not_connected after the 14-day limit with no message, one is stopped
// during the 3-day wait and never gets the follow-up, and one whose first
// message fails never gets the follow-up.
func TestSequenceOverWeeks(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	accepts, ignores := outxtest.Accepts+"-ann", outxtest.Ignores+"-bob"
	stopped := outxtest.Accepts + "-cat"
	in := sequenceCampaign("weeks", person(accepts, "Ann"), person(ignores, "Bob"), person(stopped, "Cat"))
	// A second campaign on the same account messages people who are
	// already connections, then follows up: Dan's first message fails
	// (OutX reports it not sent), Eve's is delivered.
	failing, eve := outxtest.Unsent+"-dan", "urn:li:person:ACoAAEve"
	followUps := sequenceCampaign("followups", person(failing, "Dan"), person(eve, "Eve"))
	followUps.Steps = []workflows.Step{fiveSteps()[2], fiveSteps()[3], fiveSteps()[4]}

	// Cat accepts after 30 hours like Ann; on day 4 (inside her 3-day
	// wait) the user stops her, as a CRM would when she replies.
	var stopAnswer string
	h.env.RegisterDelayedCallback(func() {
		err := h.env.UpdateWorkflowByID("weeks", workflows.UpdateStopRecipient, "stop-cat", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { t.Errorf("stop-recipient rejected: %v", err) },
			OnComplete: func(v any, err error) { stopAnswer, _ = v.(string) },
		}, workflows.StopRecipientRequest{RecipientURN: stopped, Reason: "she replied"})
		if err != nil {
			t.Errorf("stop-recipient: %v", err)
		}
	}, 4*24*time.Hour)

	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in, followUps}})
	if want := (workflows.Counts{Delivered: 1, NotConnected: 1, Stopped: 1}); out[0].Counts != want {
		t.Errorf("counts = %+v, want %+v", out[0].Counts, want)
	}
	if want := (workflows.Counts{Delivered: 1, Failed: 1}); out[1].Counts != want {
		t.Errorf("follow-up campaign: counts = %+v, want %+v", out[1].Counts, want)
	}
	if got := types(h.tasks(eve)); countOf(got, "send_message") != 2 {
		t.Errorf("Eve's tasks = %v, want two messages", got)
	}
	if !strings.Contains(stopAnswer, "stopped") {
		t.Errorf("stop-recipient answered %q", stopAnswer)
	}

	// Ann: a request, checks until she accepted, both messages.
	ann := h.tasks(accepts)
	if got := types(ann); len(got) < 3 || got[0] != "send_connection_request" ||
		slices.Index(got, "send_message") < 0 || countOf(got, "send_message") != 2 {
		t.Errorf("Ann's tasks = %v, want a connection request, then two messages", got)
	}
	msgs := messageTasks(ann)
	if len(msgs) == 2 {
		if gap := msgs[1].CreatedAt.Sub(msgs[0].FinishedAt); gap < 3*24*time.Hour {
			t.Errorf("Ann's follow-up came %s after the first message, want at least 3 days", gap)
		}
		accepted := ann[0].FinishedAt.Add(30 * time.Hour)
		if msgs[0].CreatedAt.Before(accepted) {
			t.Errorf("Ann's first message at %s, before she accepted at %s", msgs[0].CreatedAt, accepted)
		}
	}
	// Bob: a request, never a message.
	bob := h.tasks(ignores)
	if got := types(bob); got[0] != "send_connection_request" || countOf(got, "send_message") != 0 || countOf(got, "send_connection_request") != 1 {
		t.Errorf("Bob's tasks = %v, want one connection request and no message", got)
	}
	// Cat: stopped in her wait: one message, no follow-up.
	if got := types(h.tasks(stopped)); countOf(got, "send_message") != 1 || countOf(got, "send_connection_request") != 1 {
		t.Errorf("Cat's tasks = %v, want one request and one message (stopped before the follow-up)", got)
	}
	// Dan: his message failed: no follow-up.
	if got := types(h.tasks(failing)); countOf(got, "send_message") != 1 {
		t.Errorf("Dan's tasks = %v, want exactly one message (no follow-up after a failure)", got)
	}
	// Connection checks are Fetch Connections tasks, for Ann and Bob
	// through their waits: Bob's last at 14 days.
	checks := 0
	for _, task := range h.sb.Tasks() {
		if task.Type == "agent_fetch_connections" {
			checks++
		}
	}
	if checks < 28 || checks > 40 {
		t.Errorf("%d connection checks, want Bob's 28 (every 12h for 14 days) plus Ann's and Cat's few", checks)
	}

	// Each sequence's run says which step it reached and each step's
	// outcome.
	results := h.sequenceResults(t)
	for urn, want := range map[string]struct {
		outcome workflows.Outcome
		reached int
		steps   []workflows.Outcome
	}{
		accepts: {workflows.Delivered, 5, []workflows.Outcome{workflows.Delivered, workflows.Connected, workflows.Delivered, workflows.Done, workflows.Delivered}},
		ignores: {workflows.NotConnected, 2, []workflows.Outcome{workflows.Delivered, workflows.NotConnected}},
		stopped: {workflows.Stopped, 4, []workflows.Outcome{workflows.Delivered, workflows.Connected, workflows.Delivered, workflows.Stopped}},
		failing: {workflows.Failed, 1, []workflows.Outcome{workflows.Failed}},
		eve:     {workflows.Delivered, 3, []workflows.Outcome{workflows.Delivered, workflows.Done, workflows.Delivered}},
	} {
		r, ok := results[urn]
		if !ok {
			t.Errorf("%s: no sequence result", urn)
			continue
		}
		var got []workflows.Outcome
		for _, s := range r.Steps {
			got = append(got, s.Outcome)
		}
		if r.Outcome != want.outcome || r.Reached != want.reached || !slices.Equal(got, want.steps) {
			t.Errorf("%s: outcome %s, reached %d, steps %v; want %s, %d, %v (reason %q)", urn, r.Outcome, r.Reached, got, want.outcome, want.reached, want.steps, r.Reason)
		}
	}
	if r := results[ignores]; len(r.Steps) == 2 && r.FinishedAt.Sub(r.StartedAt) < 14*24*time.Hour {
		t.Errorf("Bob's sequence ended after %s, before the 14-day limit", r.FinishedAt.Sub(r.StartedAt))
	}
}

func countOf(ss []string, s string) int {
	n := 0
	for _, v := range ss {
		if v == s {
			n++
		}
	}
	return n
}

func messageTasks(ts []outxtest.Task) []outxtest.Task {
	var out []outxtest.Task
	for _, t := range ts {
		if t.Type == "agent_send_message" {
			out = append(out, t)
		}
	}
	return out
}
