package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeTemporal stands in for the Temporal server behind a client: runs by
// workflow id, the task queue's pollers, query answers. Only the methods
// the starter calls are faked; any other panics (the embedded nil Client).
type fakeTemporal struct {
	client.Client

	mu      sync.Mutex
	pollers []*taskqueuepb.PollerInfo
	runs    map[string][]*fakeRun // by workflow id, the latest last
	started []client.StartWorkflowOptions
	// queries answer QueryWorkflow by "<workflow id>/<query type>"; a
	// missing one fails as a query to a workflow without such a handler.
	queries map[string]func() (any, error)
	// onStart, when set, is given each run started, to settle it.
	onStart func(r *fakeRun)
	// list answers ListWorkflow (none when nil).
	list func(*workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	// onCancel, when set, is told of each cancel request.
	onCancel func(id string)
}

func (f *fakeTemporal) CancelWorkflow(ctx context.Context, id, runID string) error {
	if f.onCancel != nil {
		f.onCancel(id)
	}
	return nil
}

// fakeRun is one run: running until ended by end.
type fakeRun struct {
	id, runID, typ, queue string
	status                enumspb.WorkflowExecutionStatus
	result                any
	err                   error
	done                  chan struct{}
	memo                  map[string]any
	input                 any // the first event's input
	// executes is when a run started with a start delay has its first
	// task (describe's execution time); zero: at once.
	executes time.Time
}

func (r *fakeRun) end(status enumspb.WorkflowExecutionStatus, result any, err error) {
	r.status, r.result, r.err = status, result, err
	close(r.done)
}

// useFake makes the starter dial f instead of Temporal, for one test.
func useFake(t *testing.T, f *fakeTemporal) *fakeTemporal {
	t.Helper()
	if f.runs == nil {
		f.runs = map[string][]*fakeRun{}
	}
	if f.queries == nil {
		f.queries = map[string]func() (any, error){}
	}
	dialFake = func() client.Client { return f }
	t.Cleanup(func() { dialFake = nil })
	return f
}

// worker adds a poller with identity, as a worker polling now shows.
func (f *fakeTemporal) worker(identity string) *fakeTemporal {
	f.pollers = append(f.pollers, &taskqueuepb.PollerInfo{Identity: identity, LastAccessTime: timestamppb.Now()})
	return f
}

// addRun records a run under id, as if started earlier.
func (f *fakeTemporal) addRun(id, typ string) *fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runs == nil {
		f.runs = map[string][]*fakeRun{}
	}
	r := &fakeRun{id: id, runID: fmt.Sprintf("run-%d", len(f.runs[id])+1), typ: typ, queue: "outpace",
		status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, done: make(chan struct{})}
	f.runs[id] = append(f.runs[id], r)
	return r
}

func (f *fakeTemporal) latest(id string) *fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := f.runs[id]
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

func (f *fakeTemporal) Close() {}

func (f *fakeTemporal) ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	if r := f.latest(opts.ID); r != nil &&
		(r.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || opts.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", r.runID)
	}
	typ, _ := workflow.(string)
	r := f.addRun(opts.ID, typ)
	r.queue = opts.TaskQueue
	if opts.StartDelay > 0 {
		r.executes = time.Now().Add(opts.StartDelay)
	}
	if opts.Memo != nil {
		r.memo = opts.Memo
	}
	if len(args) > 0 {
		r.input = args[0]
	}
	f.mu.Lock()
	f.started = append(f.started, opts)
	f.mu.Unlock()
	if f.onStart != nil {
		f.onStart(r)
	}
	return r, nil
}

func (f *fakeTemporal) GetWorkflow(ctx context.Context, id, runID string) client.WorkflowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs[id] {
		if r.runID == runID || runID == "" {
			return r
		}
	}
	panic("GetWorkflow of a run that does not exist: " + id + " " + runID)
}

func (f *fakeTemporal) DescribeWorkflowExecution(ctx context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var r *fakeRun
	for _, x := range f.runs[id] {
		if x.runID == runID || runID == "" {
			r = x
		}
	}
	if r == nil {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: r.runID},
		Type:      &commonpb.WorkflowType{Name: r.typ},
		Status:    r.status,
		TaskQueue: r.queue,
	}
	if !r.executes.IsZero() {
		// A delayed run: only its start in its history.
		info.StartTime, info.ExecutionTime, info.HistoryLength = timestamppb.New(time.Now()), timestamppb.New(r.executes), 1
	}
	if r.memo != nil {
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
		for k, v := range r.memo {
			info.Memo.Fields[k], _ = converter.GetDefaultDataConverter().ToPayload(v)
		}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

func (f *fakeTemporal) DescribeTaskQueue(ctx context.Context, queue string, typ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &workflowservice.DescribeTaskQueueResponse{Pollers: f.pollers}, nil
}

func (f *fakeTemporal) QueryWorkflow(ctx context.Context, id, runID, queryType string, args ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	answer := f.queries[id+"/"+queryType]
	f.mu.Unlock()
	if answer == nil {
		return nil, serviceerror.NewInvalidArgument("unknown queryType " + queryType)
	}
	v, err := answer()
	if err != nil {
		return nil, err
	}
	return fakeValue{v}, nil
}

func (f *fakeTemporal) GetWorkflowHistory(ctx context.Context, id, runID string, isLongPoll bool, filter enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	r, ok := f.GetWorkflow(ctx, id, runID).(*fakeRun)
	if !ok || filter != enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT {
		panic("GetWorkflowHistory: only the first event of a run is faked")
	}
	input, err := converter.GetDefaultDataConverter().ToPayloads(r.input)
	if err != nil {
		panic(err)
	}
	return &fakeHistory{events: []*historypb.HistoryEvent{{
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: input},
		},
	}}}
}

type fakeHistory struct{ events []*historypb.HistoryEvent }

func (h *fakeHistory) HasNext() bool { return len(h.events) > 0 }

func (h *fakeHistory) Next() (*historypb.HistoryEvent, error) {
	e := h.events[0]
	h.events = h.events[1:]
	return e, nil
}

func (f *fakeTemporal) ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if f.list == nil {
		return &workflowservice.ListWorkflowExecutionsResponse{}, nil
	}
	return f.list(req)
}

func (r *fakeRun) GetID() string    { return r.id }
func (r *fakeRun) GetRunID() string { return r.runID }

func (r *fakeRun) GetFirstExecutionRunID() string { return r.runID }

func (r *fakeRun) Get(ctx context.Context, valuePtr any) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.err != nil {
		return r.err
	}
	return fakeValue{r.result}.Get(valuePtr)
}

func (r *fakeRun) GetWithOptions(ctx context.Context, valuePtr any, _ client.WorkflowRunGetOptions) error {
	return r.Get(ctx, valuePtr)
}

// fakeValue is an answer as the client decodes it: through JSON.
type fakeValue struct{ v any }

func (v fakeValue) HasValue() bool { return v.v != nil }

func (v fakeValue) Get(ptr any) error {
	if v.v == nil || ptr == nil {
		return nil
	}
	b, err := json.Marshal(v.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// fast makes the starter's waits short, for one test.
func fast(t *testing.T) {
	t.Helper()
	grace, interval := noWorkerGrace, progressInterval
	noWorkerGrace, progressInterval = 50*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { noWorkerGrace, progressInterval = grace, interval })
}

func (f *fakeTemporal) DescribeWorkflow(ctx context.Context, id, runID string) (*client.WorkflowExecutionDescription, error) {
	d, err := f.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return nil, err
	}
	return &client.WorkflowExecutionDescription{RawResponse: d}, nil
}
