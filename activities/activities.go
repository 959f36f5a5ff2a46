// Package activities holds outpace's side effects: every call to OutX happens
// here, in methods of Activities, which holds the OutX client and the polling
// cadence. Workflows refer to these methods through a typed nil pointer.
//
// Activities report failures as non-retryable temporal ApplicationErrors whose
// Type (the Err* constants) tells the workflow what the failure means; the
// workflow, not Temporal's retry policy, decides whether to try again, because
// a retried send can message a person twice.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// Error types of the ApplicationErrors the activities return.
const (
	// ErrInvalidInput: OutX refused the request's fields (400). Sending the
	// same input again cannot succeed.
	ErrInvalidInput = "InvalidInput"
	// ErrUnauthorized: the API key is missing or wrong (401). Nothing that uses
	// this key can succeed until it is fixed.
	ErrUnauthorized = "Unauthorized"
	// ErrNoAdmin: the OutX team has no admin member to send from (404).
	ErrNoAdmin = "NoAdmin"
	// ErrExtensionOffline: no OutX browser extension was active in the last
	// 48 hours (403). No task was created; waiting for it to return is right.
	ErrExtensionOffline = "ExtensionOffline"
	// ErrRateLimited: OutX answered 429. No task was created.
	ErrRateLimited = "RateLimited"
	// ErrNotSent: the request certainly created no task (the connection was
	// refused, OutX answered 503...). Sending again is safe.
	ErrNotSent = "NotSent"
	// ErrAmbiguous: the request may have created a task whose id we do not
	// know. Sending again could message the person twice.
	ErrAmbiguous = "Ambiguous"
	// ErrTaskNotFound: OutX does not know the task id (404).
	ErrTaskNotFound = "TaskNotFound"
	// ErrTaskPending: the task has no final status yet. Retryable: Temporal's
	// retry policy schedules the next poll.
	ErrTaskPending = "TaskPending"
	// ErrUnknownSender: the workflow names a sender account this worker has
	// no key for. Fixing it takes the worker's configuration, not a retry.
	ErrUnknownSender = "UnknownSender"
	// ErrConnectionsUnreadable: a Fetch Connections task finished without a
	// list outpace can read, so whether the person accepted is not known.
	ErrConnectionsUnreadable = "ConnectionsUnreadable"
)

// Activities performs outpace's OutX calls, each with the client of the
// sender account the workflow names.
type Activities struct {
	// OutX is the Default sender's client, used when Accounts has none.
	OutX *outx.Client
	// Accounts are the named senders' clients (see Clients).
	Accounts map[string]*outx.Client
	// Senders are the worker's accounts, for their limits (SenderLimits).
	// An account in Accounts but not here has the default limits.
	Senders senders.Config
	// Temporal and TaskQueue are the worker's: RequestSlot starts an
	// account's pacer through them, on that queue (default: the queue of
	// the RequestSlot activity itself).
	Temporal  client.Client
	TaskQueue string
	// PollInterval is the time between status reads while a poll attempt
	// lasts. Default 5s, OutX's recommendation.
	PollInterval time.Duration
	// PollBurst is how long the first poll attempt keeps reading a task's
	// status, which covers a task performed within minutes. Later attempts
	// read once each and are spaced by the workflow's retry policy, so a task
	// pending for hours holds no worker slot and adds no history. Default 2m.
	PollBurst time.Duration
	// Contacts is the ledger of people: a message or connection request is
	// claimed there before its request (the do-not-contact list, the
	// campaign's contact policy) and finished when its task is; look-ups
	// and connection checks are recorded. The worker always sets it; nil
	// (tests that do not care) keeps no ledger.
	Contacts contacts.Store
	// Events are the worker's webhooks (nil or without endpoints: none):
	// SenderLimits tells a campaign which events to write.
	Events *webhooks.Emitter
}

// SendInput is a validated message to queue with OutX from the account
// Sender ("" is senders.Default).
type SendInput struct {
	Sender       string `json:"sender,omitempty"`
	RecipientURN string `json:"recipient_urn"`
	Message      string `json:"message"`
	// Ledger: the campaign, step, profile slug and contact policy the
	// contacts store's claim records and applies.
	Ledger
}

// SendResult identifies the OutX task that will perform the send.
type SendResult struct {
	TaskID string `json:"task_id"`
}

// Send makes exactly one Send Message request, once the contacts store
// granted the claim on the person (ErrExcluded, ErrContactedElsewhere,
// ErrContactsUnavailable otherwise). Its errors say whether a task may have
// been created (ErrAmbiguous) or certainly was not (every other type).
func (a *Activities) Send(ctx context.Context, in SendInput) (SendResult, error) {
	c, err := a.client(in.Sender)
	if err != nil {
		return SendResult{}, err
	}
	if err := a.claim(ctx, contacts.ActionMessage, in.Sender, in.RecipientURN, in.Ledger); err != nil {
		return SendResult{}, err
	}
	start := time.Now()
	created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: in.RecipientURN, Message: in.Message})
	recordSendLatency(ctx, time.Since(start))
	if err != nil {
		a.finishNoTask(ctx, contacts.ActionMessage, in.Step, notSentOutcome(err), err)
		return SendResult{}, sendError(err)
	}
	activity.GetLogger(ctx).Info("OutX task created", "TaskID", created.TaskID, "RecipientURN", in.RecipientURN)
	return SendResult{TaskID: created.TaskID}, nil
}

