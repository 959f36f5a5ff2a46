package devstack

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpacehq/outpace/internal/repo"
)

// A scrape of a dev server's /metrics, cut down: only the default
// namespace's action counters are read, summed over their other labels.
func TestParseActions(t *testing.T) {
	scrape := `# HELP action action counter
# TYPE action counter
action{action_type="grpc_StartWorkflowExecution",namespace="temporal_system",operation="StartWorkflowExecution",service_name="frontend"} 2
action{action_type="grpc_StartWorkflowExecution",namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 3
action{action_type="command_StartTimer",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="frontend"} 4
action{action_type="command_StartTimer",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="frontend",extra="x"} 1
action{action_type="grpc_RecordActivityTaskHeartbeat",namespace="default",operation="RecordActivityTaskHeartbeat",service_name="frontend"} 7
service_requests{namespace="default",operation="RecordActivityTaskHeartbeat",service_name="frontend"} 9
`
	got, err := parseActions(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"grpc_StartWorkflowExecution": 3, "command_StartTimer": 5, "grpc_RecordActivityTaskHeartbeat": 7}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// A dev server that does not answer in time is not left running:
// testsuite.StartDevServer returns no handle on the process it started.
func TestStartServerLeavesNoOrphan(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the temporal CLI; skipped with -short")
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := TemporalCLI(root, "")
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartServer(context.Background(), ServerOptions{CLI: cli, HostPort: "127.0.0.1:" + strconv.Itoa(port), StartTimeout: time.Millisecond})
	if err == nil {
		t.Fatal("a dev server answered within a millisecond")
	}
	if pid := childPID(cli, strconv.Itoa(port)); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the dev server that never answered still runs (pid %d): %v", pid, err)
	}
}
