package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
)

// slotLinger is how long a requester lets its acquire update wait for a
// grant that is near (the end of a task in flight, a short gap), so that
// the common case needs no grant signal. It is short: should the worker
// running the acquire activity die meanwhile, the account's slot waits for
// the activity's retry, which comes after slotLinger and a minute.
const slotLinger = time.Minute

// slotRequester asks a sender's pacer for slots on behalf of one workflow
// run. Its counter makes each request's id unique within the run.
type slotRequester struct {
	sender   string
	campaign string
	limits   *CampaignLimits
	n        int
	// onWait is told why the run waits for its slot, each time that
	// changes, and nil once the wait is over: the caller shows it where a
	// person looks.
	onWait func(*pacer.Wait)
	// events are the types of the events a task run writes itself that
	// the worker's endpoints take, as the AcquireSlot activity answered
	// them (pacer.Answer.Events): from the history, so a replay sees the
	// same.
	events []string
}

// slot is a granted right to run one OutX task.
type slot struct {
	id        string
	pacerID   string
	grantedAt time.Time
	// released: an activity released it when its task ended.
	released bool
}

// acquire waits for the account's pacer to grant a slot for one action on
// recipient. stopped is set, and no slot is held, when the recipient (or
// the campaign) was stopped. A request whose requester is cancelled while
// it waits is withdrawn.
func (r *slotRequester) acquire(ctx workflow.Context, action pacer.Action, recipient string, hold time.Duration) (s *slot, stopped string, err error) {
	info := workflow.GetInfo(ctx)
	r.n++
	req := pacer.Request{
		ID:         fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.RunID, action, r.n),
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Action: action, Campaign: r.campaign, Recipient: recipient,
		CampaignPacing: r.limits, Hold: Duration(hold), At: workflow.Now(ctx), Linger: Duration(slotLinger),
	}
	pacerID := pacer.WorkflowID(info.TaskQueueName, r.sender)
	withdraw := func() error {
		(&slot{id: req.ID, pacerID: pacerID}).release(ctx, pacer.Release{})
		return temporal.NewCanceledError()
	}

	// Ask with the pacer's update, from an activity: it may start the
	// pacer, which workflow code cannot, and it gets an answer at once.
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: slotLinger + time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrUnknownSender}},
		Summary: fmt.Sprintf("ask account %s's pacer for a %s slot", pacer.Or(r.sender), action),
	})
	var ans pacer.Answer
	if err := workflow.ExecuteActivity(actx, a.AcquireSlot, activities.AcquireSlotInput{
		Sender: pacer.Or(r.sender), PacerID: pacerID, TaskQueue: info.TaskQueueName, Request: req,
	}).Get(ctx, &ans); err != nil {
		if ctx.Err() != nil {
			return nil, "", withdraw()
		}
		return nil, "", err
	}
	for _, typ := range ans.Events {
		if !slices.Contains(r.events, typ) {
			r.events = append(r.events, typ)
		}
	}
	switch {
	case ans.Stopped != "":
		return nil, ans.Stopped, nil
	case ans.Granted:
		return &slot{id: req.ID, pacerID: pacerID, grantedAt: or(ans.GrantedAt, workflow.Now(ctx))}, "", nil
	}
	r.tell(ans.Waiting)

	// Waiting: the grant, or a notice of a new reason, comes by signal.
	granted := workflow.GetSignalChannel(ctx, pacer.SignalGranted)
	for {
		var g pacer.Grant
		cancelled := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(granted, func(ch workflow.ReceiveChannel, _ bool) {
			var v pacer.Grant // fresh for each signal: no field carries over
			ch.Receive(ctx, &v)
			g = v
		})
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
		sel.Select(ctx)
		switch {
		case cancelled:
			return nil, "", withdraw()
		case g.ID != req.ID:
			// A grant for an earlier request of this run (withdrawn, or
			// answered twice): give it back, or the account would wait
			// for it until its hold ends.
			if g.Notice == nil && g.Stopped == "" {
				(&slot{id: g.ID, pacerID: pacerID}).release(ctx, pacer.Release{})
			}
		case g.Notice != nil:
			r.tell(g.Notice)
		case g.Stopped != "":
			r.tell(nil)
			return nil, g.Stopped, nil
		default:
			r.tell(nil)
			return &slot{id: req.ID, pacerID: pacerID, grantedAt: or(g.GrantedAt, workflow.Now(ctx))}, "", nil
		}
	}
}

func (r *slotRequester) tell(w *pacer.Wait) {
	if r.onWait != nil {
		r.onWait(w)
	}
}

// forActivity names the slot for an activity that releases it when its
// task ends (activities.PollInput.Slot); invite: the task is a connection
// request, pending once sent.
func (s *slot) forActivity(invite bool) *activities.Slot {
	if s == nil {
		return nil
	}
	return &activities.Slot{PacerID: s.pacerID, ID: s.id, Start: s.grantedAt, Invite: invite}
}

// release gives the slot back, unless an activity did. rel.Counted says an
// OutX task was (or may have been) created: the action then counts against
// the caps, and the next gap starts at rel.End (default now); its other
// fields tell the pacer what the action learnt (an invitation sent or
// accepted, OutX pushing back). It runs even when the caller is being
// cancelled.
func (s *slot) release(ctx workflow.Context, rel pacer.Release) {
	if s == nil || s.released {
		return
	}
	s.released = true
	rel.ID = s.id
	counted := rel.Counted
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
	if err := workflow.SignalExternalWorkflow(dctx, s.pacerID, "", pacer.SignalRelease, rel).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not release the account's slot; the pacer takes it back when its hold ends", "Error", err)
	}
}
