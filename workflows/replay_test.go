package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/outpacehq/outpace/workflows"
)

// TestReplayRecordedHistories replays histories recorded on a real Temporal
// server by earlier versions of the workflows (see e2e/histories_test.go).
// A change that would break running executions fails here; guard it with
// workflow.GetVersion and record new histories alongside the old ones.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories: record them with `OUTPACE_UPDATE_HISTORIES=1 go test ./e2e -run TestRecordedHistories`")
	}
	replayer := worker.NewWorkflowReplayer()
	for _, w := range workflows.All() {
		replayer.RegisterWorkflow(w)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}
