package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/outpacehq/outpace/bench/internal/actions"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// hookSink is the receiver of --webhooks: every event, verified, counted
// by type; the worker's webhooks file names it for every event.
type hookSink struct {
	srv    *httptest.Server
	secret []byte
	file   string

	mu     sync.Mutex
	ids    map[string]bool
	types  map[string]int
	posts  int
	failed int
}

func startHookSink() (*hookSink, error) {
	dir, err := os.MkdirTemp("", "outpace-bench-webhooks-")
	if err != nil {
		return nil, err
	}
	h := &hookSink{secret: []byte("bench-webhook-secret-0123456789"), ids: map[string]bool{}, types: map[string]int{}}
	h.srv = httptest.NewServer(h)
	if err := os.WriteFile(filepath.Join(dir, "bench.secret"), h.secret, 0o600); err != nil {
		return nil, err
	}
	h.file = filepath.Join(dir, "webhooks.yaml")
	yaml := fmt.Sprintf("webhooks:\n  - name: bench\n    url: %s/hook\n    secret_file: bench.secret\n", h.srv.URL)
	return h, os.WriteFile(h.file, []byte(yaml), 0o600)
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	var e webhooks.Event
	if webhooks.Verify(h.secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0) != nil || json.Unmarshal(body, &e) != nil {
		h.failed++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !h.ids[e.ID] {
		h.ids[e.ID] = true
		h.types[e.Type]++
	}
}

// delivererTally counts the actions of the webhook deliverer's runs.
func (b *bench) delivererTally(ctx context.Context, queue string) (actions.Tally, error) {
	var t actions.Tally
	id := workflows.WebhookDelivererID(queue, "bench")
	resp, err := b.st.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: "default", Query: fmt.Sprintf("WorkflowId = %q", id),
	})
	if err != nil {
		return t, err
	}
	for _, e := range resp.GetExecutions() {
		h, err := b.st.History(ctx, id, e.GetExecution().GetRunId())
		if err != nil {
			return t, err
		}
		t.Add(h)
	}
	return t, nil
}

// printWebhooks reports the events the sink received and what the
// deliverer cost.
func (b *bench) printWebhooks(p func(string, ...any)) {
	if b.hooks == nil {
		return
	}
	h := b.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	msgs := 0
	for _, sc := range b.now.scenarios {
		msgs += sc.n
	}
	p("")
	p("#### Webhooks (`--webhooks`: the worker has one endpoint taking every event)")
	p("")
	p("The sink received %d distinct events (%d POSTs, %d refused) for %d messages of the measured scenarios and the unmeasured first send: %s events per message.",
		len(h.ids), h.posts, h.failed, msgs+1, f(float64(len(h.ids))/float64(msgs+1)))
	var types []string
	for t := range h.types {
		types = append(types, t)
	}
	sort.Strings(types)
	p("")
	p("| event type | events |")
	p("|---|---|")
	for _, t := range types {
		p("| `%s` | %d |", t, h.types[t])
	}
	p("")
	p("The deliverer (`%s`) is a fixed cost per endpoint, not per event: since the worker started (the measured scenarios took %s), %d billable actions (%s), %d history events. Idle or busy, it runs one DeliverWebhooks attempt per 9 minutes (no heartbeats), so about 6.7 activity actions an hour per endpoint (160 a day), plus one continue-as-new per 200 attempts (30 hours).",
		workflows.WebhookDelivererID(b.now.queue, "bench"), b.nowElapsed.Round(time.Second), b.deliverer.Actions, kinds(b.deliverer), b.deliverer.Events)
}

func kinds(t actions.Tally) string {
	var parts []string
	for k, n := range t.ByKind {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(parts)
	return fmt.Sprint(parts)
}