// sendError turns an OutX error into the ApplicationError type the workflow
// acts on. The order matters: only answers that certainly created no task may
// become anything but ErrAmbiguous.
func sendError(err error) error {
	typ := ErrAmbiguous
	if outx.NoTaskCreated(err) {
		switch {
		case errors.Is(err, outx.ErrBadRequest):
			typ = ErrInvalidInput
		case errors.Is(err, outx.ErrUnauthorized):
			typ = ErrUnauthorized
		case errors.Is(err, outx.ErrNoAdmin):
			typ = ErrNoAdmin
		case errors.Is(err, outx.ErrExtensionOffline):
			typ = ErrExtensionOffline
		case errors.Is(err, outx.ErrRateLimited):
			typ = ErrRateLimited
		default:
			typ = ErrNotSent
		}
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, nil)
}

// notSentOutcome is the ledger's outcome of a request that failed: "unknown"
// when it may have created a task (the claim then stays a contact),
// "not_sent" when it certainly did not (the claim is freed).
func notSentOutcome(err error) string {
	if outx.NoTaskCreated(err) {
		return "not_sent"
	}
	return "unknown"
}

// PollInput names the OutX task to watch, and the account that created it
// (OutX knows a task only under its own team's key).
type PollInput struct {
	Sender string `json:"sender,omitempty"`
	TaskID string `json:"task_id"`
	// Action and Step name the contacts store's row of the task (claimed
	// by the send), finished when the task is final; no Action: none.
	Action contacts.Action `json:"action,omitempty"`
	Step   string          `json:"step,omitempty"`
	// Slot, when set, is released as soon as the task is final, so the
	// account's next gap counts from that moment (Released tells).
	Slot *Slot `json:"slot,omitempty"`
}

// PollResult is a task's final status.
type PollResult struct {
	Status outx.TaskStatus `json:"status"`
	// Sent is true when OutX performed the action (completed, sent: true),
	// or when a connection request found the person already connected.
	Sent bool `json:"sent"`
	// AlreadyConnected: a connection-request task sent no invitation
	// because the person already is a 1st-degree connection.
	AlreadyConnected bool `json:"already_connected,omitempty"`
	// Reason is OutX's explanation when the task finished without sending.
	Reason string `json:"reason,omitempty"`
	// Polls is the number of status reads over every attempt.
	Polls int `json:"polls"`
	// Released: the input's slot was released when the task ended.
	Released bool `json:"released,omitempty"`
	// Unrecorded is the task's outcome when the contacts store could not
	// record it: the workflow records it with RecordOutcome once the store
	// is back (the claim already counts the person as contacted).
	Unrecorded *OutcomeRecord `json:"unrecorded,omitempty"`
}

// pollProgress is carried from attempt to attempt in heartbeat details.
type pollProgress struct {
	Polls int `json:"polls"`
}

// PollStatus reads a task's status until it is final. The first attempt polls
// every PollInterval for up to PollBurst, heartbeating; every later attempt
// reads once. While the task is pending an attempt fails with the retryable
// ErrTaskPending, and the workflow's retry policy (with a schedule-to-close
// deadline) spaces the next attempt. Retries add no history events, so the
// history of a task polled for a day is as long as one polled once.
func (a *Activities) PollStatus(ctx context.Context, in PollInput) (PollResult, error) {
	c, err := a.client(in.Sender)
	if err != nil {
		return PollResult{}, err
	}
	info := activity.GetInfo(ctx)
	var progress pollProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &progress)
	}
	interval, stopAt := a.pollAttempt(info)
	began := time.Now()

	var last string
	for {
		task, err := c.GetTaskStatus(ctx, in.TaskID)
		progress.Polls++
		switch {
		case err == nil && task.Finished():
			res := PollResult{Status: task.Status, Sent: task.Sent() || task.AlreadyConnected(),
				AlreadyConnected: task.AlreadyConnected(), Polls: progress.Polls}
			recordPolls(ctx, progress.Polls)
			if !res.Sent {
				res.Reason = task.FailureReason()
			}
			// The ledger's outcome. A store that is down does not hold the
			// task's end (and the account's slot): the workflow records
			// the outcome once the store is back, and says it waits.
			rec := pollLedgerResult(in, res)
			fctx, cancel := context.WithTimeout(ctx, finishTimeout)
			err := a.finish(fctx, rec)
			cancel()
			if err != nil {
				activity.GetLogger(ctx).Warn("Could not record the task's outcome in the contacts store; the workflow will", "Error", err, "TaskID", in.TaskID)
				res.Unrecorded = &OutcomeRecord{Action: rec.Action, Step: rec.Step, TaskID: rec.TaskID, Outcome: rec.Outcome, Reason: rec.Reason, At: time.Now().UTC()}
			}
			res.Released = a.release(ctx, in.Slot, time.Now(), res.Sent, res.AlreadyConnected)
			return res, nil
		case err == nil:
			last = "status " + string(task.Status)
		case errors.Is(err, outx.ErrUnauthorized):
			return PollResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrUnauthorized, nil, progress)
		case errors.Is(err, outx.ErrTaskNotFound), errors.Is(err, outx.ErrBadRequest):
			return PollResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTaskNotFound, nil, progress)
		default:
			// 403, 429, 5xx and network failures: reading again is always safe.
			last = err.Error()
		}
		// A task performed within seconds needs no heartbeat (each that
		// reaches the server is billed): beat only once the attempt has
		// lasted, well inside its heartbeat timeout.
		if time.Since(began) >= heartbeatAfter {
			activity.RecordHeartbeat(ctx, progress)
		}

		if !time.Now().Add(interval).Before(stopAt) {
			// The next attempt carries on the count.
			activity.RecordHeartbeat(ctx, progress)
			return PollResult{}, temporal.NewApplicationError(
				fmt.Sprintf("task %s not finished after %d polls (last: %s)", in.TaskID, progress.Polls, last),
				ErrTaskPending, progress)
		}
		select {
		case <-ctx.Done():
			return PollResult{}, ctx.Err()
		case <-activity.GetWorkerStopChannel(ctx):
			// Hand the task to the next attempt, on this worker's successor.
			return PollResult{}, temporal.NewApplicationError("worker stopping after "+fmt.Sprint(progress.Polls)+" polls", ErrTaskPending, progress)
		case <-time.After(interval):
		}
	}
}

