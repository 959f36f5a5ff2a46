package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
)

// startOnce starts a recipient's child run under its fixed workflow id
// (REJECT_DUPLICATE: never a second run for the same person and step). When
// the id is taken, the earlier run is read: if it certainly made no OutX
// task (it failed before sending: an unknown sender, OutX refusing the
// account), the child is started again, so that "never twice" never
// becomes "never once"; any other earlier run means the recipient was
// handled, and skipped is true.
//
// opts carries everything but the reuse policy; disconnected children go on
// when the parent is cancelled.
func startOnce(ctx workflow.Context, opts workflow.ChildWorkflowOptions, disconnected bool, wf, input any) (fut workflow.ChildWorkflowFuture, skipped bool, err error) {
	start := func(policy enumspb.WorkflowIdReusePolicy) (workflow.ChildWorkflowFuture, error) {
		opts.WorkflowIDReusePolicy = policy
		cctx := workflow.WithChildOptions(ctx, opts)
		if disconnected {
			cctx, _ = workflow.NewDisconnectedContext(cctx)
		}
		f := workflow.ExecuteChildWorkflow(cctx, wf, input)
		return f, f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	fut, err = start(enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
	if err == nil || !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return fut, false, err
	}
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, MaximumInterval: 30 * time.Second},
		Summary:             "did the earlier run of " + opts.WorkflowID + " make an OutX task?",
	})
	var prior activities.PriorRun
	if err := workflow.ExecuteActivity(actx, a.LookUpPriorRun, activities.RunInput{WorkflowID: opts.WorkflowID}).Get(ctx, &prior); err != nil {
		workflow.GetLogger(ctx).Warn("Could not read the earlier run; not starting it again", "WorkflowID", opts.WorkflowID, "Error", err)
		return nil, true, nil
	}
	if prior.Open || !priorMadeNoTask(prior) {
		return nil, true, nil
	}
	workflow.GetLogger(ctx).Info("The earlier run made no OutX task; starting it again", "WorkflowID", opts.WorkflowID, "Outcome", prior.Outcome)
	fut, err = start(enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil, true, nil
	}
	return fut, false, err
}

// priorMadeNoTask says whether an earlier run certainly made no OutX task:
// a message or connection request that ended without a task id (failed,
// invalid, stopped), or a sequence whose every step did so.
func priorMadeNoTask(p activities.PriorRun) bool {
	if !(SendMessageResult{Outcome: Outcome(p.Outcome), TaskID: p.TaskID}).NoTask() {
		return false
	}
	for _, st := range p.Steps {
		switch Outcome(st.Outcome) {
		case Done, Connected:
			continue // a wait, or a check: nothing sent
		}
		if !(SendMessageResult{Outcome: Outcome(st.Outcome), TaskID: st.TaskID}).NoTask() {
			return false
		}
	}
	return true
}
