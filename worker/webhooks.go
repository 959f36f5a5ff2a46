package main

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// hooks is the worker's webhooks: its endpoints, the emitter the
// activities write events with, and the deliverers' activities. Without a
// webhooks file it has no endpoint, writes nothing and starts nothing.
type hooks struct {
	cfg      webhooks.Config
	emitter  *webhooks.Emitter
	delivery *activities.Webhooks
}

// loadWebhooks reads --webhooks-file ("" for none); the outbox is the
// contacts store's.
func loadWebhooks(file string, store contacts.Store) (*hooks, error) {
	h := &hooks{}
	if file != "" {
		cfg, err := webhooks.Load(file)
		if err != nil {
			return nil, fmt.Errorf("--webhooks-file: %w", err)
		}
		h.cfg = cfg
	}
	outbox, ok := contacts.OutboxOf(store)
	if h.cfg.Enabled() && !ok {
		return nil, fmt.Errorf("--webhooks-file: the contacts store %s has no outbox", store.Describe())
	}
	bell := &webhooks.Bell{}
	h.emitter = &webhooks.Emitter{Config: h.cfg, Outbox: outbox, Wake: bell.Ring}
	h.delivery = &activities.Webhooks{Config: h.cfg, Outbox: outbox, Poster: &webhooks.Poster{}, Emitter: h.emitter, Bell: bell}
	return h, nil
}

// contacts is the store the activities use: with endpoints, one that
// writes each recorded outcome's event too.
func (h *hooks) contacts(store contacts.Store) contacts.Store {
	return activities.WithEvents(store, h.emitter)
}

// register adds the deliverer and its activities. They are registered
// even without endpoints, so that a deliverer left from an earlier
// configuration ends with a clear error rather than waiting for a worker
// that knows its type.
func (h *hooks) register(w worker.Worker) {
	w.RegisterWorkflow(workflows.WebhookDeliverer)
	w.RegisterActivity(h.delivery)
}

// start starts each endpoint's deliverer, or finds it running (a second
// worker, a restart): one per endpoint and task queue.
func (h *hooks) start(ctx context.Context, tc client.Client, taskQueue string, logger *zap.Logger) error {
	for _, ep := range h.cfg.Endpoints {
		id := workflows.WebhookDelivererID(taskQueue, ep.Name)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			StaticSummary:            "delivers outpace's events to webhook " + ep.Name,
		}, workflows.WebhookDeliverer, workflows.WebhookDelivererInput{Endpoint: ep.Name, URL: ep.URL})
		if err != nil {
			return fmt.Errorf("starting the deliverer of webhook %s: %w", ep.Name, err)
		}
		logger.Info("webhook", zap.String("endpoint", ep.Name), zap.String("url", ep.URL),
			zap.String("secret", "set, from "+ep.SecretSource), zap.Strings("events", ep.Events),
			zap.Strings("accounts", ep.Accounts), zap.Strings("campaigns", ep.Campaigns),
			zap.String("deliverer", id), zap.String("run_id", run.GetRunID()))
	}
	return nil
}
