package workflows_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// harness runs SendMessage in Temporal's test environment (virtual time) with
// the real activities, calling the OutX sandbox over HTTP.
type harness struct {
	env *testsuite.TestWorkflowEnvironment
	sb  *outxtest.Server
}

func newHarness(t *testing.T, opts outxtest.Options, clientOpts ...outx.Option) *harness {
	t.Helper()
	if opts.TaskDelay == 0 {
		opts.TaskDelay = 20 * time.Millisecond
	}
	sb := outxtest.NewServer(opts)
	t.Cleanup(sb.Close)
	client, err := outx.New(sb.URL, outxtest.DefaultAPIKey, clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.SendMessage)
	env.RegisterActivity(&activities.Activities{OutX: client, PollInterval: 5 * time.Millisecond, PollBurst: 200 * time.Millisecond})
	newGrantAtOnce(env)
	return &harness{env: env, sb: sb}
}

// run executes the workflow and returns its result, from the return value or
// from the failure that carries it.
func (h *harness) run(t *testing.T, in workflows.SendMessageInput) (workflows.SendMessageResult, error) {
	t.Helper()
	h.env.ExecuteWorkflow(workflows.SendMessage, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	err := h.env.GetWorkflowError()
	if err == nil {
		var res workflows.SendMessageResult
		if err := h.env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		return res, nil
	}
	res, ok := workflows.ResultFromError(err)
	if !ok {
		t.Fatalf("workflow failed without a result: %v", err)
	}
	return res, err
}

func (h *harness) sends() int {
	n := 0
	for _, r := range h.sb.Requests() {
		if r.Path == outx.PathSendMessage {
			n++
		}
	}
	return n
}

func input(urn string) workflows.SendMessageInput {
	return workflows.SendMessageInput{RecipientURN: urn, Message: "Hi Ada, thanks for connecting!"}
}

func TestDelivered(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	res, err := h.run(t, input("urn:li:person:ACoAABCDEFG"))
	if err != nil {
		t.Fatal(err)
	}
	tasks := h.sb.TasksTo("urn:li:person:ACoAABCDEFG")
	if len(tasks) != 1 {
		t.Fatalf("sandbox saw %d tasks, want 1", len(tasks))
	}
	if res.Outcome != workflows.Delivered || res.TaskID != tasks[0].ID || res.SendAttempts != 1 || res.Polls < 1 {
		t.Fatalf("result = %+v", res)
	}
	if res.StartedAt.IsZero() || res.QueuedAt.IsZero() || res.FinishedAt.Before(res.QueuedAt) {
		t.Fatalf("timings = %+v", res)
	}
	if tasks[0].Message != "Hi Ada, thanks for connecting!" {
		t.Fatalf("sent text %q", tasks[0].Message)
	}
}

func TestNotAConnectionFails(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	res, err := h.run(t, input(outxtest.NotConnected+"-1"))
	assertFailure(t, err, "MessageFailed")
	if res.Outcome != workflows.Failed || !strings.Contains(res.Reason, "1st-degree") || res.TaskID == "" {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(err.Error(), "1st-degree") {
		t.Fatalf("the failure shown in the UI lacks OutX's reason: %v", err)
	}
}

func TestCompletedWithoutSentFails(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	res, err := h.run(t, input(outxtest.Unsent+"-1"))
	assertFailure(t, err, "MessageFailed")
	if res.Outcome != workflows.Failed || !strings.Contains(res.Reason, "did not send") {
		t.Fatalf("result = %+v", res)
	}
}

func TestInvalidInputMakesNoRequest(t *testing.T) {
	for _, in := range []workflows.SendMessageInput{
		{RecipientURN: "bob", Message: "hi"},
		{RecipientURN: "urn:li:person:abc", Message: " \n "},
		{RecipientURN: "urn:li:person:abc", Message: strings.Repeat("😀", 5001)},
		{},
	} {
		h := newHarness(t, outxtest.Options{})
		res, err := h.run(t, in)
		assertFailure(t, err, "MessageInvalid")
		if res.Outcome != workflows.Invalid || res.Reason == "" || res.SendAttempts != 0 {
			t.Fatalf("%+v: result = %+v", in, res)
		}
		if n := len(h.sb.Requests()); n != 0 {
			t.Fatalf("%+v: %d requests reached OutX, want none", in, n)
		}
	}
}

func TestRateLimitedThenDelivered(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: http.StatusTooManyRequests, Times: 2})
	res, err := h.run(t, input("urn:li:person:abc"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.Delivered || res.SendAttempts != 3 || h.sends() != 3 {
		t.Fatalf("result = %+v, sends = %d", res, h.sends())
	}
	if n := len(h.sb.TasksTo("urn:li:person:abc")); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	// Backoff on durable timers: 15s then 30s of virtual time.
	if res.TimeToQueue < workflows.Duration(45*time.Second) {
		t.Fatalf("time to queue %s: retries did not back off", res.TimeToQueue)
	}
}

func TestSpecialRateLimitedRecipientIsRetriedOnce(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	urn := outxtest.RateLimitedOnce + "-1"
	res, err := h.run(t, input(urn))
	if err != nil || res.SendAttempts != 2 || len(h.sb.TasksTo(urn)) != 1 {
		t.Fatalf("result = %+v, err = %v, tasks = %d", res, err, len(h.sb.TasksTo(urn)))
	}
}

func TestAnswerLostIsUnknownAndNeverResent(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	urn := "urn:li:person:abc"
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, LoseAnswer: true, Times: 1})
	res, err := h.run(t, input(urn))
	assertFailure(t, err, "MessageUnknown")
	if res.Outcome != workflows.Unknown || res.SendAttempts != 1 || res.TaskID != "" {
		t.Fatalf("result = %+v", res)
	}
	if n := len(h.sb.TasksTo(urn)); n != 1 {
		t.Fatalf("sandbox saw %d tasks, want exactly 1", n)
	}
	if !strings.Contains(res.Reason, "duplicate") {
		t.Fatalf("reason %q does not say why it was not retried", res.Reason)
	}
}

