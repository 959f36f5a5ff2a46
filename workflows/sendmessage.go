// Package workflows holds outpace's orchestration: the SendMessage and
// Campaign workflows, their inputs and results, and the names clients use to
// start and control them. Nothing here does I/O; every side effect is an
// activity in package activities.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/senders"
)

// TaskQueue is the default task queue of outpace's workers.
const TaskQueue = "outpace"

// Workflow type names, as registered by the worker and typed in the CLI.
const (
	SendMessageWorkflow = "SendMessage"
)

// Search attributes outpace sets so runs can be filtered in the Temporal UI.
var (
	CampaignIDAttribute   = temporal.NewSearchAttributeKeyKeyword("CampaignId")
	RecipientURNAttribute = temporal.NewSearchAttributeKeyKeyword("RecipientUrn")
	// OutcomeAttribute is set when a message run ends: delivered, failed,
	// unknown or invalid, so the UI filters a campaign's runs by outcome.
	OutcomeAttribute = temporal.NewSearchAttributeKeyKeyword("Outcome")
)

// SearchAttributes lists every search attribute outpace sets: the worker
// checks at start-up that the namespace has them, and the dev server, the
// demo and the compose stack register them.
var SearchAttributes = []temporal.SearchAttributeKeyKeyword{CampaignIDAttribute, RecipientURNAttribute, OutcomeAttribute}

// versionOutcomeAttribute guards the upsert of OutcomeAttribute, which runs
// started by earlier workers did not make.
const versionOutcomeAttribute = "outcome-search-attribute"

// Outcome is what became of one message.
type Outcome string

const (
	// Delivered: OutX reported the message sent.
	Delivered Outcome = "delivered"
	// Failed: certainly not sent (OutX's task failed, or OutX refused the
	// request); the reason says why.
	Failed Outcome = "failed"
	// Unknown: a task may exist but its result is not known (the answer to the
	// send was lost, or no final status came before the deadline). It is never
	// resent automatically: an operator decides.
	Unknown Outcome = "unknown"
	// Invalid: the input breaks a rule; nothing was sent.
	Invalid Outcome = "invalid"
)

// Defaults of SendMessageInput's optional settings.
const (
	DefaultSendDeadline = time.Hour
	DefaultPollDeadline = 24 * time.Hour
)

// SendMessageInput is the input of the SendMessage workflow.
type SendMessageInput struct {
	RecipientURN string `json:"recipient_urn"`
	Message      string `json:"message"`
	// SendDeadline bounds how long, from the start, sends that certainly
	// created no task (429, 403 extension offline, 503, refused connections)
	// are retried. Default 1h.
	SendDeadline Duration `json:"send_deadline,omitzero"`
	// PollDeadline bounds how long, from the task's creation, its final status
	// is awaited: long enough for an extension that is offline for hours.
	// Default 24h.
	PollDeadline Duration `json:"poll_deadline,omitzero"`

	// Sender names the OutX account (configured in the worker) the message
	// is sent from; default "default". Its pacer spaces every action of the
	// account.
	Sender string `json:"sender,omitempty"`

	// The fields below are set by a Campaign for its child runs.

	// CampaignID names the campaign this message belongs to. A campaign's
	// child reports a wait for OutX (403, 429) to its parent, so the campaign
	// shows why it is held up, and records its outcome in its memo, where the
	// campaign's report reads it.
	CampaignID string `json:"campaign_id,omitempty"`
	// Problems found before the run (a template variable missing, a bad URN
	// in a CSV row): the message is invalid and nothing is sent.
	Problems []string `json:"problems,omitempty"`
	// CampaignPacing are the campaign's own limits, which the account's
	// pacer applies to this message besides the account's (sequences).
	CampaignPacing *CampaignLimits `json:"campaign_pacing,omitempty"`
	// Step is set when a campaign's Sequence sends this message as its
	// step number Step; the run then reports to the sequence, not the
	// campaign.
	Step int `json:"step,omitempty"`

	inputErr string // a field that could not be read (input_json.go)
}

