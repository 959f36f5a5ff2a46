package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/senders"
)

// versionAccountPacer guards the account-wide pacer: runs started before it
// sent without asking the account's pacer for a slot.
const versionAccountPacer = "account-pacer"

// usesPacer says whether this run asks the account's pacer before each
// LinkedIn action (every run started since the pacer exists).
func usesPacer(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, versionAccountPacer, workflow.DefaultVersion, 1) == 1
}

// slotRequester asks a sender's pacer for slots on behalf of one workflow
// run. Its counter makes each request's id unique within the run.
type slotRequester struct {
	sender   string
	campaign string
	limits   *CampaignLimits
	n        int
}

// slot is a granted right to run one OutX task.
type slot struct {
	id        string
	pacerID   string
	grantedAt time.Time
}

// acquire waits for the account's pacer to grant a slot for one action on
// recipient. stopped is set, and no slot is held, when the recipient was
// stopped. A request whose requester is cancelled while it waits is
// withdrawn.
func (r *slotRequester) acquire(ctx workflow.Context, action senders.Action, recipient string, hold time.Duration) (s *slot, stopped string, err error) {
	info := workflow.GetInfo(ctx)
	r.n++
	req := SlotRequest{
		ID:         fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.RunID, action, r.n),
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Action: action, Campaign: r.campaign, Recipient: recipient,
		CampaignPacing: r.limits, Hold: Duration(hold), At: workflow.Now(ctx),
	}
	pacerID := senders.PacerWorkflowID(info.TaskQueueName, r.sender)
	granted := workflow.GetSignalChannel(ctx, senders.SignalGranted)
	// The pacer is almost always running: signal it directly, and wait for
	// the grant and the signal's fate at once. Only when the signal fails
	// (the account's first action ever, or the pacer was terminated) does
	// an activity start the pacer with signal-with-start, which workflow
	// code cannot do.
	var signalled workflow.Future = workflow.SignalExternalWorkflow(ctx, pacerID, "", senders.SignalAcquire, req)
	startPacer := func() error {
		raw, err := json.Marshal(req)
		if err != nil {
			return err
		}
		var a *activities.Activities
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute,
				NonRetryableErrorTypes: []string{activities.ErrUnknownSender}},
			Summary: fmt.Sprintf("start account %s's pacer and ask it for a %s slot", senders.Or(r.sender), action),
		})
		return workflow.ExecuteActivity(actx, a.RequestSlot, activities.RequestSlotInput{
			Sender: senders.Or(r.sender), PacerID: pacerID, TaskQueue: info.TaskQueueName, Request: raw,
		}).Get(ctx, nil)
	}
	for {
		var g SlotGrant
		cancelled, signalFailed := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(granted, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, &g) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
		if signalled != nil {
			sel.AddFuture(signalled, func(f workflow.Future) {
				signalFailed = f.Get(ctx, nil) != nil
				signalled = nil
			})
		}
		sel.Select(ctx)
		if signalFailed {
			if err := startPacer(); err != nil {
				return nil, "", err
			}
			continue
		}
		if g.ID == "" && !cancelled {
			continue // the signal was delivered; the grant is still to come
		}
		if cancelled {
			(&slot{id: req.ID, pacerID: pacerID}).release(ctx, false, time.Time{}, time.Time{})
			return nil, "", temporal.NewCanceledError()
		}
		if g.ID != req.ID {
			// A grant for an earlier request of this run (withdrawn, or
			// answered twice): give it back, or the account would wait
			// for it until its hold ends.
			if g.Stopped == "" {
				(&slot{id: g.ID, pacerID: pacerID}).release(ctx, false, time.Time{}, time.Time{})
			}
			continue
		}
		if g.Stopped != "" {
			return nil, g.Stopped, nil
		}
		return &slot{id: req.ID, pacerID: pacerID, grantedAt: workflow.Now(ctx)}, "", nil
	}
}

// release gives the slot back. counted says an OutX task was (or may have
// been) created: the action then counts against the caps, and the next gap
// starts at end. It runs even when the caller is being cancelled.
func (s *slot) release(ctx workflow.Context, counted bool, start, end time.Time) {
	if s == nil {
		return
	}
	rel := SlotRelease{ID: s.id, Counted: counted, Start: start, End: end}
	if counted && rel.Start.IsZero() {
		rel.Start = s.grantedAt
	}
	if counted && rel.End.IsZero() {
		rel.End = workflow.Now(ctx)
	}
	// Waited for: the server drops a signal whose sender has closed by the
	// time it is delivered, and a run often ends right after releasing.
	// Should the signal fail, the pacer takes the slot back when its hold
	// ends.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := workflow.SignalExternalWorkflow(dctx, s.pacerID, "", senders.SignalRelease, rel).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not release the account's slot; the pacer takes it back when its hold ends", "Error", err)
	}
}