// OutcomeRecord is a final task's outcome for the contacts store's ledger
// row of the run that took it.
type OutcomeRecord struct {
	Action  contacts.Action `json:"action"`
	Step    string          `json:"step,omitempty"`
	TaskID  string          `json:"task_id,omitempty"`
	Outcome string          `json:"outcome"`
	Reason  string          `json:"reason,omitempty"`
	At      time.Time       `json:"at"`
	// Sender, RecipientURN and CampaignID are set for a read (a
	// connection check) whose claim the store could not take either:
	// RecordOutcome claims its row first (a read's claim only records it).
	Sender       string `json:"sender,omitempty"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	CampaignID   string `json:"campaign_id,omitempty"`
}

// finishTimeout bounds one write of an outcome to the contacts store.
const finishTimeout = 10 * time.Second

// RecordOutcome writes an outcome that PollStatus or CheckConnection could
// not (the store was down), and so its event: it fails, retryably, with
// ErrContactsUnavailable until the store takes it. Writing it again is
// harmless: the claim of a read, the outcome and the event are each
// written once.
func (a *Activities) RecordOutcome(ctx context.Context, in OutcomeRecord) error {
	fctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	if a.Contacts != nil && in.Action != "" && !in.Action.Contacting() {
		info := activity.GetInfo(ctx)
		if _, err := a.Contacts.Claim(fctx, contacts.Claim{Account: senders.Or(in.Sender), RecipientURN: in.RecipientURN,
			Action: in.Action, CampaignID: in.CampaignID, Step: in.Step,
			WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, At: in.At}); err != nil {
			return unavailable(err, true)
		}
	}
	err := a.finish(fctx, contacts.Result{Action: in.Action, Step: in.Step, TaskID: in.TaskID, Outcome: in.Outcome, Reason: in.Reason, At: in.At})
	if err != nil {
		return unavailable(err, true)
	}
	return nil
}

// pollLedgerResult is the contacts store's record of a final task.
func pollLedgerResult(in PollInput, res PollResult) contacts.Result {
	r := contacts.Result{Action: in.Action, Step: in.Step, TaskID: in.TaskID, Outcome: "failed", Reason: res.Reason}
	switch {
	case res.Sent && res.AlreadyConnected:
		r.Outcome, r.Reason = "delivered", "already a 1st-degree connection"
	case res.Sent:
		r.Outcome = "delivered"
	}
	return r
}

// heartbeatAfter is how long a poll attempt runs before it heartbeats;
// the workflows give it a heartbeat timeout of a minute.
const heartbeatAfter = 20 * time.Second

// pollAttempt is how often an attempt reads a task's status, and until
// when: the first attempt keeps reading for PollBurst, later ones read once,
// and each leaves before Temporal would time it out.
func (a *Activities) pollAttempt(info activity.Info) (interval time.Duration, stopAt time.Time) {
	interval = orDefault(a.PollInterval, 5*time.Second)
	stopAt = time.Now()
	if info.Attempt == 1 {
		stopAt = stopAt.Add(orDefault(a.PollBurst, 2*time.Minute))
	}
	if !info.Deadline.IsZero() && info.Deadline.Add(-interval).Before(stopAt) {
		stopAt = info.Deadline.Add(-interval)
	}
	return interval, stopAt
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
