package actions

import (
	"os"
	"path/filepath"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// The histories recorded on a real server by e2e/histories_test.go; the
// expected counts were made by hand from their events.
func TestCountRecordedHistories(t *testing.T) {
	cases := []struct {
		file    string
		events  int
		actions int
		byKind  map[Kind]int
	}{
		// start, AcquireSlot, Send, PollStatus, the Outcome upsert;
		// validation is workflow code: no marker. (Recorded beside busy
		// runs: its grant came by signal, 4 events more than at once.)
		{"sendmessage-delivered-v5", 28, 5, map[Kind]int{WorkflowStarted: 1, ActivityAttempt: 3, SearchAttributes: 1}},
		// AcquireSlot waited for the grant signal (sent by the pacer,
		// counted there); PollStatus succeeded on its 2nd attempt: 1 retry.
		{"sendmessage-pending-then-sent-v5", 28, 6, map[Kind]int{WorkflowStarted: 1, ActivityAttempt: 4, SearchAttributes: 1}},
		// A 429, a durable timer, a second Send, PollStatus.
		{"sendmessage-ratelimited-retry-v5", 39, 7, map[Kind]int{WorkflowStarted: 1, ActivityAttempt: 4, Timer: 1, SearchAttributes: 1}},
		{"sendmessage-invalid-v5", 6, 2, map[Kind]int{WorkflowStarted: 1, SearchAttributes: 1}},
		// A child: its start is its parent's; delivered, it records its
		// outcome in its search attribute only (no memo).
		{"campaign-child-delivered-v5", 28, 4, map[Kind]int{ActivityAttempt: 3, SearchAttributes: 1}},
		// Tells its campaign twice (waiting, then queued).
		{"campaign-child-ratelimited-v5", 49, 8, map[Kind]int{ActivityAttempt: 4, SignalSent: 2, Timer: 1, SearchAttributes: 1}},
		{"campaign-child-invalid-v5", 7, 2, map[Kind]int{SearchAttributes: 1, Memo: 1}},
		// The CampaignId upsert, the sender check, its word to the pacer, 3
		// page loads, a prior-run look-up, 7 child starts (one rejected as
		// a duplicate), 2 signals from a child (counted by the child), and
		// the continue-as-new. No gap timer: the pacer spaces the sends.
		{"campaign-mixed-v5", 105, 23, map[Kind]int{WorkflowStarted: 1, SearchAttributes: 1, ActivityAttempt: 5, ChildWorkflow: 14, SignalSent: 1, ContinueAsNew: 1}},
		// A continued run: its start was the previous run's continue-as-new.
		{"campaign-mixed-last-run-v5", 77, 15, map[Kind]int{ActivityAttempt: 3, ChildWorkflow: 12}},
		// The account's pacer: started by a client (an activity's update
		// with start), its limits read once, 24 acquire updates, 19
		// releases from clients (the poll activity), 20 grants it sent, 2
		// timers; the signals from workflows are counted by their senders.
		{"pacer-v5", 314, 67, map[Kind]int{WorkflowStarted: 1, ActivityAttempt: 1, Timer: 2, SignalSent: 20, SignalFromClient: 19, Update: 24}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := Count(load(t, c.file))
			if got.Events != c.events || got.Actions != c.actions {
				t.Errorf("%d events, %d actions; want %d events, %d actions (%s)", got.Events, got.Actions, c.events, c.actions, got.Breakdown(1))
			}
			for _, r := range Rules {
				if got.ByKind[r.Kind] != c.byKind[r.Kind] {
					t.Errorf("%s: %d, want %d", r.Kind, got.ByKind[r.Kind], c.byKind[r.Kind])
				}
			}
		})
	}
}