func TestSlowAnswerIsUnknownAndNeverResent(t *testing.T) {
	h := newHarness(t, outxtest.Options{}, outx.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, LatencyMS: 500, Times: 1})
	res, err := h.run(t, input("urn:li:person:abc"))
	assertFailure(t, err, "MessageUnknown")
	if res.Outcome != workflows.Unknown || h.sends() != 1 {
		t.Fatalf("result = %+v, sends = %d", res, h.sends())
	}
}

func TestServerErrorIsUnknownButUnavailableIsRetried(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: http.StatusInternalServerError, Times: 1})
	res, err := h.run(t, input("urn:li:person:abc"))
	assertFailure(t, err, "MessageUnknown")
	if res.Outcome != workflows.Unknown || h.sends() != 1 {
		t.Fatalf("500: result = %+v, sends = %d", res, h.sends())
	}

	h = newHarness(t, outxtest.Options{})
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: http.StatusServiceUnavailable, Times: 1})
	res, err = h.run(t, input("urn:li:person:abc"))
	if err != nil || res.Outcome != workflows.Delivered || res.SendAttempts != 2 {
		t.Fatalf("503: result = %+v, err = %v", res, err)
	}
}

func TestPendingForHoursIsConfirmedWithFlatHistory(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	urn := outxtest.Stuck + "-1"
	// The extension picks the task up five hours after it was queued.
	h.env.RegisterDelayedCallback(func() {
		tasks := h.sb.TasksTo(urn)
		if len(tasks) != 1 || !h.sb.Finish(tasks[0].ID, true) {
			t.Errorf("could not finish the stuck task: %+v", tasks)
		}
	}, 5*time.Hour)
	res, err := h.run(t, input(urn))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.Delivered || h.sends() != 1 {
		t.Fatalf("result = %+v, sends = %d", res, h.sends())
	}
	if res.TimeToConfirm < workflows.Duration(5*time.Hour) || res.TimeToConfirm > workflows.Duration(5*time.Hour+6*time.Minute) {
		t.Fatalf("confirmed after %s, want shortly after 5h", res.TimeToConfirm)
	}
	if res.Polls < 60 {
		t.Fatalf("%d polls over 5 hours: the poll count must survive attempts", res.Polls)
	}
}

func TestNoFinalStatusBeforeDeadlineIsUnknown(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	in := input(outxtest.Stuck + "-1")
	in.PollDeadline = workflows.Duration(2 * time.Hour)
	res, err := h.run(t, in)
	assertFailure(t, err, "MessageUnknown")
	if res.Outcome != workflows.Unknown || res.TaskID == "" || !strings.Contains(res.Reason, "no final status within 2h") {
		t.Fatalf("result = %+v", res)
	}
	if h.sends() != 1 {
		t.Fatalf("%d sends, want 1: a known task is never resubmitted", h.sends())
	}
}

// sendStack runs one SendMessage beside its account's real pacer, as a
// worker hosts them: OutX refusing for want of an extension is the
// account's business, and its pacer pauses the account.
func sendStack(ctx workflow.Context, in workflows.SendMessageInput) (workflows.SendMessageResult, error) {
	pctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, pacer.DefaultSender)})
	if err := workflow.ExecuteChildWorkflow(pctx, workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender}).
		GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return workflows.SendMessageResult{}, err
	}
	var res workflows.SendMessageResult
	err := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "send"}),
		workflows.SendMessage, in).Get(ctx, &res)
	if r, ok := workflows.ResultFromError(err); ok {
		res = r
	}
	return res, err
}

