// Package workflows holds outpace's orchestration: the SendMessage and
// Campaign workflows, their inputs and results, and the names clients use to
// start and control them. Nothing here does I/O; every side effect is an
// activity in package activities.
package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
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
	// StepName names the step in the contacts store's ledger ("2-message").
	StepName string `json:"step_name,omitempty"`
	// ProfileSlug is the recipient's profile slug when the campaign knows
	// it (it looked the URN up): the do-not-contact list may name them by it.
	ProfileSlug string `json:"profile_slug,omitempty"`
	// ContactPolicy is the campaign's (see CampaignInput), applied by the
	// contacts store's claim before the send.
	ContactPolicy *ContactPolicy `json:"contact_policy,omitempty"`
	// Events are the webhook event types the worker's endpoints take for
	// the campaign (see emitEvent): a campaign's message writes its
	// message.unknown itself when its task had no final status in time.
	Events []string `json:"events,omitempty"`

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

// Send retries back off from sendBackoffMin, doubling to sendBackoffMax. Poll
// attempts after the first are spaced from pollRetryMin, growing to
// pollRetryMax.
const (
	sendBackoffMin = 15 * time.Second
	sendBackoffMax = 10 * time.Minute
	pollRetryMin   = 15 * time.Second
	pollRetryMax   = 5 * time.Minute
)

// SendMessage validates one message, waits for its account's pacer, sends
// it through OutX, and confirms it by polling the OutX task until it is
// final.
//
// A send is retried (on a durable timer) only when OutX certainly created no
// task; once a task id is known it is polled, never resubmitted; a send whose
// outcome is ambiguous ends the run as unknown.
func SendMessage(ctx workflow.Context, in SendMessageInput) (SendMessageResult, error) {
	// A field that could not be read: the run's only command is its
	// failure, as when the SDK refused the input itself.
	if in.inputErr != "" {
		now := workflow.Now(ctx)
		res := SendMessageResult{RecipientURN: in.RecipientURN, Outcome: Invalid, Reason: in.inputErr, StartedAt: now, FinishedAt: now}
		return res, temporal.NewNonRetryableApplicationError("message invalid: "+in.inputErr, Invalid.ErrorType(), nil, res)
	}
	var a *activities.Activities
	t, err := newTask(ctx, taskSpec{
		noun: "message", errors: messageErrors, action: pacer.ActionMessage,
		recipient: in.RecipientURN, campaign: in.CampaignID, sender: in.Sender, limits: in.CampaignPacing,
		sendDeadline: in.SendDeadline, pollDeadline: in.PollDeadline, tellCampaign: in.Step == 0 && in.CampaignID != "",
		sendSummary: "queue the message with OutX (one request, never retried blindly)",
		step:        in.StepName, events: in.Events,
		send: func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(ctx, a.Send, activities.SendInput{
				RecipientURN: in.RecipientURN, Message: in.Message, Sender: in.Sender,
				Ledger: ledger(in.CampaignID, in.StepName, in.ProfileSlug, in.ContactPolicy),
			})
		},
	})
	if err != nil {
		return SendMessageResult{}, err
	}
	// Validate: nothing is sent for a bad input. The rules are pure code:
	// a change to them that alters a verdict needs a workflow.GetVersion.
	if len(in.Problems) > 0 {
		return t.finish(ctx, Invalid, strings.Join(in.Problems, "; "))
	}
	p := problemsOf(outx.ValidateSendMessage(outx.SendMessageRequest{RecipientURN: in.RecipientURN, Message: in.Message}))
	if _, err := in.ContactPolicy.Policy(); err != nil {
		p = append(p, problemsOf(err)...)
	}
	if len(p) > 0 {
		return t.finish(ctx, Invalid, strings.Join(p, "; "))
	}
	return t.run(ctx)
}

// ledger is what the Send activities tell the contacts store besides the
// person: the campaign, the step, the profile slug, the contact policy.
func ledger(campaignID, step, slug string, policy *ContactPolicy) activities.Ledger {
	return activities.Ledger{CampaignID: campaignID, Step: step, ProfileSlug: slug, Policy: policy.ForActivity()}
}

// recordForReport puts a campaign's run's outcome in its memo: the
// campaign's report lists outcomes from visibility, not from the campaign's
// own state, so it scales to any number of runs. A delivered message needs
// no memo (each upsert is a billable action): its run completed, and its
// Outcome search attribute says delivered; the report reads those.
func recordForReport(ctx workflow.Context, campaignID string, res SendMessageResult) error {
	if campaignID == "" || res.Outcome == Delivered {
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
	RecipientURN string `json:"recipient_urn"`
	// Code is the activity error type of OutX's refusal, or WaitForAccount
	// (Kind then names the account's limit, a pacer.Wait* kind).
	Code    string    `json:"code,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	RetryAt time.Time `json:"retry_at,omitzero"`
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
