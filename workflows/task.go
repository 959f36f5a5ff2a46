package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/webhooks"
)

// QueryTask returns a task workflow's TaskProgress (SendMessage,
// SendConnectionRequest): what it does now, and while it waits for its
// account, why and until when.
const QueryTask = "task"

// TaskProgress answers QueryTask.
type TaskProgress struct {
	// Status is one of validating, waiting (for the account's pacer),
	// sending, retrying (OutX refused the send without a task, or the
	// contacts store was unavailable), confirming, recording (the
	// outcome waits for the contacts store), finished.
	Status string `json:"status"`
	// Wait is why the run waits for its account, while it does.
	Wait *pacer.Wait `json:"wait,omitempty"`
	// Text says it in a sentence, as the UI's current details do.
	Text    string  `json:"text"`
	TaskID  string  `json:"task_id,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
}

// taskSpec is what one OutX action is, whatever its kind.
type taskSpec struct {
	noun        string       // "message", "connection request"
	errors      string       // the error type prefix of its failures
	action      pacer.Action // what it counts as at the account's pacer
	recipient   string
	campaign    string
	sender      string
	limits      *CampaignLimits
	sendSummary string
	// step names a sequence's step in the contacts store's ledger.
	step string
	// send starts the one OutX request that creates the task.
	send         func(ctx workflow.Context) workflow.Future
	sendDeadline Duration
	pollDeadline Duration
	// tellCampaign: the run is a campaign's direct child, which tells the
	// campaign why it waits (a sequence's steps do not).
	tellCampaign bool
	// events are the webhook event types the campaign's endpoints take
	// (a campaign's runs: message.unknown); the run adds those the
	// AcquireSlot activity answers (see eventTypes).
	events []string
}

// task runs one OutX action from its slot to its outcome: the part
// SendMessage and SendConnectionRequest share. It is sent once (retried,
// on a durable timer, only when OutX certainly created no task), polled to
// its final status, and its result recorded where people look.
type task struct {
	taskSpec
	res      SendMessageResult
	held     *slot
	progress TaskProgress
	told     string // the wait the campaign was last told of
	req      *slotRequester
	// waitedOn are the kinds of account limits the run wrote
	// account.waiting for: one event per kind.
	waitedOn []string
	// sendBy ends the retries of sends that OutX certainly did not queue:
	// the send deadline from the first slot granted.
	sendBy time.Time
}

func newTask(ctx workflow.Context, spec taskSpec) (*task, error) {
	t := &task{taskSpec: spec, res: SendMessageResult{RecipientURN: spec.recipient, StartedAt: workflow.Now(ctx)}}
	t.progress = TaskProgress{Status: "validating", Text: "checking the " + spec.noun}
	return t, workflow.SetQueryHandler(ctx, QueryTask, func() (TaskProgress, error) { return t.progress, nil })
}

// show sets the run's status, where the query and the UI read it.
func (t *task) show(ctx workflow.Context, status, text string, wait *pacer.Wait) {
	t.progress.Status, t.progress.Text, t.progress.Wait = status, text, wait
	workflow.SetCurrentDetails(ctx, text)
}

// run takes the action through its account's pacer, the send and the
// confirmation, to its outcome.
func (t *task) run(ctx workflow.Context) (SendMessageResult, error) {
	req := &slotRequester{sender: t.sender, campaign: t.campaign, limits: t.limits}
	t.req = req
	req.onWait = func(w *pacer.Wait) {
		if w == nil {
			t.show(ctx, "sending", "sending the "+t.noun, nil)
			t.tellWait(ctx, nil)
			return
		}
		t.show(ctx, "waiting", WaitText(t.sender, *w, workflow.Now(ctx)), w)
		t.tellWait(ctx, w)
		t.noteLimit(ctx, w)
	}
	hold := holdFor(t.sendDeadline, t.pollDeadline)
	for {
		t.show(ctx, "waiting", "asking account "+pacer.Or(t.sender)+"'s pacer for a slot (while it answers, the current details of "+
			pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, t.sender)+" say what holds the account)", nil)
		s, stopped, err := req.acquire(ctx, t.action, t.recipient, hold)
		if err != nil && noTaskCreated(err) {
			// The worker has no such account: nothing was or can be sent.
			t.res.NotSentCode = errorType(err)
			return t.finish(ctx, Failed, "not sent: "+rootMessage(err))
		}
		if err != nil {
			return t.res, err
		}
		if stopped != "" {
			return t.finish(ctx, Stopped, "not sent: the recipient was "+stopped)
		}
		t.held = s
		if t.sendBy.IsZero() {
			// The send deadline counts from the first slot granted.
			t.sendBy = later(t.res.StartedAt, s.grantedAt).Add(t.sendDeadline.Or(DefaultSendDeadline))
		}
		t.show(ctx, "sending", "sending the "+t.noun, nil)
		o, reason, err := t.sendAndConfirm(ctx)
		var pushed *pushBack
		switch {
		case errors.As(err, &pushed):
			// OutX pushed back on the account: the slot goes back with the
			// news, and the pacer holds this request (and the account, or
			// its connection requests) as long as it should.
			t.held.release(ctx, pacer.Release{PushBack: pushed.kind, Reason: pushed.reason})
			t.held = nil
			continue
		case err != nil: // cancelled while waiting to retry: no task was created
			t.held.release(ctx, pacer.Release{})
			return t.res, err
		}
		return t.finish(ctx, o, reason)
	}
}

// pushBack is OutX refusing an action in a way that concerns the account
// (pacer.PushBack*): its pacer pauses the account or its connection
// requests, and the action asks again.
type pushBack struct{ kind, reason string }

func (p *pushBack) Error() string { return "OutX pushed back (" + p.kind + "): " + p.reason }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// tellWait tells the campaign (if the run is its direct child) about a
// long wait for the account (a cap, the hours, a pause) and its end: one
// signal each, none for the short waits of spacing.
func (t *task) tellWait(ctx workflow.Context, w *pacer.Wait) {
	if !t.tellCampaign {
		return
	}
	switch {
	case w != nil && longWait(w.Kind) && t.told != w.Kind:
		t.told = w.Kind
		tellCampaign(ctx, t.campaign, RecipientWait{RecipientURN: t.recipient, Code: WaitForAccount, Kind: w.Kind,
			Reason: WaitText(t.sender, *w, workflow.Now(ctx)), Since: workflow.Now(ctx), RetryAt: w.NextAt})
	case w == nil && t.told != "":
		t.told = ""
		tellCampaign(ctx, t.campaign, RecipientWait{RecipientURN: t.recipient})
	}
}

// eventTypes are the webhook event types the run writes itself: its
// campaign's (the input), and those the AcquireSlot activity answered.
// Both come from the history; both are empty without endpoints.
func (t *task) eventTypes() []string {
	if t.req == nil || len(t.req.events) == 0 {
		return t.events
	}
	out := slices.Clone(t.events)
	for _, typ := range t.req.events {
		if !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	return out
}

// noteLimit writes account.waiting when a limit of the account (a cap,
// its hours, its pending invitations) holds a single send or a sequence's
// step: once per kind of limit, with an id of its own (a campaign's
// message tells its campaign, which writes the campaign's event).
func (t *task) noteLimit(ctx workflow.Context, w *pacer.Wait) {
	if t.tellCampaign || !accountLimit(w.Kind) || slices.Contains(t.waitedOn, w.Kind) {
		return
	}
	t.waitedOn = append(t.waitedOn, w.Kind)
	emitEvent(ctx, t.eventTypes(), webhooks.Event{Type: webhooks.AccountWaiting, Account: pacer.Or(t.sender), Campaign: t.campaign,
		Step: t.step, RecipientURN: t.recipient, Reason: WaitText(t.sender, *w, workflow.Now(ctx))}, nil, "wait-"+w.Kind)
}

// accountLimit says whether a wait's kind is a limit of the account (or
// of its campaign), which account.waiting tells; OutX's holds (the account
// paused, the invitation limit) and short waits (spacing, another action
// in flight) are not.
func accountLimit(kind string) bool {
	switch kind {
	case pacer.WaitHourlyCap, pacer.WaitDailyCap, pacer.WaitWeeklyCap, pacer.WaitWindow, pacer.WaitPendingInvitations:
		return true
	}
	return false
}

// WaitForAccount is the code of a RecipientWait that says the campaign's
// child waits for its account's pacer (a cap, the hours).
const WaitForAccount = "AccountPacer"

// sendAndConfirm sends the request (retrying, on a durable timer, only when
// OutX certainly created no task), then polls the task to its final
// status. It returns the outcome and its reason; err is set only when the
// workflow itself must stop (a timer cancelled).
func (t *task) sendAndConfirm(ctx workflow.Context) (Outcome, string, error) {
	var a *activities.Activities
	logger := workflow.GetLogger(ctx)
	res := &t.res
	tell := func(w RecipientWait) {
		if t.tellCampaign {
			tellCampaign(ctx, t.campaign, w)
		}
	}
	// Send: one request per attempt, never retried by Temporal itself, since
	// a timed-out attempt may have reached OutX.
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             t.sendSummary,
	})
	sendBy := t.sendBy
	backoff := sendBackoffMin
	storeBackoff := sendBackoffMin
	waiting := "" // the reason the campaign was last told about
	for {
		res.SendAttempts++
		var sent activities.SendResult
		err := t.send(sctx).Get(ctx, &sent)
		if err == nil {
			res.TaskID, res.QueuedAt = sent.TaskID, workflow.Now(ctx)
			if waiting != "" {
				tell(RecipientWait{RecipientURN: t.recipient})
			}
			break
		}
		typ := errorType(err)
		if !noTaskCreated(err) {
			// A timeout, a crash mid-request or an ambiguous answer: OutX
			// may have the task.
			return Unknown, "the send's outcome is unknown (" + rootMessage(err) + "); it was not retried, to avoid a duplicate " + t.noun, nil
		}
		switch typ {
		case activities.ErrExcluded:
			return Excluded, rootMessage(err), nil
		case activities.ErrContactedElsewhere:
			return Skipped, rootMessage(err), nil
		case activities.ErrContactsUnavailable:
			// No action without the store's check: wait for it, however
			// long; the time waited does not count against the send
			// deadline, which is for OutX's refusals.
			retryAt := workflow.Now(ctx).Add(storeBackoff)
			why := rootMessage(err) // "the contacts store is unavailable (...): ..."
			if !strings.HasPrefix(why, contacts.ErrUnavailable.Error()) {
				why = contacts.ErrUnavailable.Error() + " (" + why + ")"
			}
			reason := fmt.Sprintf("%s; retrying at %s", why, retryAt.UTC().Format("15:04:05 MST"))
			logger.Warn("The contacts store is unavailable; no task was created, retrying", "Error", rootMessage(err), "Backoff", storeBackoff)
			t.show(ctx, "retrying", reason, nil)
			if msg := rootMessage(err); msg != waiting {
				waiting = msg
				tell(RecipientWait{RecipientURN: t.recipient, Code: typ, Reason: why, Since: workflow.Now(ctx), RetryAt: retryAt})
			}
			if err := workflow.NewTimerWithOptions(ctx, storeBackoff, workflow.TimerOptions{
				Summary: fmt.Sprintf("the contacts store is unavailable; retry in %s", storeBackoff),
			}).Get(ctx, nil); err != nil {
				return "", "", err
			}
			sendBy = sendBy.Add(storeBackoff)
			storeBackoff = min(2*storeBackoff, sendBackoffMax)
			continue
		case activities.ErrInvalidInput:
			return Invalid, "OutX refused the request: " + rootMessage(err), nil
		case activities.ErrUnknownSender:
			res.NotSentCode = typ
			return Failed, rootMessage(err), nil
		case activities.ErrUnauthorized, activities.ErrNoAdmin:
			if t.campaign == "" {
				res.NotSentCode = typ
				return Failed, rootMessage(err), nil
			}
			// In a campaign, the campaign stops on this, and the message
			// waits, retrying, for the account to be fixed: its run id is
			// this campaign's only chance to message the person.
		}
		if !workflow.Now(ctx).Add(backoff).Before(sendBy) {
			res.NotSentCode = typ
			return Failed, fmt.Sprintf("not sent after %d attempts within %s: %s",
				res.SendAttempts, t.sendDeadline.Or(DefaultSendDeadline), rootMessage(err)), nil
		}
		switch {
		case typ == activities.ErrExtensionOffline:
			return "", "", &pushBack{pacer.PushBackOffline, rootMessage(err)}
		case typ == activities.ErrRateLimited && t.action == pacer.ActionConnect:
			return "", "", &pushBack{pacer.PushBackInvitationLimit, rootMessage(err)}
		}
		logger.Warn("Send not accepted; no task was created, retrying", "Error", rootMessage(err), "Backoff", backoff)
		retryAt := workflow.Now(ctx).Add(backoff)
		t.show(ctx, "retrying", fmt.Sprintf("OutX refused the send without creating a task (%s); retrying at %s",
			rootMessage(err), retryAt.UTC().Format("15:04:05 MST")), nil)
		if msg := rootMessage(err); msg != waiting {
			waiting = msg
			tell(RecipientWait{RecipientURN: t.recipient, Code: typ, Reason: waiting, Since: workflow.Now(ctx), RetryAt: retryAt})
		}
		if err := workflow.NewTimerWithOptions(ctx, backoff, workflow.TimerOptions{
			Summary: fmt.Sprintf("OutX refused the send (%s); retry in %s", typ, backoff),
		}).Get(ctx, nil); err != nil {
			return "", "", err
		}
		backoff = min(2*backoff, sendBackoffMax)
	}

	// Confirm: poll the task. Each attempt fails with TaskPending while the
	// task is not final, and the retry policy spaces the attempts; retries
	// add no history events however long the extension stays away. The
	// activity releases the account's slot the moment the task is final.
	t.show(ctx, "confirming", "waiting for OutX task "+res.TaskID+" to be performed", nil)
	t.progress.TaskID = res.TaskID
	pollFor := t.pollDeadline.Or(DefaultPollDeadline)
	pctx := workflow.WithActivityOptions(ctx, pollOptions(pollFor, "confirm OutX task "+res.TaskID+" (polls until delivered or failed)",
		activities.ErrUnauthorized, activities.ErrTaskNotFound))
	var status activities.PollResult
	ledgerAction := contacts.ActionMessage
	if t.action == pacer.ActionConnect {
		ledgerAction = contacts.ActionConnect
	}
	err := workflow.ExecuteActivity(pctx, a.PollStatus, activities.PollInput{
		TaskID: res.TaskID, Sender: t.sender, Slot: t.held.forActivity(t.action == pacer.ActionConnect),
		Action: ledgerAction, Step: t.step,
	}).Get(ctx, &status)
	if err != nil {
		res.Polls = pollsFromError(err)
		var timeout *temporal.TimeoutError
		if errors.As(err, &timeout) || errorType(err) == activities.ErrTaskPending {
			return Unknown, fmt.Sprintf("OutX task %s had no final status within %s; it may still be performed when the extension comes back", res.TaskID, pollFor), nil
		}
		return Unknown, "could not confirm OutX task " + res.TaskID + ": " + rootMessage(err), nil
	}
	if t.held != nil && status.Released {
		t.held.released = true
	}
	if status.Unrecorded != nil {
		if err := t.recordOutcome(ctx, *status.Unrecorded); err != nil {
			return "", "", err
		}
	}
	res.Polls = status.Polls
	res.AlreadyConnected = status.AlreadyConnected
	switch {
	case status.Sent && status.AlreadyConnected:
		return Delivered, "already a 1st-degree connection", nil
	case status.Sent:
		return Delivered, "", nil
	}
	return Failed, status.Reason, nil
}

// recordOutcome writes the task's outcome to the contacts store when
// PollStatus could not (the store was down), waiting, visibly, until the
// store takes it: the ledger loses nothing. Only then does the run end.
func (t *task) recordOutcome(ctx workflow.Context, rec activities.OutcomeRecord) error {
	var a *activities.Activities
	why := contacts.ErrUnavailable.Error() + "; the outcome of OutX task " + rec.TaskID + " waits to be recorded in it, retrying every minute at most"
	t.show(ctx, "recording", why, nil)
	if t.tellCampaign {
		tellCampaign(ctx, t.campaign, RecipientWait{RecipientURN: t.recipient, Code: activities.ErrContactsUnavailable,
			Reason: contacts.ErrUnavailable.Error(), Since: workflow.Now(ctx)})
	}
	rctx := workflow.WithActivityOptions(ctx, recordOptions("record the outcome of OutX task "+rec.TaskID+" in the contacts store (it was down)"))
	err := workflow.ExecuteActivity(rctx, a.RecordOutcome, rec).Get(ctx, nil)
	if t.tellCampaign {
		tellCampaign(ctx, t.campaign, RecipientWait{RecipientURN: t.recipient})
	}
	if err != nil {
		// A week without the store: the run ends with its outcome, and the
		// ledger row keeps its claim (the person counts as contacted).
		workflow.GetLogger(ctx).Error("The task's outcome could not be recorded in the contacts store", "TaskID", rec.TaskID, "Error", err)
	}
	return nil
}

// recordFor is how long a run waits for the contacts store to record its
// task's outcome.
const recordFor = 7 * 24 * time.Hour

// recordOptions are RecordOutcome's: retried, at most a minute apart,
// for recordFor.
func recordOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: recordFor,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: int32(recordFor/time.Minute) + 10,
		},
	}
}

// pollOptions are the options of an activity that polls an OutX task to
// its end: each attempt after the first reads the task once, spaced by the
// retry policy up to pollRetryMax, within the deadline pollFor; the error
// types given end it at once.
func pollOptions(pollFor time.Duration, summary string, final ...string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: pollFor,
		StartToCloseTimeout:    3 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    pollRetryMin,
			BackoffCoefficient: 1.5,
			MaximumInterval:    pollRetryMax,
			// The deadline ends the polling; this bound, one attempt per
			// longest interval plus the ramp-up, only keeps it finite
			// everywhere (the test environment caps "unlimited" at 10).
			MaximumAttempts:        int32(pollFor/pollRetryMax) + 20,
			NonRetryableErrorTypes: final,
		},
	}
}

// finish records how the action ended: its outcome, reason and timings,
// the Outcome search attribute, the campaign's memo; gives the account's
// slot back (counted when a task was, or may have been, created); and ends
// the run, failed when the action was not delivered, so that the Temporal
// UI shows it in red.
func (t *task) finish(ctx workflow.Context, o Outcome, reason string) (SendMessageResult, error) {
	res := &t.res
	res.Outcome, res.Reason, res.FinishedAt = o, reason, workflow.Now(ctx)
	t.held.release(ctx, pacer.Release{Counted: res.TaskID != "" || o == Unknown, End: res.FinishedAt,
		Invited: t.action == pacer.ActionConnect && o == Delivered && !res.AlreadyConnected})
	if !res.QueuedAt.IsZero() {
		res.TimeToQueue = Duration(res.QueuedAt.Sub(res.StartedAt))
		if o != Unknown {
			res.TimeToConfirm = Duration(res.FinishedAt.Sub(res.QueuedAt))
		}
	}
	t.progress.Outcome = o
	t.show(ctx, "finished", string(o)+finishText(reason), nil)
	if o == Unknown && t.errors == messageErrors {
		// A lost answer's event is the send's (the same id); a task with
		// no final status in time is known here only.
		emitEvent(ctx, t.eventTypes(), webhooks.Event{Type: webhooks.MessageUnknown, Account: pacer.Or(t.sender), Campaign: t.campaign,
			Step: t.step, RecipientURN: t.recipient, Outcome: string(Unknown), Reason: reason, TaskID: res.TaskID}, nil, t.step)
	}
	workflow.GetLogger(ctx).Info(strings.ToUpper(t.noun[:1])+t.noun[1:]+" finished", "Outcome", o, "TaskID", res.TaskID, "Reason", reason)
	if t.errors == messageErrors {
		recordMessage(ctx, *res)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeAttribute.ValueSet(string(o))); err != nil {
		return *res, err
	}
	if err := recordForReport(ctx, t.campaign, *res); err != nil {
		return *res, err
	}
	if o == Delivered {
		return *res, nil
	}
	msg := fmt.Sprintf("%s to %s %s: %s", t.noun, t.recipient, o, reason)
	return *res, temporal.NewNonRetryableApplicationError(msg, o.errorType(t.errors), nil, *res)
}

func finishText(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// holdFor bounds how long a send may hold the account's slot: its whole
// send deadline and poll deadline, and an hour more.
func holdFor(send, poll Duration) time.Duration {
	return send.Or(DefaultSendDeadline) + poll.Or(DefaultPollDeadline) + time.Hour
}
