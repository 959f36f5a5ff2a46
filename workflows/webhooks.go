package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
)

// WebhookDelivererInput names the endpoint a deliverer serves. URL is only
// shown in its details (the secret stays in the worker).
type WebhookDelivererInput struct {
	Endpoint string `json:"endpoint"`
	URL      string `json:"url,omitempty"`
}

// WebhookDelivererID is the deliverer's workflow id: one per endpoint and
// task queue, so the worker's start at start-up is idempotent.
func WebhookDelivererID(taskQueue, endpoint string) string {
	return "webhooks/" + taskQueue + "/" + endpoint
}

// webhookDelivererRuns bounds a run's history: each DeliverWebhooks attempt
// adds about six events, so a run holds about 1,200 before it continues
// as new (about 30 hours of idle attempts).
const webhookDelivererRuns = 200

// deliverTimeout is a DeliverWebhooks attempt's start-to-close timeout.
// The attempt sends no heartbeat, which would be billed: when its worker
// dies, the next attempt starts after this timeout at the latest.
const deliverTimeout = 10 * time.Minute

// WebhookDeliverer delivers one endpoint's events from the outbox, for as
// long as the worker has the endpoint: a loop of long DeliverWebhooks
// attempts, each of which sends what is due and returns what it left.
// Sending never waits on it: workflows and activities only write the
// outbox.
func WebhookDeliverer(ctx workflow.Context, in WebhookDelivererInput) error {
	var w *activities.Webhooks
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: deliverTimeout,
		// The store unreachable, the worker gone: try again, forever.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:     "deliver due events to " + in.Endpoint,
	})
	workflow.SetCurrentDetails(ctx, deliverDetails(in, nil))
	for i := 0; i < webhookDelivererRuns && !workflow.GetInfo(ctx).GetContinueAsNewSuggested(); i++ {
		var res activities.DeliverResult
		if err := workflow.ExecuteActivity(actx, w.DeliverWebhooks, activities.DeliverInput{Endpoint: in.Endpoint}).Get(ctx, &res); err != nil {
			return err
		}
		workflow.SetCurrentDetails(ctx, deliverDetails(in, &res))
	}
	return workflow.NewContinueAsNewError(ctx, WebhookDeliverer, in)
}

// deliverDetails says, in the UI, what the deliverer waits for.
func deliverDetails(in WebhookDelivererInput, res *activities.DeliverResult) string {
	s := fmt.Sprintf("**Delivering events to webhook %s** (%s): an activity reads the outbox every 2 s and as soon as this worker writes to it, and sends what is due.", in.Endpoint, in.URL)
	if res == nil {
		return s + "\n\nWaiting for the first events."
	}
	s += fmt.Sprintf("\n\nLast attempt (ended %s): %d delivered, %d to retry, %d failed after 24 h.",
		res.At.Format(time.RFC3339), res.Delivered, res.Retries, res.Failed)
	if res.Pending {
		s += "\n\nWaiting for the next delivery due at " + res.NextDue.UTC().Format(time.RFC3339) + "."
	} else {
		s += "\n\nNothing pending: waiting for new events."
	}
	if res.LastError != "" {
		s += "\n\nLast error: " + res.LastError
	}
	return s + "\n\n`starter webhooks status` shows the outbox; `starter webhooks failed` lists what was given up."
}