// SendMessageResult is the result of a SendMessage run. When the outcome is
// not delivered, the run fails with an ApplicationError whose details hold
// this result (see ResultFromError), so the Temporal UI shows it in red.
type SendMessageResult struct {
	Outcome      Outcome `json:"outcome"`
	RecipientURN string  `json:"recipient_urn"`
	TaskID       string  `json:"task_id,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	// NotSentCode says why OutX refused every send request when it created
	// no task: one of the activities' error types (e.g. "Unauthorized",
	// "ExtensionOffline"). A campaign acts on it: a 401 stops it.
	NotSentCode string `json:"not_sent_code,omitempty"`
	// SendAttempts counts Send Message requests: more than one only when the
	// earlier ones certainly created no task.
	SendAttempts int `json:"send_attempts"`
	// Polls counts Get Task Status requests.
	Polls      int       `json:"polls,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	QueuedAt   time.Time `json:"queued_at,omitzero"` // OutX created the task
	FinishedAt time.Time `json:"finished_at"`
	// AlreadyConnected: a connection request found the person already a
	// 1st-degree connection (counted as delivered).
	AlreadyConnected bool `json:"already_connected,omitempty"`
	// TimeToQueue is from the start to the task's creation; TimeToConfirm from
	// the task's creation to its final status.
	TimeToQueue   Duration `json:"time_to_queue,omitzero"`
	TimeToConfirm Duration `json:"time_to_confirm,omitzero"`
}

// ErrorType is the ApplicationError type of a run whose message was not
// delivered, e.g. "MessageFailed".
func (o Outcome) ErrorType() string {
	return "Message" + strings.ToUpper(string(o[:1])) + string(o[1:])
}

// ResultFromError extracts the result carried by a failed SendMessage run
// (or child run). ok is false when err is not such a failure.
func ResultFromError(err error) (res SendMessageResult, ok bool) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && strings.HasPrefix(app.Type(), "Message") && app.HasDetails() {
		if app.Details(&res) == nil && res.Outcome != "" {
			return res, true
		}
	}
	return SendMessageResult{}, false
}

// Send retries back off from sendBackoffMin, doubling to sendBackoffMax. Poll
// attempts after the first are spaced from pollRetryMin, growing to
// pollRetryMax.
const (
	sendBackoffMin = 15 * time.Second
	sendBackoffMax = 10 * time.Minute
	pollRetryMin   = 15 * time.Second
	pollRetryMax   = 5 * time.Minute
)

