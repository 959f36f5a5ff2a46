package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/webhooks"
)

// emitEvent writes an event only a workflow sees (a campaign's start, pause
// or end) to the webhooks outbox with one local activity: one billable
// action. on lists the types the worker's endpoints take (from the
// SenderLimits activity the campaign runs anyway): an event of another
// type, and every event on a worker without endpoints, costs nothing.
//
// The id comes from the workflow id, the type and part, so an event
// written again (a replay, a retried task) is the same row. A store that
// stays unavailable for a minute loses the event: it is logged, and the
// campaign goes on, since sending never waits on webhooks.
func emitEvent(ctx workflow.Context, on []string, e webhooks.Event, data any, part string) {
	if !slices.Contains(on, e.Type) {
		return
	}
	if ctx.Err() != nil { // a cancelled campaign still says it stopped
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	e.ID = webhooks.ID(workflow.GetInfo(ctx).WorkflowExecution.ID, e.Type, part)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second},
	})
	var w *activities.Webhooks
	if err := workflow.ExecuteLocalActivity(lctx, w.EmitEvent, activities.EmitInput{Event: e, Data: data}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not write a webhook event", "Type", e.Type, "EventID", e.ID, "Error", err)
	}
}

// onlyEvents keeps the types of on that are among types: what a child run
// needs of its campaign's list, so its input stays small.
func onlyEvents(on []string, types ...string) []string {
	var out []string
	for _, t := range on {
		if slices.Contains(types, t) {
			out = append(out, t)
		}
	}
	return out
}
