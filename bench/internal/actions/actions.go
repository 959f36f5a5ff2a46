// Package actions counts the Temporal Cloud billable actions recorded in a
// workflow's event history, by the rules Temporal publishes at
// https://docs.temporal.io/cloud/actions (source:
// github.com/temporalio/documentation, docs/evaluate/temporal-cloud/actions.mdx).
//
// A history shows most actions but not all: activity heartbeats that reach
// the server and queries leave no event, and are measured elsewhere (the
// benchmarks read the server's own "action" metric for them). Rules is the
// table the benchmarks print beside their figures.
package actions

import (
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// Kind names a billable action as the published rules name it.
type Kind string

const (
	WorkflowStarted  Kind = "workflow started (client start)"
	ContinueAsNew    Kind = "continue-as-new (starts the next run)"
	ChildWorkflow    Kind = "child workflow started (2 each)"
	ActivityAttempt  Kind = "activity started or retried (each attempt)"
	MarkerBatch      Kind = "local activities and markers (1 per workflow task)"
	Timer            Kind = "timer started"
	SearchAttributes Kind = "search attribute upsert"
	Memo             Kind = "memo upsert (workflow properties modified)"
	SignalSent       Kind = "signal sent by a workflow"
	SignalFromClient Kind = "signal sent by a client"
	Update           Kind = "update accepted or rejected"
	ExecutionOptions Kind = "workflow execution options updated"
)

// changeVersionAttribute is the search attribute GetVersion maintains; the
// published rules exempt its upserts.
const changeVersionAttribute = "TemporalChangeVersion"

// Rule is one line of the table of counting rules.
type Rule struct {
	Kind  Kind
	Event string // the history event it is read from
	Each  int    // actions per occurrence
	Note  string
}

// Rules are the rules Count applies, in the order they are printed.
var Rules = []Rule{
	{WorkflowStarted, "WorkflowExecutionStarted with no parent and not continued-as-new", 1,
		"a child's start is counted in its parent, a continued run's by the run that continued"},
	{ContinueAsNew, "WorkflowExecutionContinuedAsNew", 1, ""},
	{ChildWorkflow, "StartChildWorkflowExecutionInitiated", 2,
		"\"two Actions, one for starting the Workflow, and another for the attempted Execution\"; counted also when the start is rejected as a duplicate, as the server's action metric does"},
	{ActivityAttempt, "ActivityTaskScheduled, plus attempt − 1 of its ActivityTaskStarted", 1,
		"retries of an activity leave one started event carrying the attempt number"},
	{MarkerBatch, "MarkerRecorded, grouped by workflow task", 1,
		"\"All Local Activities associated with one Workflow Task count as a single Action\"; version markers (GetVersion) share the batch, as in the server's command_BatchMarkers"},
	{Timer, "TimerStarted", 1, ""},
	{SearchAttributes, "UpsertWorkflowSearchAttributes", 1,
		"one per command however many attributes; an upsert of TemporalChangeVersion alone is exempt"},
	{Memo, "WorkflowPropertiesModified", 1,
		"not named on the page; counted because the server's action metric counts the command (ModifyWorkflowProperties)"},
	{SignalSent, "SignalExternalWorkflowExecutionInitiated", 1,
		"counted at the sender; the receiver's WorkflowExecutionSignaled then counts 0"},
	{SignalFromClient, "WorkflowExecutionSignaled with no external workflow", 1, ""},
	{Update, "WorkflowExecutionUpdateAccepted / Rejected", 1, ""},
	{ExecutionOptions, "WorkflowExecutionOptionsUpdated", 1, ""},
}

// Tally is what a set of histories holds.
type Tally struct {
	Runs    int
	Events  int
	Actions int
	ByKind  map[Kind]int // actions by kind
	// ByEvent counts events by type ("WorkflowTaskCompleted"): where a
	// history's length comes from.
	ByEvent map[string]int
}

// Add counts one run's history into t.
func (t *Tally) Add(events []*historypb.HistoryEvent) {
	if t.ByKind == nil {
		t.ByKind = map[Kind]int{}
	}
	if t.ByEvent == nil {
		t.ByEvent = map[string]int{}
	}
	t.Runs++
	t.Events += len(events)
	add := func(k Kind, n int) {
		if n > 0 {
			t.ByKind[k] += n
			t.Actions += n
		}
	}
	markerTasks := map[int64]bool{}
	for _, ev := range events {
		t.ByEvent[ev.GetEventType().String()]++
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := ev.GetWorkflowExecutionStartedEventAttributes()
			if a.GetParentWorkflowExecution() == nil && a.GetInitiator() != enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW {
				add(WorkflowStarted, 1)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			add(ContinueAsNew, 1)
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			add(ChildWorkflow, 2)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			add(ActivityAttempt, 1)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			add(ActivityAttempt, int(ev.GetActivityTaskStartedEventAttributes().GetAttempt())-1)
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			wft := ev.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId()
			if !markerTasks[wft] {
				markerTasks[wft] = true
				add(MarkerBatch, 1)
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			add(Timer, 1)
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, ok := fields[changeVersionAttribute]; !ok || len(fields) > 1 {
				add(SearchAttributes, 1)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
			add(Memo, 1)
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			add(SignalSent, 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if ev.GetWorkflowExecutionSignaledEventAttributes().GetExternalWorkflowExecution() == nil {
				add(SignalFromClient, 1)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
			add(Update, 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
			add(ExecutionOptions, 1)
		}
	}
}

// Count tallies one run's history.
func Count(events []*historypb.HistoryEvent) Tally {
	var t Tally
	t.Add(events)
	return t
}

// Merge adds o into t.
func (t *Tally) Merge(o Tally) {
	if t.ByKind == nil {
		t.ByKind = map[Kind]int{}
	}
	if t.ByEvent == nil {
		t.ByEvent = map[string]int{}
	}
	t.Runs += o.Runs
	t.Events += o.Events
	t.Actions += o.Actions
	for k, n := range o.ByKind {
		t.ByKind[k] += n
	}
	for k, n := range o.ByEvent {
		t.ByEvent[k] += n
	}
}

// EventBreakdown lists the event types, most frequent first (then by
// name), each divided by per, e.g. "WorkflowTaskScheduled 6,
// ActivityTaskScheduled 3".
func (t Tally) EventBreakdown(per float64) string {
	types := make([]string, 0, len(t.ByEvent))
	for k := range t.ByEvent {
		types = append(types, k)
	}
	sort.Slice(types, func(i, j int) bool {
		if a, b := t.ByEvent[types[i]], t.ByEvent[types[j]]; a != b {
			return a > b
		}
		return types[i] < types[j]
	})
	parts := make([]string, len(types))
	for i, k := range types {
		parts[i] = fmt.Sprintf("%s %s", k, num(float64(t.ByEvent[k])/per))
	}
	return strings.Join(parts, ", ")
}

// Breakdown lists the non-zero kinds, e.g. "activity started or retried 2,
// timer started 1", in the order of Rules.
func (t Tally) Breakdown(per float64) string {
	var parts []string
	for _, r := range Rules {
		if n := t.ByKind[r.Kind]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", short(r.Kind), num(float64(n)/per)))
		}
	}
	return strings.Join(parts, ", ")
}

// short is a kind's name without its parenthesis.
func short(k Kind) string {
	s, _, _ := strings.Cut(string(k), " (")
	return s
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// Kinds are the kinds present in any of the tallies, in the order of Rules.
func Kinds(ts ...Tally) []Kind {
	seen := map[Kind]bool{}
	for _, t := range ts {
		for k, n := range t.ByKind {
			if n > 0 {
				seen[k] = true
			}
		}
	}
	var out []Kind
	for _, r := range Rules {
		if seen[r.Kind] {
			out = append(out, r.Kind)
		}
	}
	return out
}