// SendMessage validates one message, sends it through OutX, and confirms it
// by polling the OutX task until it is final.
//
// A send is retried (on a durable timer) only when OutX certainly created no
// task; once a task id is known it is polled, never resubmitted; a send whose
// outcome is ambiguous ends the run as unknown.
func SendMessage(ctx workflow.Context, in SendMessageInput) (SendMessageResult, error) {
	var a *activities.Activities
	logger := workflow.GetLogger(ctx)
	res := SendMessageResult{RecipientURN: in.RecipientURN, StartedAt: workflow.Now(ctx)}
	var held *slot // the account's slot, once granted
	end := func(o Outcome, reason string) (SendMessageResult, error) {
		settle(ctx, &res, o, reason, held)
		logger.Info("Message finished", "Outcome", o, "TaskID", res.TaskID, "Reason", reason)
		recordMessage(ctx, res)
		if workflow.GetVersion(ctx, versionOutcomeAttribute, workflow.DefaultVersion, 1) == 1 {
			if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeAttribute.ValueSet(string(o))); err != nil {
				return res, err
			}
		}
		if err := recordForReport(ctx, in.CampaignID, res); err != nil {
			return res, err
		}
		if o == Delivered {
			return res, nil
		}
		msg := fmt.Sprintf("message to %s %s: %s", in.RecipientURN, o, reason)
		return res, temporal.NewNonRetryableApplicationError(msg, o.ErrorType(), nil, res)
	}

	// 1. Validate: nothing is sent for a bad input.
	if in.inputErr != "" {
		// Before anything else, as when the SDK refused the input itself:
		// the run's only command is its failure.
		res.Outcome, res.Reason, res.FinishedAt = Invalid, in.inputErr, res.StartedAt
		return res, temporal.NewNonRetryableApplicationError("message invalid: "+in.inputErr, Invalid.ErrorType(), nil, res)
	}
	if len(in.Problems) > 0 {
		return end(Invalid, strings.Join(in.Problems, "; "))
	}
	problems, err := check(ctx, "check the recipient and the message", a.Validate, activities.ValidateInput{
		RecipientURN: in.RecipientURN, Message: in.Message,
	})
	if err != nil {
		return res, err
	}
	if len(problems) > 0 {
		return end(Invalid, strings.Join(problems, "; "))
	}

	t := outxTask{res: &res}

	// 2. Wait for the account: every action of one LinkedIn account, from
	// every campaign and single send, goes through its pacer.
	if usesPacer(ctx) {
		req := slotRequester{sender: in.Sender, campaign: in.CampaignID, limits: in.CampaignPacing}
		s, stopped, err := req.acquire(ctx, senders.ActionMessage, in.RecipientURN, holdFor(in.SendDeadline, in.PollDeadline))
		if err != nil {
			return res, err
		}
		if stopped != "" {
			return end(Stopped, "not sent: the recipient was "+stopped)
		}
		held = s
		t.in.SendFrom = s.grantedAt
	}

	// 3. Send, then confirm.
	t.in = taskInput{RecipientURN: in.RecipientURN, CampaignID: in.CampaignID, Sender: in.Sender,
		SendDeadline: in.SendDeadline, PollDeadline: in.PollDeadline, SendFrom: t.in.SendFrom, tellCampaign: in.Step == 0}
	t.noun, t.sendSummary = "message", "queue the message with OutX (one request, never retried blindly)"
	t.send = func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(ctx, a.Send, activities.SendInput{
			RecipientURN: in.RecipientURN, Message: in.Message, Sender: in.Sender,
		})
	}
	o, reason, err := t.run(ctx)
	if err != nil { // cancelled while waiting to retry: no task was created
		held.release(ctx, false, time.Time{}, time.Time{})
		return res, err
	}
	return end(o, reason)
}

// taskInput is what sending and confirming one OutX task needs, whatever
// the action.
type taskInput struct {
	RecipientURN, CampaignID, Sender string
	SendDeadline, PollDeadline       Duration
	// SendFrom is when the send deadline starts (the slot's grant), if
	// later than the run's start.
	SendFrom time.Time
	// tellCampaign: the run is a campaign's direct child, which tells the
	// campaign why it waits (a sequence's steps do not).
	tellCampaign bool
}

// outxTask sends one OutX task and confirms it: the part SendMessage and
// SendConnectionRequest share.
type outxTask struct {
	in          taskInput
	res         *SendMessageResult
	noun        string
	sendSummary string
	send        func(ctx workflow.Context) workflow.Future
}

