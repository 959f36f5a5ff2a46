// Package metrics serves a worker's Prometheus metrics: the Temporal SDK's
// own and outpace's, which workflows and activities record through the SDK's
// metrics handler (workflow.GetMetricsHandler, activity.GetMetricsHandler).
//
// The handler is the SDK's OpenTelemetry integration
// (go.temporal.io/sdk/contrib/opentelemetry) over a MeterProvider whose reader
// is the OpenTelemetry Prometheus exporter, on a registry of its own, so
// nothing registered globally by a library ends up on the endpoint.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.uber.org/zap"
)

// Path is where the metrics are served.
const Path = "/metrics"

// SecondsBuckets are the bucket bounds, in seconds, of every duration
// histogram: the SDK's timers (from a millisecond for a request) and
// outpace's latencies (a send takes under a second, a confirmation from
// seconds to the days an extension may stay offline).
var SecondsBuckets = []float64{
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
	300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800,
}

// Metrics is a MeterProvider exported to a Prometheus registry, and the
// Temporal metrics handler over it.
type Metrics struct {
	// Handler goes to client.Options.MetricsHandler: the SDK records its own
	// metrics through it, and hands it to workflows and activities.
	Handler  client.MetricsHandler
	Registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
}

// New builds the registry, the exporter and the handler. onError receives the
// errors of the meter (an instrument it refuses), which the SDK's handler
// would otherwise turn into a panic; nil ignores them.
func New(onError func(error)) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// Prometheus names: counters end in _total, durations in _seconds.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		// One process, one meter: scope labels and target_info say nothing.
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: SecondsBuckets}},
		)),
	)
	if onError == nil {
		onError = func(error) {}
	}
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   provider.Meter("github.com/outpacehq/outpace"),
		OnError: onError,
		// The SDK's counters only grow: export them as Prometheus counters,
		// not gauges.
		UseMonotonicCounters: true,
	})
	return &Metrics{Handler: handler, Registry: reg, provider: provider}, nil
}

// HTTPHandler serves the registry in the Prometheus exposition format.
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Endpoint is a worker's metrics, served over HTTP at Path, or nothing at
// all when no address was given.
type Endpoint struct {
	// Handler is the Temporal metrics handler: client.MetricsNopHandler when
	// the endpoint is off.
	Handler client.MetricsHandler
	metrics *Metrics
	ln      net.Listener
	srv     *http.Server
}

// Listen serves metrics on addr (host:port; port 0 picks a free one). An
// empty addr turns metrics off: the Endpoint records and serves nothing.
func Listen(addr string, logger *zap.Logger) (*Endpoint, error) {
	if addr == "" {
		return &Endpoint{Handler: client.MetricsNopHandler}, nil
	}
	m, err := New(func(err error) { logger.Warn("metric not recorded", zap.Error(err)) })
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = m.provider.Shutdown(context.Background())
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.HTTPHandler())
	e := &Endpoint{
		Handler: m.Handler,
		metrics: m,
		ln:      ln,
		srv:     &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}
	go func() {
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics endpoint stopped", zap.Error(err))
		}
	}()
	return e, nil
}

// Addr is the address the endpoint listens on, with the port it was given
// (so "127.0.0.1:0" reads back as the real port); empty when off.
func (e *Endpoint) Addr() string {
	if e.ln == nil {
		return ""
	}
	return e.ln.Addr().String()
}

// Close stops serving.
func (e *Endpoint) Close() error {
	if e.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(e.srv.Shutdown(ctx), e.metrics.provider.Shutdown(ctx))
}
