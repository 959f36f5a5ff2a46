package workflows_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/metrics"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// TestWebhookDeliverer runs the deliverer with its real activity, the real
// store and a real receiver: it delivers what the outbox holds, counts each
// delivery in outpace_webhook_deliveries_total, and continues as new after its bounded number of attempts.
func TestWebhookDeliverer(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	var verified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhooks.Verify(secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		verified.Add(1)
	}))
	defer srv.Close()
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: srv.URL, Secret: secret}}}
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		if err := em.Emit(context.Background(), webhooks.Event{ID: id, Type: webhooks.MessageDelivered, Account: "default"}); err != nil {
			t.Fatal(err)
		}
	}

	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(m.Handler)
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.WebhookDeliverer)
	env.RegisterActivity(&activities.Webhooks{Config: cfg, Outbox: ob, Poster: &webhooks.Poster{}, Emitter: em,
		RunFor: 5 * time.Millisecond, LookEvery: time.Millisecond})
	env.ExecuteWorkflow(workflows.WebhookDeliverer, workflows.WebhookDelivererInput{Endpoint: "crm", URL: srv.URL})
	// The UI's current details say what the deliverer did and waits for.
	if v, err := env.QueryWorkflow("__temporal_workflow_metadata"); err != nil {
		t.Errorf("metadata query: %v", err)
	} else {
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil || !strings.Contains(md.GetCurrentDetails(), "Delivering events to webhook crm") ||
			!strings.Contains(md.GetCurrentDetails(), "Nothing pending: waiting for new events") {
			t.Errorf("current details %q (%v)", md.GetCurrentDetails(), err)
		}
	}
	if !env.IsWorkflowCompleted() {
		t.Fatal("the deliverer did not end its run")
	}
	if err := env.GetWorkflowError(); !workflow.IsContinueAsNewError(err) {
		t.Fatalf("the run ended with %v, want continue-as-new", err)
	}
	if n := verified.Load(); n != 3 {
		t.Fatalf("the receiver verified %d deliveries, want 3", n)
	}
	if n := gather(t, m).Counter("outpace_webhook_deliveries_total", "endpoint", "crm", "result", "delivered"); n != 3 {
		t.Errorf("outpace_webhook_deliveries_total{endpoint=crm,result=delivered} = %v, want 3", n)
	}
	st2, _ := ob.Status(context.Background())
	if len(st2) != 1 || st2[0].Delivered != 3 || st2[0].Pending != 0 {
		t.Fatalf("outbox %+v", st2)
	}
}