// A campaign's recipient costs the campaign's share plus its child's run:
// merging tallies adds them up.
func TestMergeCampaignAndChildren(t *testing.T) {
	var all Tally
	for _, f := range []string{"campaign-mixed-v5", "campaign-mixed-last-run-v5", "campaign-child-delivered-v5", "campaign-child-ratelimited-v5"} {
		all.Merge(Count(load(t, f)))
	}
	if all.Runs != 4 || all.Events != 105+77+28+49 || all.Actions != 23+15+4+8 {
		t.Fatalf("merged: %d runs, %d events, %d actions", all.Runs, all.Events, all.Actions)
	}
	if all.ByKind[ChildWorkflow] != 26 || all.ByKind[Memo] != 0 {
		t.Fatalf("merged by kind: %v", all.ByKind)
	}
	if all.ByEvent["StartChildWorkflowExecutionInitiated"] != 13 || all.ByEvent["WorkflowTaskCompleted"] != 51 {
		t.Fatalf("merged by event type: %v", all.ByEvent)
	}
	if got, want := all.Breakdown(1), "workflow started 1, continue-as-new 1, child workflow started 26, activity started or retried 15, timer started 1, search attribute upsert 3, signal sent by a workflow 3"; got != want {
		t.Errorf("breakdown:\n got %s\nwant %s", got, want)
	}
	if got, want := all.Breakdown(4), "workflow started 0.25, continue-as-new 0.25, child workflow started 6.5, activity started or retried 3.75, timer started 0.25, search attribute upsert 0.75, signal sent by a workflow 0.75"; got != want {
		t.Errorf("breakdown per 4:\n got %s\nwant %s", got, want)
	}
}

func TestEventBreakdown(t *testing.T) {
	tl := Tally{ByEvent: map[string]int{"WorkflowTaskStarted": 4, "ActivityTaskScheduled": 3, "WorkflowTaskCompleted": 4, "TimerStarted": 1}}
	if got, want := tl.EventBreakdown(2), "WorkflowTaskCompleted 2, WorkflowTaskStarted 2, ActivityTaskScheduled 1.5, TimerStarted 0.5"; got != want {
		t.Errorf("EventBreakdown(2):\n got %s\nwant %s", got, want)
	}
}

// Rules the recorded histories do not exercise.
func TestCountRules(t *testing.T) {
	payload := &commonpb.Payload{Data: []byte(`"x"`)}
	marker := func(id, wft int64) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: wft}}}
	}
	upsert := func(id int64, names ...string) *historypb.HistoryEvent {
		fields := map[string]*commonpb.Payload{}
		for _, n := range names {
			fields[n] = payload
		}
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			Attributes: &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
				SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields}}}}
	}
	signaled := func(id int64, from *commonpb.WorkflowExecution) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
				SignalName: "pause", ExternalWorkflowExecution: from}}}
	}
	got := Count([]*historypb.HistoryEvent{
		marker(5, 4), marker(6, 4), marker(7, 4), // three local activities in one workflow task: 1
		marker(11, 10),                                                 // another workflow task: 1
		upsert(12, changeVersionAttribute),                             // GetVersion's own upsert: exempt
		upsert(13, changeVersionAttribute, "Outcome"),                  // with another attribute: 1
		upsert(14, "CampaignId", "RecipientUrn"),                       // two attributes, one command: 1
		signaled(15, nil),                                              // from a client: 1
		signaled(16, &commonpb.WorkflowExecution{WorkflowId: "child"}), // from a workflow: counted there
	})
	want := map[Kind]int{MarkerBatch: 2, SearchAttributes: 2, SignalFromClient: 1}
	if got.Actions != 5 {
		t.Errorf("%d actions, want 5 (%s)", got.Actions, got.Breakdown(1))
	}
	for _, r := range Rules {
		if got.ByKind[r.Kind] != want[r.Kind] {
			t.Errorf("%s: %d, want %d", r.Kind, got.ByKind[r.Kind], want[r.Kind])
		}
	}
}

func load(t *testing.T, name string) []*historypb.HistoryEvent {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "workflows", "testdata", "histories", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return h.GetEvents()
}
