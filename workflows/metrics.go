package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Metrics the workflows record through workflow.GetMetricsHandler, which tags
// them with the workflow type, the task queue and the namespace, and drops
// them while a run replays its history: each is recorded once, when the run
// first takes the step. Recording adds no command to the history, so it needs
// no workflow.GetVersion.
//
// There is no campaign label: campaign ids are unbounded, and each would add
// series to the worker and to Prometheus for good. A campaign's own counts are
// its progress query and its report.
const (
	// MetricMessages counts SendMessage runs (a campaign's included) by
	// outcome: delivered, failed, unknown or invalid.
	MetricMessages = "outpace_messages"
	// MetricConfirmationLatency times each confirmed message (delivered or
	// failed by OutX's task) from the task's creation to its final status:
	// the result's time_to_confirm.
	MetricConfirmationLatency = "outpace_confirmation_latency"
	// MetricCampaignRecipients counts campaign recipients by state:
	// delivered, failed, unknown, invalid or skipped.
	MetricCampaignRecipients = "outpace_campaign_recipients"
	// MetricAccountWaiting is a gauge of an account's actions waiting for
	// its pacer, by sender and by what holds them (wait: spacing,
	// hourly_cap, daily_cap, weekly_cap, outside_window, busy, queued,
	// paused).
	MetricAccountWaiting = "outpace_account_waiting"
	// MetricAccountPaused is 1 while an account is paused (scope account:
	// every action; scope connect: its connection requests), by a person
	// or after OutX's push-back; its reason is in starter account status.
	MetricAccountPaused = "outpace_account_paused"
	// MetricPendingInvitations is a gauge of an account's connection
	// requests not yet found accepted.
	MetricPendingInvitations = "outpace_pending_invitations"
)

// recordMessage records a finished message: its outcome, and how long its
// task took to confirm when it was confirmed.
func recordMessage(ctx workflow.Context, res SendMessageResult) {
	m := workflow.GetMetricsHandler(ctx)
	m.WithTags(map[string]string{"outcome": string(res.Outcome)}).Counter(MetricMessages).Inc(1)
	if !res.QueuedAt.IsZero() && res.Outcome != Unknown {
		m.Timer(MetricConfirmationLatency).Record(time.Duration(res.TimeToConfirm))
	}
}

// count adds a recipient's final state to the campaign's counts and to
// MetricCampaignRecipients.
func (c *campaign) count(ctx workflow.Context, o Outcome) {
	o = c.st.Counts.add(o)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"state": string(o)}).Counter(MetricCampaignRecipients).Inc(1)
}