// run sends the request (retrying, on a durable timer, only when OutX
// certainly created no task), then polls the task to its final status. It
// returns the outcome and its reason; err is set only when the workflow
// itself must stop (a timer cancelled).
func (t *outxTask) run(ctx workflow.Context) (Outcome, string, error) {
	var a *activities.Activities
	logger := workflow.GetLogger(ctx)
	in, res := t.in, t.res
	from := res.StartedAt
	if in.SendFrom.After(from) {
		from = in.SendFrom // the send deadline counts from the account's slot
	}
	tell := func(w RecipientWait) {
		if in.tellCampaign {
			tellCampaign(ctx, in.CampaignID, w)
		}
	}
	// Send: one request per attempt, never retried by Temporal itself, since
	// a timed-out attempt may have reached OutX.
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             t.sendSummary,
	})
	sendBy := from.Add(in.SendDeadline.Or(DefaultSendDeadline))
	backoff := sendBackoffMin
	waiting := "" // the reason the campaign was last told about
	for {
		res.SendAttempts++
		var sent activities.SendResult
		err := t.send(sctx).Get(ctx, &sent)
		if err == nil {
			res.TaskID, res.QueuedAt = sent.TaskID, workflow.Now(ctx)
			if waiting != "" {
				tell(RecipientWait{RecipientURN: in.RecipientURN})
			}
			break
		}
		var app *temporal.ApplicationError
		if !errors.As(err, &app) {
			// A timeout or a crash mid-request: OutX may have the task.
			return Unknown, "the send's outcome is unknown (" + rootMessage(err) + "); it was not retried, to avoid a duplicate " + t.noun, nil
		}
		switch app.Type() {
		case activities.ErrInvalidInput:
			return Invalid, "OutX refused the request: " + app.Message(), nil
		case activities.ErrUnauthorized, activities.ErrNoAdmin:
			if in.CampaignID == "" {
				res.NotSentCode = app.Type()
				return Failed, app.Message(), nil
			}
			// In a campaign, the campaign stops on this, and the message
			// waits, retrying, for the account to be fixed: its run id is
			// this campaign's only chance to message the person.
			fallthrough
		case activities.ErrExtensionOffline, activities.ErrRateLimited, activities.ErrNotSent:
			if !workflow.Now(ctx).Add(backoff).Before(sendBy) {
				res.NotSentCode = app.Type()
				return Failed, fmt.Sprintf("not sent after %d attempts within %s: %s",
					res.SendAttempts, in.SendDeadline.Or(DefaultSendDeadline), app.Message()), nil
			}
			logger.Warn("Send not accepted; no task was created, retrying", "Error", app.Message(), "Backoff", backoff)
			if app.Message() != waiting {
				waiting = app.Message()
				tell(RecipientWait{RecipientURN: in.RecipientURN, Code: app.Type(),
					Reason: waiting, Since: workflow.Now(ctx), RetryAt: workflow.Now(ctx).Add(backoff)})
			}
			if err := workflow.NewTimerWithOptions(ctx, backoff, workflow.TimerOptions{
				Summary: fmt.Sprintf("OutX refused the send (%s); retry in %s", app.Type(), backoff),
			}).Get(ctx, nil); err != nil {
				return "", "", err
			}
			backoff = min(2*backoff, sendBackoffMax)
		default: // activities.ErrAmbiguous and anything unforeseen
			return Unknown, app.Message() + "; not retried, to avoid a duplicate " + t.noun, nil
		}
	}

	// Confirm: poll the task. Each attempt fails with TaskPending while the
	// task is not final, and the retry policy spaces the attempts; retries add
	// no history events however long the extension stays away.
	pollFor := in.PollDeadline.Or(DefaultPollDeadline)
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: pollFor,
		StartToCloseTimeout:    3 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    pollRetryMin,
			BackoffCoefficient: 1.5,
			MaximumInterval:    pollRetryMax,
			// The deadline ends the polling; this bound, one attempt per
			// longest interval plus the ramp-up, only keeps it finite
			// everywhere (the test environment caps "unlimited" at 10).
			MaximumAttempts:        int32(pollFor/pollRetryMax) + 20,
			NonRetryableErrorTypes: []string{activities.ErrUnauthorized, activities.ErrTaskNotFound},
		},
		Summary: "confirm OutX task " + res.TaskID + " (polls until delivered or failed)",
	})
	var status activities.PollResult
	err := workflow.ExecuteActivity(pctx, a.PollStatus, activities.PollInput{TaskID: res.TaskID, Sender: in.Sender}).Get(ctx, &status)
	if err != nil {
		res.Polls = pollsFromError(err)
		var app *temporal.ApplicationError
		var timeout *temporal.TimeoutError
		if errors.As(err, &timeout) || (errors.As(err, &app) && app.Type() == activities.ErrTaskPending) {
			return Unknown, fmt.Sprintf("OutX task %s had no final status within %s; it may still be performed when the extension comes back", res.TaskID, pollFor), nil
		}
		return Unknown, "could not confirm OutX task " + res.TaskID + ": " + rootMessage(err), nil
	}
	res.Polls = status.Polls
	res.AlreadyConnected = status.AlreadyConnected
	if status.Sent {
		return Delivered, "", nil
	}
	return Failed, status.Reason, nil
}

