package stack

import (
	"strings"
	"testing"
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
	d := Diff(map[string]float64{"a": 5, "b": 2}, map[string]float64{"a": 3, "b": 2})
	if len(d) != 1 || d["a"] != 2 {
		t.Errorf("Diff: %v", d)
	}
}
