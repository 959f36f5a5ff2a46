package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// AcquireSlotInput is a slot request for the account Sender's pacer.
type AcquireSlotInput struct {
	Sender string `json:"sender,omitempty"`
	// PacerID and TaskQueue are the pacer's workflow id and queue, as the
	// requesting workflow names them (default: from Sender and the
	// worker's queue).
	PacerID   string        `json:"pacer_id,omitempty"`
	TaskQueue string        `json:"task_queue,omitempty"`
	Request   pacer.Request `json:"request"`
}

// AcquireSlot asks the account's pacer for a slot with its acquire update,
// and returns the answer: granted, stopped, or waiting (the grant then comes
// by signal). It starts the pacer when none runs (update-with-start): only a
// client can do that. The update's id is the request's, so a retried attempt
// gets the same answer rather than a second slot; a sender the worker does
// not know fails at once.
func (a *Activities) AcquireSlot(ctx context.Context, in AcquireSlotInput) (pacer.Answer, error) {
	name := senders.Or(in.Sender)
	if _, err := a.client(name); err != nil {
		return pacer.Answer{}, err
	}
	if a.Temporal == nil {
		return pacer.Answer{}, temporal.NewNonRetryableApplicationError("the worker gave the activities no Temporal client", ErrInvalidInput, nil)
	}
	queue := a.TaskQueue
	if queue == "" {
		queue = activity.GetInfo(ctx).TaskQueue
	}
	id := in.PacerID
	if id == "" {
		id = pacer.WorkflowID(queue, name)
	}
	if in.TaskQueue != "" {
		queue = in.TaskQueue
	}
	update := client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateID:     in.Request.ID,
		UpdateName:   pacer.UpdateAcquire,
		Args:         []any{in.Request},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	handle, err := a.Temporal.UpdateWorkflow(ctx, update)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// The account's first action (or its pacer was cancelled): start it.
		update.WorkflowID = ""
		handle, err = a.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: a.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
				ID:                       id,
				TaskQueue:                queue,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
				StaticSummary:            "pacer of LinkedIn account " + name,
			}, pacer.WorkflowType, pacer.Input{Sender: name}),
			UpdateOptions: update,
		})
	}
	if err != nil {
		return pacer.Answer{}, fmt.Errorf("asking the pacer %s for a slot: %w", id, err)
	}
	var ans pacer.Answer
	if err := handle.Get(ctx, &ans); err != nil {
		return pacer.Answer{}, fmt.Errorf("asking the pacer %s for a slot: %w", id, err)
	}
	ans.Events = SlotEvents(a.Events, name, in.Request.Campaign, in.Request.Action)
	return ans, nil
}

// SlotEvents lists the types of the events a task run (a message, a
// connection request) writes itself that the worker's endpoints em take for
// the account sender and the campaign ("" for a single send):
// message.unknown at the poll deadline (messages only) and account.waiting.
// AcquireSlot answers them, so that the run learns them from the activity
// it runs anyway; without endpoints there are none, and the run writes no
// event and runs no local activity.
func SlotEvents(em *webhooks.Emitter, sender, campaign string, action pacer.Action) []string {
	if !em.Enabled() {
		return nil
	}
	var types []string
	switch action {
	case pacer.ActionMessage:
		types = []string{webhooks.MessageUnknown, webhooks.AccountWaiting}
	case pacer.ActionConnect:
		types = []string{webhooks.AccountWaiting}
	}
	var out []string
	for _, typ := range types {
		if len(em.Config.For(webhooks.Event{Type: typ, Account: senders.Or(sender), Campaign: campaign})) > 0 {
			out = append(out, typ)
		}
	}
	return out
}

// Slot names a granted slot, so that the activity that sees its OutX task
// end can release it at that moment.
type Slot struct {
	PacerID string    `json:"pacer_id"`
	ID      string    `json:"id"`
	Start   time.Time `json:"start,omitzero"`
	// Invite: the task is a connection request; once sent (to someone not
	// yet connected) it is pending at the pacer.
	Invite bool `json:"invite,omitempty"`
}

