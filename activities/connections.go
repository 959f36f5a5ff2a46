package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
)

// SendConnectionInput is a validated connection request to queue with OutX
// from the account Sender ("" is senders.Default).
type SendConnectionInput struct {
	Sender     string `json:"sender,omitempty"`
	ProfileURN string `json:"profile_urn"`
	Note       string `json:"note,omitempty"`
	// Ledger: as SendInput's.
	Ledger
}

// SendConnection makes exactly one Send Connection Request request. As with
// Send, a retried request could invite the person twice, so its errors say
// whether a task may have been created (ErrAmbiguous) or certainly was not
// (every other type); its task is then watched with PollStatus, whose
// result is Sent also when the person was already connected.
func (a *Activities) SendConnection(ctx context.Context, in SendConnectionInput) (SendResult, error) {
	c, err := a.client(in.Sender)
	if err != nil {
		return SendResult{}, err
	}
	if err := a.claim(ctx, contacts.ActionConnect, in.Sender, in.ProfileURN, in.Ledger); err != nil {
		return SendResult{}, err
	}
	created, err := c.SendConnectionRequest(ctx, outx.SendConnectionRequestBody{ProfileURN: in.ProfileURN, Note: in.Note})
	if err != nil {
		a.finishNoTask(ctx, contacts.ActionConnect, in.Step, notSentOutcome(err), err)
		return SendResult{}, sendError(err)
	}
	activity.GetLogger(ctx).Info("OutX connection request task created", "TaskID", created.TaskID, "ProfileURN", in.ProfileURN)
	return SendResult{TaskID: created.TaskID}, nil
}

// CheckConnectionInput asks whether a person is a 1st-degree connection of
// the account Sender.
type CheckConnectionInput struct {
	Sender     string `json:"sender,omitempty"`
	ProfileURN string `json:"profile_urn"`
	// CampaignID and Step are recorded with the check in the contacts
	// store.
	CampaignID string `json:"campaign_id,omitempty"`
	Step       string `json:"step,omitempty"`
}

// CheckConnectionResult says whether the person is among the account's
// connections, as read by the Fetch Connections task TaskID.
type CheckConnectionResult struct {
	Connected bool   `json:"connected"`
	TaskID    string `json:"task_id"`
	Polls     int    `json:"polls"`
	// Unrecorded is the check's record when it found the person connected
	// but the contacts store could not take it (and so neither the
	// connection.accepted event it carries): the workflow records it with
	// RecordOutcome once the store is back, so that the event is not lost.
	Unrecorded *OutcomeRecord `json:"unrecorded,omitempty"`
}

// CheckConnection reads the account's connections with OutX's Fetch
// Connections and looks for the person in them. Like LookupProfile it
// creates one task, heartbeats its id so that a retried attempt polls it
// rather than creating another, and treats an ambiguous creation as
// retryable: a repeated read invites nobody.
//
// A task that finished without a list outpace can read fails with
// ErrConnectionsUnreadable rather than answering "not connected", which
// would be a guess.
func (a *Activities) CheckConnection(ctx context.Context, in CheckConnectionInput) (CheckConnectionResult, error) {
	c, err := a.client(in.Sender)
	if err != nil {
		return CheckConnectionResult{}, err
	}
	task, p, err := a.readTask(ctx, c, "fetch-connections", func() (outx.TaskCreated, error) {
		return c.FetchConnections(ctx)
	})
	if err != nil {
		return CheckConnectionResult{}, err
	}
	l := Ledger{CampaignID: in.CampaignID, Step: in.Step}
	urns, ok := task.Connections()
	if !ok {
		msg := fmt.Sprintf("fetch-connections task %s ended %s without a list of connections (%s)", p.TaskID, task.Status, task.FailureReason())
		_ = a.recordRead(ctx, contacts.ActionCheck, in.Sender, in.ProfileURN, "", l, p.TaskID, "failed", msg)
		return CheckConnectionResult{}, temporal.NewNonRetryableApplicationError(msg, ErrConnectionsUnreadable, nil)
	}
	connected := slices.Contains(urns, in.ProfileURN)
	seen := "not connected yet"
	if connected {
		seen = "connected"
	}
	res := CheckConnectionResult{Connected: connected, TaskID: p.TaskID, Polls: p.Polls}
	if err := a.recordRead(ctx, contacts.ActionCheck, in.Sender, in.ProfileURN, "", l, p.TaskID, "delivered", seen); err != nil && connected {
		// "Not connected yet" is only a record; "connected" is an event.
		res.Unrecorded = &OutcomeRecord{Action: contacts.ActionCheck, Step: in.Step, TaskID: p.TaskID, Outcome: "delivered", Reason: seen,
			At: time.Now().UTC(), Sender: in.Sender, RecipientURN: in.ProfileURN, CampaignID: in.CampaignID}
	}
	return res, nil
}

// readProgress survives a retried read (look-up, connections), so that a
// retry polls the task already created instead of creating another.
type readProgress struct {
	TaskID string `json:"task_id"`
	Polls  int    `json:"polls"`
}

// readTask creates a read-only OutX task with create (unless an earlier
// attempt did) and polls it until it is finished. Like PollStatus, the first
// attempt polls every PollInterval for up to PollBurst; later attempts read
// once and fail with the retryable ErrTaskPending, so that the retry policy
// spaces them.
func (a *Activities) readTask(ctx context.Context, c *outx.Client, what string, create func() (outx.TaskCreated, error)) (outx.Task, readProgress, error) {
	var p readProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &p)
	}
	if p.TaskID == "" {
		created, err := create()
		if err != nil {
			if !outx.NoTaskCreated(err) {
				return outx.Task{}, p, temporal.NewApplicationError(err.Error(), ErrAmbiguous) // retryable: a read
			}
			return outx.Task{}, p, sendError(err)
		}
		p.TaskID = created.TaskID
		activity.RecordHeartbeat(ctx, p)
	}
	interval, stopAt := a.pollAttempt(activity.GetInfo(ctx))
	var last string
	for {
		task, err := c.GetTaskStatus(ctx, p.TaskID)
		p.Polls++
		switch {
		case err == nil && task.Finished():
			recordPolls(ctx, p.Polls)
			return task, p, nil
		case err == nil:
			last = "status " + string(task.Status)
		case errors.Is(err, outx.ErrUnauthorized):
			return outx.Task{}, p, temporal.NewNonRetryableApplicationError(err.Error(), ErrUnauthorized, nil)
		case errors.Is(err, outx.ErrTaskNotFound):
			return outx.Task{}, p, temporal.NewNonRetryableApplicationError(err.Error(), ErrTaskNotFound, nil)
		default:
			last = err.Error() // 403, 429, 5xx, network: reading again is safe
		}
		activity.RecordHeartbeat(ctx, p)
		if !time.Now().Add(interval).Before(stopAt) {
			return outx.Task{}, p, temporal.NewApplicationError(
				fmt.Sprintf("%s task %s not finished after %d polls (last: %s)", what, p.TaskID, p.Polls, last), ErrTaskPending, p)
		}
		select {
		case <-ctx.Done():
			return outx.Task{}, p, ctx.Err()
		case <-activity.GetWorkerStopChannel(ctx):
			return outx.Task{}, p, temporal.NewApplicationError("worker stopping", ErrTaskPending, p)
		case <-time.After(interval):
		}
	}
}