// check runs a validation as a local activity, so that its verdict is
// recorded: running workflows keep it when the rules change.
func check(ctx workflow.Context, summary string, validate, input any) ([]string, error) {
	var verdict activities.ValidateResult
	vctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		Summary:             summary,
	})
	err := workflow.ExecuteLocalActivity(vctx, validate, input).Get(ctx, &verdict)
	return verdict.Problems, err
}

// holdFor bounds how long a send may hold the account's slot: its whole
// send deadline and poll deadline, and an hour more.
func holdFor(send, poll Duration) time.Duration {
	return send.Or(DefaultSendDeadline) + poll.Or(DefaultPollDeadline) + time.Hour
}

// settle records how a task ended: its outcome, reason and timings, and
// gives the account's slot back. A task that was (or may have been)
// created counts against the account's caps, and the next gap counts from
// now.
func settle(ctx workflow.Context, res *SendMessageResult, o Outcome, reason string, held *slot) {
	res.Outcome, res.Reason, res.FinishedAt = o, reason, workflow.Now(ctx)
	held.release(ctx, res.TaskID != "" || o == Unknown, time.Time{}, res.FinishedAt)
	if !res.QueuedAt.IsZero() {
		res.TimeToQueue = Duration(res.QueuedAt.Sub(res.StartedAt))
		if o != Unknown {
			res.TimeToConfirm = Duration(res.FinishedAt.Sub(res.QueuedAt))
		}
	}
}

// recordForReport puts a campaign's run's outcome in its memo: the
// campaign's report lists outcomes from visibility, not from the campaign's
// own state, so it scales to any number of runs.
func recordForReport(ctx workflow.Context, campaignID string, res SendMessageResult) error {
	if campaignID == "" {
		return nil
	}
	return workflow.UpsertMemo(ctx, map[string]any{
		MemoOutcome: string(res.Outcome), MemoReason: res.Reason, MemoTaskID: res.TaskID,
	})
}

// Memo keys a campaign's child run sets when it ends.
const (
	MemoOutcome = "outcome"
	MemoReason  = "reason"
	MemoTaskID  = "task_id"
	MemoLine    = "line"
	// MemoRecipientURN holds the URN when the RecipientUrn search attribute
	// holds a pseudonym (a campaign with a recipient_key).
	MemoRecipientURN = "recipient_urn"
)

// RecipientWait is what a campaign's child run tells its campaign when OutX
// refuses its send without creating a task (extension offline, rate limit),
// and again, with an empty Code, when its task is finally created. The child
// retries by itself; the campaign shows the reason and holds its next send.
type RecipientWait struct {
	RecipientURN string    `json:"recipient_urn"`
	Code         string    `json:"code,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	RetryAt      time.Time `json:"retry_at,omitzero"`
}

// tellCampaign signals the parent campaign, when there is one. Failing to
// tell it only leaves its progress less precise, so errors are logged.
func tellCampaign(ctx workflow.Context, campaignID string, w RecipientWait) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if campaignID == "" || parent == nil {
		return
	}
	if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalRecipientWait, w).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not tell the campaign about the wait", "Error", err)
	}
}

// pollsFromError recovers the poll count from a failed PollStatus: the
// details of its last ApplicationError, or its last heartbeat.
func pollsFromError(err error) int {
	var p struct {
		Polls int `json:"polls"`
	}
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app) && app.HasDetails():
		_ = app.Details(&p)
	case errors.As(err, &timeout) && timeout.HasLastHeartbeatDetails():
		_ = timeout.LastHeartbeatDetails(&p)
	}
	return p.Polls
}

// rootMessage is the innermost error's text: the part a person can act on,
// without Temporal's wrapping ("activity error (type: ..., scheduledEventID...").
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			if app, ok := err.(*temporal.ApplicationError); ok {
				return app.Message() // without "(type: ..., retryable: ...)"
			}
			return err.Error()
		}
		err = next
	}
}
