package activities

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.temporal.io/sdk/activity"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics the activities record through activity.GetMetricsHandler, which
// tags them with the activity type, the workflow type, the task queue and the
// namespace. A Prometheus exporter adds the unit: outpace_send_latency_seconds.
const (
	// MetricSendLatency times each Send Message request (the POST), whatever
	// OutX answered.
	MetricSendLatency = "outpace_send_latency"
	// MetricPollsPerTask is the number of Get Task Status requests a task
	// needed, observed once per task, when its final status is read.
	MetricPollsPerTask = "outpace_polls_per_task"
)

// PollsBuckets are the bucket bounds of MetricPollsPerTask: a task performed
// at once needs one or two reads, one pending for a day a few hundred.
var PollsBuckets = []float64{1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000}

func recordSendLatency(ctx context.Context, d time.Duration) {
	activity.GetMetricsHandler(ctx).Timer(MetricSendLatency).Record(d)
}

// recordPolls observes a task's poll count. The SDK's metrics handler has
// counters, gauges and timers but no histogram of counts, so this goes to the
// OpenTelemetry meter behind it (the SDK's documented way for histograms),
// with the handler's tags; under any other handler it records nothing.
func recordPolls(ctx context.Context, polls int) {
	h := temporalotel.ExtractMetricsHandler(activity.GetMetricsHandler(ctx))
	if h == nil {
		return
	}
	hist, err := h.GetMeter().Int64Histogram(MetricPollsPerTask,
		metric.WithDescription("Get Task Status requests per OutX task, observed when the task's final status is read"),
		metric.WithExplicitBucketBoundaries(PollsBuckets...))
	if err != nil {
		return
	}
	hist.Record(context.Background(), int64(polls), metric.WithAttributeSet(h.GetAttributes()))
}
