package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/webhooks"
)

// MetricWebhookDeliveries counts delivery attempts by endpoint and result
// (delivered, retry, failed): a Prometheus exporter names it
// outpace_webhook_deliveries_total.
const MetricWebhookDeliveries = "outpace_webhook_deliveries"

// ErrUnknownEndpoint: a deliverer names an endpoint the worker does not have.
const ErrUnknownEndpoint = "UnknownEndpoint"

// Webhooks delivers the outbox's events to the worker's endpoints, and
// writes the events only a workflow sees. It is registered only when the
// worker has endpoints.
type Webhooks struct {
	Config webhooks.Config
	Outbox webhooks.Outbox
	Poster *webhooks.Poster
	// Emitter writes events (EmitEvent); its Wake should ring Bell.
	Emitter *webhooks.Emitter
	// Bell wakes a waiting DeliverWebhooks when this process writes a row.
	Bell *webhooks.Bell
	// Now is the clock (time.Now when nil): tests move it.
	Now func() time.Time
	// RunFor is how long one DeliverWebhooks attempt runs before it hands
	// over to the next (default 9m, under the deliverer's 10m
	// start-to-close timeout): it sends no heartbeat, which would be
	// billed, so a worker's crash delays deliveries by at most that
	// timeout (a worker that stops cleanly hands over at once).
	RunFor time.Duration
	// LookEvery is how often an attempt reads the outbox when nothing in
	// this process woke it (rows written by another worker). Default 2s.
	LookEvery time.Duration
	// Parallel is how many deliveries of an endpoint run at once
	// (default 4).
	Parallel int
}

func (w *Webhooks) bell() *webhooks.Bell {
	if w.Bell == nil {
		return &webhooks.Bell{}
	}
	return w.Bell
}

func (w *Webhooks) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// DeliverInput names the endpoint whose events to deliver.
type DeliverInput struct {
	Endpoint string `json:"endpoint"`
}

// DeliverResult is what one DeliverWebhooks attempt did, and what it
// left: the deliverer shows it in its current details.
type DeliverResult struct {
	Delivered int `json:"delivered"`
	Retries   int `json:"retries"`
	Failed    int `json:"failed"`
	// Pending rows at the end, the earliest next attempt, and the last
	// error of a delivery that failed.
	Pending   bool      `json:"pending,omitempty"`
	NextDue   time.Time `json:"next_due,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	At        time.Time `json:"at"`
}

// DeliverWebhooks delivers the endpoint's due events, several at once,
// for RunFor: it reads the outbox whenever an emitter in this process
// wakes it and every LookEvery, sends each due row (10 s each), and
// records its end: delivered, pending again with a backoff, or failed
// after 24 h. Sending never waits on it.
func (w *Webhooks) DeliverWebhooks(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	ep, ok := w.Config.Get(in.Endpoint)
	if !ok {
		// Its deliverer ends: the endpoint left the worker's webhooks file.
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("this worker has no webhook endpoint %q (--webhooks-file): its deliverer ends; its events stay in the outbox", in.Endpoint), ErrUnknownEndpoint, nil)
	}
	runFor := orDefault(w.RunFor, 9*time.Minute)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)-webhooks.Timeout < runFor {
		runFor = max(time.Until(dl)-webhooks.Timeout-time.Second, time.Second)
	}
	look := orDefault(w.LookEvery, 2*time.Second)
	stop := time.After(runFor)
	var res DeliverResult
	for {
		if err := w.deliverDue(ctx, ep, &res); err != nil {
			return res, err
		}
		select {
		case <-ctx.Done():
			return w.finish(ctx, ep, res)
		case <-activity.GetWorkerStopChannel(ctx):
			return w.finish(ctx, ep, res)
		case <-stop:
			return w.finish(ctx, ep, res)
		case <-w.bell().C(ep.Name):
		case <-time.After(look):
		}
	}
}

func (w *Webhooks) finish(ctx context.Context, ep webhooks.Endpoint, res DeliverResult) (DeliverResult, error) {
	res.At = w.now().UTC()
	if ctx.Err() != nil {
		return res, nil
	}
	// Once an attempt: what was delivered long ago leaves the outbox.
	if _, err := w.Outbox.Prune(ctx, res.At.Add(-webhooks.KeepDelivered)); err != nil {
		activity.GetLogger(ctx).Warn("Could not prune the webhooks outbox", "Error", err)
	}
	next, ok, err := w.Outbox.NextDue(ctx, ep.Name)
	if err == nil {
		res.Pending, res.NextDue = ok, next
	}
	return res, nil
}

// deliverDue sends every due row, in batches of Parallel.
func (w *Webhooks) deliverDue(ctx context.Context, ep webhooks.Endpoint, res *DeliverResult) error {
	par := w.Parallel
	if par <= 0 {
		par = 4
	}
	for ctx.Err() == nil {
		rows, err := w.Outbox.Due(ctx, ep.Name, w.now(), par)
		if err != nil || len(rows) == 0 {
			// The store's errors end the attempt; Temporal retries it.
			return err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var recErr error
		for _, r := range rows {
			wg.Go(func() {
				a := w.attempt(ctx, ep, r)
				err := w.Outbox.Record(ctx, a)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					recErr = err
					return
				}
				switch a.Status {
				case webhooks.StatusDelivered:
					res.Delivered++
				case webhooks.StatusFailed:
					res.Failed++
					res.LastError = a.Error
				default:
					res.Retries++
					res.LastError = a.Error
				}
			})
		}
		wg.Wait()
		if recErr != nil {
			return recErr
		}
	}
	return nil
}

// attempt delivers one row and decides what follows.
func (w *Webhooks) attempt(ctx context.Context, ep webhooks.Endpoint, r webhooks.Row) webhooks.Attempt {
	n := r.Attempts + 1
	err := w.Poster.Post(ctx, ep, r)
	now := w.now()
	a := webhooks.Attempt{Endpoint: ep.Name, EventID: r.EventID, Attempts: n, At: now}
	if err == nil {
		a.Status = webhooks.StatusDelivered
	} else {
		a.Error = err.Error()
		a.Status, a.NextAttemptAt = webhooks.AfterFailure(r, n, now)
	}
	result := map[string]string{webhooks.StatusDelivered: "delivered", webhooks.StatusPending: "retry", webhooks.StatusFailed: "failed"}[a.Status]
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"endpoint": ep.Name, "result": result}).Counter(MetricWebhookDeliveries).Inc(1)
	if a.Status != webhooks.StatusDelivered {
		activity.GetLogger(ctx).Warn("Webhook delivery failed", "Endpoint", ep.Name, "EventID", r.EventID, "Attempt", n, "Then", a.Status, "Error", a.Error)
	}
	return a
}

// EmitInput is an event a workflow writes, and its data (encoded here,
// not in the workflow).
type EmitInput struct {
	Event webhooks.Event `json:"event"`
	Data  any            `json:"data,omitempty"`
}

// EmitEvent writes an event that only a workflow sees (a campaign's
// start, pause or end, a sequence's end...) to the outbox. Workflows run
// it as a local activity, and only when the worker has endpoints.
func (w *Webhooks) EmitEvent(ctx context.Context, in EmitInput) error {
	e := in.Event
	if in.Data != nil {
		b, err := json.Marshal(in.Data)
		if err != nil {
			return err
		}
		e.Data = b
	}
	return w.Emitter.Emit(ctx, e)
}
