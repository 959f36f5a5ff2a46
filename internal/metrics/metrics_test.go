package metrics_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/internal/metrics"
	"github.com/outpacehq/outpace/internal/metrics/metricstest"
)

// TestPrometheusNames records through the Temporal handler as the SDK and
// outpace do, and reads the names the exporter gives them: counters end in
// _total, timers become histograms in seconds with SecondsBuckets, and tags
// become labels.
func TestPrometheusNames(t *testing.T) {
	m, err := metrics.New(func(err error) { t.Errorf("meter error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler.WithTags(map[string]string{"task_queue": "q"})
	h.WithTags(map[string]string{"outcome": "delivered"}).Counter("outpace_test_messages").Inc(2)
	h.WithTags(map[string]string{"outcome": "failed"}).Counter("outpace_test_messages").Inc(1)
	h.Timer("outpace_test_latency").Record(1500 * time.Millisecond)
	h.Timer("outpace_test_latency").Record(3 * time.Hour)

	f, err := metricstest.Gather(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Counter("outpace_test_messages_total", "outcome", "delivered", "task_queue", "q"); got != 2 {
		t.Errorf("outpace_test_messages_total{outcome=delivered} = %v, want 2", got)
	}
	if got := f.Counter("outpace_test_messages_total"); got != 3 {
		t.Errorf("outpace_test_messages_total = %v, want 3", got)
	}
	if n, sum := f.Histogram("outpace_test_latency_seconds"); n != 2 || sum != 1.5+3*3600 {
		t.Errorf("outpace_test_latency_seconds: count %d sum %v, want 2 and %v", n, sum, 1.5+3*3600)
	}
	if b := f.Buckets("outpace_test_latency_seconds"); !slices.Equal(b, metrics.SecondsBuckets) {
		t.Errorf("buckets = %v, want %v", b, metrics.SecondsBuckets)
	}
	for name := range f {
		if strings.HasPrefix(name, "target_info") || strings.Contains(name, "otel_scope") {
			t.Errorf("unexpected metric %s", name)
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

func TestListenServesMetrics(t *testing.T) {
	e, err := metrics.Listen("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if strings.HasSuffix(e.Addr(), ":0") || !strings.HasPrefix(e.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %q, want the bound port", e.Addr())
	}
	e.Handler.Counter("outpace_test_served").Inc(7)

	resp, err := http.Get("http://" + e.Addr() + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", metrics.Path, resp.Status)
	}
	f, err := metricstest.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
	}
	if got := f.Counter("outpace_test_served_total"); got != 7 {
		t.Errorf("outpace_test_served_total = %v, want 7", got)
	}

	resp, err = http.Post("http://"+e.Addr()+metrics.Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %s, want 405", metrics.Path, resp.Status)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + e.Addr() + metrics.Path); err == nil {
		t.Error("still serving after Close")
	}
}

func TestListenOff(t *testing.T) {
	e, err := metrics.Listen("", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if e.Addr() != "" || e.Handler != client.MetricsNopHandler {
		t.Errorf("off: Addr %q, Handler %T; want nothing served, the no-op handler", e.Addr(), e.Handler)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := metrics.Listen("no-port", zap.NewNop()); err == nil || !strings.Contains(err.Error(), "missing port") {
		t.Errorf("Listen(no-port) = %v, want a missing port error", err)
	}
}