// release ends the slot as of end, counted (an OutX task ran); sent says
// whether the task was performed, connected whether the person already was
// a connection. It reports whether the pacer got it; when not, the
// workflow releases it itself.
func (a *Activities) release(ctx context.Context, s *Slot, end time.Time, sent, connected bool) bool {
	if s == nil || s.ID == "" || a.Temporal == nil {
		return false
	}
	rel := pacer.Release{ID: s.ID, Counted: true, Start: s.Start, End: end,
		Invited: s.Invite && sent && !connected, Connected: s.Invite && connected}
	if err := a.Temporal.SignalWorkflow(ctx, s.PacerID, "", pacer.SignalRelease, rel); err != nil {
		activity.GetLogger(ctx).Warn("Could not release the account's slot; the workflow will", "Error", err)
		return false
	}
	return true
}

// PriorRun is what an earlier run under a workflow id left: whether it is
// still open, and from its result or failure, whether it made an OutX task.
type PriorRun struct {
	Open bool `json:"open"`
	// Status is the run's close status (e.g. "Failed"), when closed.
	Status string `json:"status,omitempty"`
	// Outcome and TaskID are read from the run's result or its failure's
	// details (SendMessageResult); TaskIDs from a sequence's steps.
	Outcome string      `json:"outcome,omitempty"`
	TaskID  string      `json:"task_id,omitempty"`
	Steps   []PriorStep `json:"steps,omitempty"`
}

// PriorStep is one step of an earlier sequence run.
type PriorStep struct {
	Outcome string `json:"outcome"`
	TaskID  string `json:"task_id,omitempty"`
}

// priorResult is the part of a task or sequence run's result that says
// whether it made an OutX task (workflows.SendMessageResult,
// workflows.SequenceResult).
type priorResult struct {
	Outcome string      `json:"outcome"`
	TaskID  string      `json:"task_id"`
	Steps   []PriorStep `json:"steps"`
}

// LookUpPriorRun reads the latest run under a workflow id: a campaign asks
// it when a recipient's run id is taken, to tell a run that made no OutX
// task (the person may be tried again) from one that did or may have
// (never again). A run it cannot read counts as one that may have.
func (a *Activities) LookUpPriorRun(ctx context.Context, in RunInput) (PriorRun, error) {
	if a.Temporal == nil {
		return PriorRun{}, temporal.NewNonRetryableApplicationError("the worker gave the activities no Temporal client", ErrInvalidInput, nil)
	}
	d, err := a.Temporal.DescribeWorkflow(ctx, in.WorkflowID, "")
	if err != nil {
		return PriorRun{}, err
	}
	info := d.RawResponse.GetWorkflowExecutionInfo()
	status := info.GetStatus()
	if status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return PriorRun{Open: true}, nil
	}
	out := PriorRun{Status: status.String()}
	var res priorResult
	run := a.Temporal.GetWorkflow(ctx, in.WorkflowID, info.GetExecution().GetRunId())
	switch err := run.Get(ctx, &res); {
	case err == nil:
	default:
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.HasDetails() || app.Details(&res) != nil {
			return out, nil // cancelled, terminated, timed out: unknown
		}
	}
	out.Outcome, out.TaskID, out.Steps = res.Outcome, res.TaskID, res.Steps
	return out, nil
}

// RunInput names one workflow run.
type RunInput struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// RunOpen reports whether a workflow run is still open. The account's pacer
// asks it about a slot's holder that has held the slot long, so that a
// holder that will never release it (terminated by an operator) does not
// hold the account up until its hold ends.
func (a *Activities) RunOpen(ctx context.Context, in RunInput) (bool, error) {
	if a.Temporal == nil {
		return false, temporal.NewNonRetryableApplicationError("the worker gave the activities no Temporal client", ErrInvalidInput, nil)
	}
	d, err := a.Temporal.DescribeWorkflow(ctx, in.WorkflowID, in.RunID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, err
	}
	return d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
