package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// TestRecordedHistories runs SendMessage to every outcome on the real server
// and replays each history against the current code. With
// OUTPACE_UPDATE_HISTORIES=1 it also writes them to
// workflows/testdata/histories, where the replay unit test keeps checking that
// later changes do not break runs recorded by earlier code.
func TestRecordedHistories(t *testing.T) {
	s := up(t)
	t.Parallel()
	cases := map[string]workflows.SendMessageInput{
		"sendmessage-delivered":         {RecipientURN: "urn:li:person:histDelivered", Message: "Hi Ada"},
		"sendmessage-failed":            {RecipientURN: outxtest.NotConnected + "-hist", Message: "Hi Bob"},
		"sendmessage-unknown":           {RecipientURN: outxtest.LostAnswerOnce + "-hist", Message: "Hi Cleo"},
		"sendmessage-invalid":           {RecipientURN: "urn:li:person:histInvalid", Message: " "},
		"sendmessage-ratelimited-retry": {RecipientURN: outxtest.RateLimitedOnce + "-hist", Message: "Hi Dana"},
		"sendmessage-unavailable-retry": {RecipientURN: outxtest.UnavailableOnce + "-hist", Message: "Hi Eve"},
		"sendmessage-pending-then-sent": {RecipientURN: outxtest.Slow + "-hist", Message: "Hi Finn"},
	}
	var wg sync.WaitGroup
	histories := make(map[string]*historypb.History, len(cases))
	var mu sync.Mutex
	for name, in := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "e2e-" + name, TaskQueue: workflows.TaskQueue},
				workflows.SendMessageWorkflow, in)
			if err != nil {
				t.Error(err)
				return
			}
			_ = run.Get(ctx, nil) // failed outcomes are failed runs; the history is what matters
			h := &historypb.History{Events: s.history(t, run.GetID(), run.GetRunID())}
			mu.Lock()
			histories[name] = h
			mu.Unlock()
		}()
	}
	wg.Wait()

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.SendMessage)
	for name, h := range histories {
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			t.Errorf("%s does not replay: %v", name, err)
		}
	}
	if os.Getenv("OUTPACE_UPDATE_HISTORIES") != "1" {
		return
	}
	dir := filepath.Join(s.root, "workflows", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, h := range histories {
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d histories to %s", len(histories), dir)
}