// runBesidePacer runs in with the real pacer and returns its result and
// the pacer's account status at the end.
func runBesidePacer(t *testing.T, h *stackHarness, in workflows.SendMessageInput) (workflows.SendMessageResult, error) {
	t.Helper()
	h.env.RegisterWorkflow(sendStack)
	h.env.ExecuteWorkflow(sendStack, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("did not complete")
	}
	var res workflows.SendMessageResult
	err := h.env.GetWorkflowError()
	if err == nil {
		if err := h.env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		return res, nil
	}
	res, ok := workflows.ResultFromError(err)
	if !ok {
		t.Fatalf("failed without a result: %v", err)
	}
	return res, err
}

// TestExtensionOfflineIsRetriedUntilItReturns: OutX refusing for want of an
// extension pauses the account (15s, 30s, then 30 minutes, doubling), the
// message asking again each time; once the extension is back it is sent,
// once.
func TestExtensionOfflineIsRetriedUntilItReturns(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	h.sb.SetExtensionOffline(true)
	var paused *pacer.Pause
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflowByID(pacer.WorkflowID(testQueue, pacer.DefaultSender), pacer.QueryStatus)
		if err == nil {
			var st pacer.Status
			if v.Get(&st) == nil {
				paused = st.Account.Paused
			}
		}
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() { h.sb.SetExtensionOffline(false) }, 20*time.Minute)
	res, err := runBesidePacer(t, h, input("urn:li:person:abc"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.Delivered || res.SendAttempts < 4 || len(h.sb.Tasks()) != 1 {
		t.Fatalf("result = %+v, tasks = %d", res, len(h.sb.Tasks()))
	}
	if paused == nil || !strings.Contains(paused.Reason, "the extension is offline: OutX refused 3 actions in a row") || paused.By != "outpace" {
		t.Errorf("the account while the extension was away: %+v, want paused by outpace, saying why", paused)
	}
}

func TestExtensionOfflinePastSendDeadlineFails(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	h.sb.SetExtensionOffline(true)
	in := input("urn:li:person:abc")
	in.SendDeadline = workflows.Duration(50 * time.Minute)
	res, err := runBesidePacer(t, h, in)
	assertFailure(t, err, "MessageFailed")
	if res.Outcome != workflows.Failed || !strings.Contains(res.Reason, "Plugin installation required") || len(h.sb.Tasks()) != 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestUnauthorizedFailsWithoutRetry(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	h.sb.Inject(outxtest.Fault{Status: http.StatusUnauthorized})
	res, err := h.run(t, input("urn:li:person:abc"))
	assertFailure(t, err, "MessageFailed")
	if res.Outcome != workflows.Failed || h.sends() != 1 || !strings.Contains(res.Reason, "401") {
		t.Fatalf("result = %+v, sends = %d", res, h.sends())
	}
}

func TestPollingRidesOutTransientErrors(t *testing.T) {
	h := newHarness(t, outxtest.Options{})
	h.sb.Inject(outxtest.Fault{Path: outx.PathGetTaskStatus, Status: http.StatusBadGateway, Times: 5})
	res, err := h.run(t, input("urn:li:person:abc"))
	if err != nil || res.Outcome != workflows.Delivered || res.Polls < 6 {
		t.Fatalf("result = %+v, err = %v", res, err)
	}
}

func TestDurationJSON(t *testing.T) {
	var in workflows.SendMessageInput
	for raw, want := range map[string]time.Duration{
		`{"poll_deadline":"36h"}`: 36 * time.Hour,
		`{"poll_deadline":90}`:    90 * time.Second,
	} {
		if err := jsonUnmarshal(raw, &in); err != nil || time.Duration(in.PollDeadline) != want {
			t.Errorf("%s: got %s, %v", raw, in.PollDeadline, err)
		}
	}
	// In an input, a bad duration makes the run invalid, naming the field
	// (TestMistypedInputIsInvalid).
	var d workflows.Duration
	if err := jsonUnmarshal(`"a day"`, &d); err == nil || !strings.Contains(err.Error(), `"a day"`) {
		t.Errorf("a bad duration must be refused clearly, got %v", err)
	}
}

func assertFailure(t *testing.T, err error, typ string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != typ || !app.NonRetryable() {
		t.Fatalf("workflow error = %v, want a non-retryable %s", err, typ)
	}
}
