// Command campaign benchmarks the Campaign workflow end to end: a CSV of N
// recipients, the real worker binary, a Temporal dev server (the pinned CLI)
// and the OutX sandbox over HTTP with tasks that finish at once.
//
// It first measures a baseline, the same OutX calls made by a plain loop
// (send, then poll until final, one message at a time), then runs a campaign
// for --duration or to completion, sampling its progress and the worker's
// memory, and reports throughput (also as a ratio of the baseline), how many
// runs the campaign continued-as-new into, the longest history of any of its
// runs, the largest payload in them, the history length of its messages' runs
// and the worker's peak RSS, as Markdown on standard output. Progress goes to
// standard error.
//
//	go run ./bench/campaign                                   # 1,000,000 recipients, 3m
//	go run ./bench/campaign --recipients 2000 --duration 1m   # a quick run
//
// Every process it starts is stopped on exit, also on Ctrl-C.
//
// On the dev server's default dynamic config, the history service polls its
// transfer queue at most 20 times a second (history.transferProcessorMaxPollRPS,
// and the dev server has one shard), so each workflow or activity task waits
// about 40 ms to be dispatched; a campaign, which handles one recipient at a
// time over about seven dispatches, is bounded by that. To see past it:
//
//	go run ./bench/campaign --server-arg=--dynamic-config-value \
//	    --server-arg=history.transferProcessorMaxPollRPS=1000
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/bench/internal/benchcmd"
	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

const usage = `campaign benchmarks the Campaign workflow end to end (real worker binary,
Temporal dev server, OutX sandbox over HTTP) against a plain OutX loop.

Usage:
  go run ./bench/campaign [flags]

The report (Markdown) goes to standard output, progress to standard error.

Flags:
`

const template = "Hi {{first_name}} at {{company}}"

type config struct {
	recipients   int
	duration     time.Duration
	sample       time.Duration
	warmup       time.Duration
	baseline     int
	taskDelay    time.Duration
	pollInterval time.Duration
	pollBurst    time.Duration
	pageSize     int
	maxRunEvents int
	children     int
	serverArgs   []string
}

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	prog := benchcmd.New("campaign", usage, benchcmd.Help{
		Temporal:  "the temporal CLI (default: $OUTPACE_TEMPORAL_CLI, else .tools/bin/temporal; `make temporal` builds it)",
		WorkerBin: "a worker binary to run (default: go build ./worker into the temporary directory)",
		Keep:      "keep the temporary directory (CSV, worker and dev server logs)",
		ServerArg: "an extra argument for `temporal server start-dev` (repeatable), e.g. --server-arg=--dynamic-config-value --server-arg=history.transferProcessorMaxPollRPS=1000",
	})
	fs := prog.FlagSet
	fs.IntVar(&cfg.recipients, "recipients", 1_000_000, "recipients in the generated CSV")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Minute, "how long the campaign runs at most before it is measured and cancelled")
	fs.DurationVar(&cfg.sample, "sample", 5*time.Second, "time between samples of progress and worker memory")
	fs.DurationVar(&cfg.warmup, "warmup", 30*time.Second, "start-up left out of the steady-state rate")
	fs.IntVar(&cfg.baseline, "baseline", 5000, "messages sent by the plain OutX loop, one at a time (0: no baseline)")
	fs.DurationVar(&cfg.taskDelay, "task-delay", time.Nanosecond, "sandbox: time from a task's creation to its final status (0 would mean the sandbox's default, 1s)")
	fs.DurationVar(&cfg.pollInterval, "poll-interval", 20*time.Millisecond, "worker --poll-interval, and the baseline's")
	fs.DurationVar(&cfg.pollBurst, "poll-burst", 10*time.Second, "worker --poll-burst")
	fs.IntVar(&cfg.pageSize, "page-size", 0, "campaign page_size (0: the workflow's default)")
	fs.IntVar(&cfg.maxRunEvents, "max-run-events", 0, "campaign max_run_events (0: the workflow's default)")
	fs.IntVar(&cfg.children, "children", 20, "SendMessage runs sampled for their history length")
	if code, ok := prog.Parse(os.Args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 || cfg.recipients < 1 || cfg.duration <= 0 || cfg.sample <= 0 || cfg.baseline < 0 || cfg.taskDelay < 0 {
		return prog.Usage("want --recipients >= 1, positive --duration and --sample, --baseline >= 0, --task-delay >= 0, and no arguments")
	}
	cfg.serverArgs = prog.Flags.ServerArgs
	return prog.Run(stack.Options{
		TaskDelay:  cfg.taskDelay,
		WorkerArgs: []string{"--poll-interval", cfg.pollInterval.String(), "--poll-burst", cfg.pollBurst.String()},
	}, func(ctx context.Context, st *stack.Stack) (func(io.Writer), error) {
		b := &bench{cfg: cfg, st: st, started: prog.Started}
		rep, err := b.run(ctx)
		if err != nil {
			return nil, err
		}
		return func(w io.Writer) { b.print(w, rep) }, nil
	})
}

type bench struct {
	cfg     config
	st      *stack.Stack
	started time.Time

	csvPath  string
	csvBytes int64
	csvTime  time.Duration
	digest   string

	campaignID string
	campaign   client.WorkflowRun
	closed     bool // the campaign's last run closed
}

// sample is one look at the campaign and the worker.
type sample struct {
	at       time.Duration // since the campaign started
	done     int
	run      int
	status   workflows.CampaignStatus
	rss, hwm int64 // kB
	queryErr string
}

type report struct {
	baselineN    int
	baselineTime time.Duration
	baselineErr  error

	samples   []sample
	final     workflows.CampaignProgress
	finalOK   bool
	elapsed   time.Duration
	completed bool
	endErr    string

	runs           []*workflowpb.WorkflowExecutionInfo
	longestRun     string
	longestLen     int64
	longestFetched int
	longestClosed  bool
	biggest        payloadHit
	biggestEvent   payloadHit
	eventsWalked   int

	wtTimedOut, wtFailed int
	maxGap               time.Duration
	maxGapAt             string
	childInParent        []time.Duration // child started to closed, as the campaign saw it
	betweenChildren      []time.Duration // a child closed to the next one initiated
	childTimeline        []string

	childCount   int
	childMax     int64
	childMaxID   string
	childFetched int

	peakKB, endKB int64
	workerLines   []string
	workerWarns   int
}

func (b *bench) run(ctx context.Context) (*report, error) {
	// 1. The recipients, in the stack's temporary directory.
	if err := b.writeCSV(ctx); err != nil {
		return nil, err
	}

	rep := &report{}
	// 2. The baseline, on the same sandbox, while the worker is idle.
	if b.cfg.baseline > 0 {
		stack.Progress("baseline: %d messages through a plain OutX loop...", b.cfg.baseline)
		rep.baselineN, rep.baselineTime, rep.baselineErr = b.baseline(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if rep.baselineErr != nil {
			stack.Progress("baseline: %v", rep.baselineErr)
		} else {
			stack.Progress("baseline: %d messages in %s: %.1f/s", rep.baselineN, rep.baselineTime.Round(time.Millisecond), rate(rep.baselineN, rep.baselineTime))
		}
	}

	// 3. The campaign.
	if err := b.measure(ctx, rep); err != nil {
		return nil, err
	}

	// 4. Histories, payloads, children: every run has closed by now.
	b.analyse(ctx, rep)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.peakKB = max(rep.peakKB, stack.ProcKB(b.st.Worker.PID(), "VmHWM"))
	rep.workerWarns, rep.workerLines = logProblems(b.st.Worker.Log, 15)
	return rep, nil
}

// writeCSV streams N recipients to disk and digests the file as the starter
// would.
func (b *bench) writeCSV(ctx context.Context) error {
	start := time.Now()
	b.csvPath = filepath.Join(b.st.Tmp, "recipients.csv")
	f, err := os.Create(b.csvPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	names := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"}
	companies := []string{"Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"}
	_, _ = w.WriteString("recipient_urn,first_name,company\n")
	for i := range b.cfg.recipients {
		if i%(1<<16) == 0 && ctx.Err() != nil {
			f.Close()
			return ctx.Err()
		}
		fmt.Fprintf(w, "urn:li:person:ACoAABench%07d,%s,%s %d\n", i, names[i%len(names)], companies[i%len(companies)], i%1000)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, err := os.Stat(b.csvPath)
	if err != nil {
		return err
	}
	b.csvBytes = st.Size()
	if b.digest, err = activities.FileDigest(b.csvPath); err != nil {
		return err
	}
	b.csvTime = time.Since(start)
	stack.Progress("wrote %d recipients (%.1f MiB) and their sha256 in %s", b.cfg.recipients, mib(b.csvBytes), b.csvTime.Round(time.Millisecond))
	return nil
}

// baseline makes the campaign's OutX calls with no Temporal at all: send,
// then read the task's status until it is final (at once, then every poll
// interval, as the PollStatus activity does), one message after another.
func (b *bench) baseline(ctx context.Context) (int, time.Duration, error) {
	oc, err := outx.New(b.st.Sandbox.URL, outxtest.DefaultAPIKey)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	for i := range b.cfg.baseline {
		created, err := oc.SendMessage(ctx, outx.SendMessageRequest{
			RecipientURN: fmt.Sprintf("urn:li:person:ACoAABaseline%07d", i),
			Message:      fmt.Sprintf("Hi Ada at Acme %d", i%1000),
		})
		if err != nil {
			return i, time.Since(start), fmt.Errorf("message %d: %w", i, err)
		}
		for {
			task, err := oc.GetTaskStatus(ctx, created.TaskID)
			if err != nil {
				return i, time.Since(start), fmt.Errorf("message %d: %w", i, err)
			}
			if task.Finished() {
				if !task.Sent() {
					return i, time.Since(start), fmt.Errorf("message %d not sent: %s", i, task.FailureReason())
				}
				break
			}
			select {
			case <-ctx.Done():
				return i, time.Since(start), ctx.Err()
			case <-time.After(b.cfg.pollInterval):
			}
		}
	}
	return b.cfg.baseline, time.Since(start), nil
}

func (b *bench) campaignInput() workflows.CampaignInput {
	zeroGap, zeroCap := workflows.Duration(0), 0
	return workflows.CampaignInput{
		Template:       template,
		RecipientsFile: &activities.RecipientsFile{Path: b.csvPath, SHA256: b.digest},
		Pacing: workflows.Pacing{
			MinGap: &zeroGap, MaxGap: &zeroGap, HourlyCap: &zeroCap, DailyCap: &zeroCap,
		},
		Window:       workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
		PageSize:     b.cfg.pageSize,
		MaxRunEvents: b.cfg.maxRunEvents,
	}
}

// measure runs the campaign for the duration or to completion, sampling
// every cfg.sample, then cancels it if it is still running and waits for its
// last run to close.
func (b *bench) measure(ctx context.Context, rep *report) error {
	b.campaignID = fmt.Sprintf("bench-%s", time.Now().UTC().Format("20060102-150405"))
	start := time.Now()
	run, err := b.st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    b.campaignID,
		TaskQueue:             workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.CampaignIDAttribute.ValueSet(b.campaignID)),
	}, workflows.CampaignWorkflow, b.campaignInput())
	if err != nil {
		return fmt.Errorf("starting the campaign: %w", err)
	}
	b.campaign = run
	stack.Progress("campaign %s started; measuring for %s or until it finishes", b.campaignID, b.cfg.duration)

	// The campaign's end, following its continue-as-new chain.
	type ended struct {
		at  time.Duration
		res workflows.CampaignProgress
		err error
	}
	endCh := make(chan ended, 1)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		var res workflows.CampaignProgress
		err := run.Get(wctx, &res)
		endCh <- ended{time.Since(start), res, err}
	}()

	pid := b.st.Worker.PID()
	take := func() sample {
		s := sample{at: time.Since(start), rss: stack.ProcKB(pid, "VmRSS"), hwm: stack.ProcKB(pid, "VmHWM")}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := b.st.Client.QueryWorkflow(qctx, b.campaignID, "", workflows.QueryProgress)
		var p workflows.CampaignProgress
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			s.queryErr = err.Error()
			if n := len(rep.samples); n > 0 { // carry the last known count
				s.done, s.run, s.status = rep.samples[n-1].done, rep.samples[n-1].run, rep.samples[n-1].status
			}
			return s
		}
		rep.final, rep.finalOK = p, true
		s.done, s.run, s.status = p.Counts.Done(), p.Run, p.Status
		return s
	}
	logSample := func(s sample) {
		note := ""
		if s.queryErr != "" {
			note = "  (query failed: " + firstLine(s.queryErr) + ")"
		}
		prev := sample{}
		if n := len(rep.samples); n > 1 {
			prev = rep.samples[n-2]
		}
		stack.Progress("%7s  done %8d  %7.1f/s now  run %3d  %-10s  worker RSS %6.1f MiB%s",
			s.at.Round(time.Second), s.done, rate(s.done-prev.done, s.at-prev.at), s.run, s.status, float64(s.rss)/1024, note)
	}

	tick := time.NewTicker(b.cfg.sample)
	defer tick.Stop()
	limit := time.NewTimer(b.cfg.duration)
	defer limit.Stop()
	rep.samples = append(rep.samples, sample{})
measuring:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.st.Worker.Exited():
			return fmt.Errorf("the worker exited during the campaign: %v", b.st.Worker.Err())
		case e := <-endCh:
			b.closed = true
			rep.elapsed, rep.completed = e.at, e.err == nil
			if e.err != nil {
				rep.endErr = e.err.Error()
				stack.Progress("campaign ended with an error: %v", e.err)
			} else {
				rep.final, rep.finalOK = e.res, true
			}
			s := sample{at: e.at, done: rep.final.Counts.Done(), run: rep.final.Run, status: rep.final.Status,
				rss: stack.ProcKB(pid, "VmRSS"), hwm: stack.ProcKB(pid, "VmHWM")}
			rep.samples = append(rep.samples, s)
			logSample(s)
			break measuring
		case <-tick.C:
			rep.samples = append(rep.samples, take())
			logSample(rep.samples[len(rep.samples)-1])
		case <-limit.C:
			// The last tick may have just sampled: then it is the end.
			if last := rep.samples[len(rep.samples)-1]; len(rep.samples) == 1 || time.Since(start)-last.at > time.Second || last.queryErr != "" {
				rep.samples = append(rep.samples, take())
				logSample(rep.samples[len(rep.samples)-1])
			}
			rep.elapsed = rep.samples[len(rep.samples)-1].at
			break measuring
		}
	}
	rep.endKB = rep.samples[len(rep.samples)-1].rss
	rep.peakKB = stack.ProcKB(pid, "VmHWM")

	if !b.closed {
		stack.Progress("cancelling the campaign (%d of %d done)...", rep.final.Counts.Done(), rep.final.Total)
		if err := b.st.Client.CancelWorkflow(ctx, b.campaignID, ""); err != nil {
			return fmt.Errorf("cancelling the campaign: %w", err)
		}
		select {
		case e := <-endCh:
			b.closed = true
			if e.err != nil && !temporal.IsCanceledError(e.err) {
				stack.Progress("after the cancel, the campaign ended with: %v", e.err)
			}
		case <-time.After(time.Minute):
			stack.Progress("the campaign did not close within a minute of its cancellation")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// analyse lists the campaign's runs and walks their histories, and samples
// its children.
func (b *bench) analyse(ctx context.Context, rep *report) {
	stack.Progress("reading the campaign's histories...")
	runs, err := b.list(ctx, fmt.Sprintf("WorkflowId = %q", b.campaignID), 0)
	if err != nil {
		rep.endErr = strings.TrimSpace(rep.endErr + "; listing runs: " + err.Error())
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].GetStartTime().AsTime().Before(runs[j].GetStartTime().AsTime()) })
	rep.runs = runs
	for _, r := range runs {
		n := r.GetHistoryLength()
		closed := r.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if !closed { // visibility's count of a running run is stale
			if desc, err := b.st.Client.DescribeWorkflow(ctx, b.campaignID, r.GetExecution().GetRunId()); err == nil {
				d := desc.RawResponse
				n = d.GetWorkflowExecutionInfo().GetHistoryLength()
			}
		}
		if n > rep.longestLen || (n == rep.longestLen && closed && !rep.longestClosed) {
			rep.longestLen, rep.longestRun, rep.longestClosed = n, r.GetExecution().GetRunId(), closed
		}
	}
	// Every event of every run: the largest payload and the largest event,
	// and where the time goes between the campaign's messages.
	var lastChildEnd *time.Time
	for _, r := range runs {
		runID := r.GetExecution().GetRunId()
		events := 0
		var prev *historypb.HistoryEvent
		started := map[int64]time.Time{} // a child's initiated event id: when it started
		it := b.st.Client.GetWorkflowHistory(ctx, b.campaignID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				rep.endErr = strings.TrimSpace(rep.endErr + "; reading history: " + err.Error())
				break
			}
			events++
			rep.eventsWalked++
			at := ev.GetEventTime().AsTime()
			if prev != nil {
				if gap := at.Sub(prev.GetEventTime().AsTime()); gap > rep.maxGap {
					rep.maxGap = gap
					rep.maxGapAt = fmt.Sprintf("%s (event %d) to %s (event %d), run %s", prev.GetEventType(), prev.GetEventId(), ev.GetEventType(), ev.GetEventId(), runID)
				}
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				rep.wtTimedOut++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				rep.wtFailed++
			case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
				if lastChildEnd != nil {
					rep.betweenChildren = append(rep.betweenChildren, at.Sub(*lastChildEnd))
					lastChildEnd = nil
				}
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
				started[ev.GetChildWorkflowExecutionStartedEventAttributes().GetInitiatedEventId()] = at
			}
			if id, ok := childClosedInitiatedID(ev); ok {
				if t0, ok := started[id]; ok {
					rep.childInParent = append(rep.childInParent, at.Sub(t0))
				}
				end := at
				lastChildEnd = &end
			}
			prev = ev
			hit := payloadHit{size: proto.Size(ev), event: ev.GetEventType().String(), eventID: ev.GetEventId(), run: runID}
			if hit.size > rep.biggestEvent.size {
				rep.biggestEvent = hit
			}
			walkPayloads(ev.ProtoReflect(), "", func(path, kind string, size int) {
				if size > rep.biggest.size {
					rep.biggest = payloadHit{size: size, event: ev.GetEventType().String(), eventID: ev.GetEventId(), run: runID, field: path, kind: kind}
				}
			})
		}
		if runID == rep.longestRun {
			rep.longestFetched = events
		}
	}

	// A sample of the campaign's messages, closed ones first.
	q := fmt.Sprintf("WorkflowType = %q AND CampaignId = %q", workflows.SendMessageWorkflow, b.campaignID)
	children, err := b.list(ctx, q+` AND ExecutionStatus != "Running"`, b.cfg.children)
	if err != nil || len(children) == 0 {
		children, err = b.list(ctx, q, b.cfg.children)
	}
	if err != nil {
		rep.endErr = strings.TrimSpace(rep.endErr + "; listing messages: " + err.Error())
	}
	rep.childCount = len(children)
	for _, c := range children {
		if c.GetHistoryLength() > rep.childMax {
			rep.childMax, rep.childMaxID = c.GetHistoryLength(), c.GetExecution().GetWorkflowId()
		}
	}
	if rep.childMaxID != "" {
		it := b.st.Client.GetWorkflowHistory(ctx, rep.childMaxID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var first, prev time.Time
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			rep.childFetched++
			at := ev.GetEventTime().AsTime()
			if first.IsZero() {
				first, prev = at, at
			}
			rep.childTimeline = append(rep.childTimeline, fmt.Sprintf("%3d  %+8.1f ms  %+7.1f ms  %s", ev.GetEventId(),
				ms(at.Sub(first)), ms(at.Sub(prev)), ev.GetEventType()))
			prev = at
		}
	}
}

// childClosedInitiatedID is the initiated event id of the child a
// ChildWorkflowExecution{Completed,Failed,...} event closes.
func childClosedInitiatedID(ev *historypb.HistoryEvent) (int64, bool) {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
		return ev.GetChildWorkflowExecutionCompletedEventAttributes().GetInitiatedEventId(), true
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
		return ev.GetChildWorkflowExecutionFailedEventAttributes().GetInitiatedEventId(), true
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
		return ev.GetChildWorkflowExecutionCanceledEventAttributes().GetInitiatedEventId(), true
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
		return ev.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId(), true
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
		return ev.GetChildWorkflowExecutionTerminatedEventAttributes().GetInitiatedEventId(), true
	}
	return 0, false
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantiles are the median, the 95th percentile and the maximum.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	return fmt.Sprintf("median %.0f ms, p95 %.0f ms, max %.0f ms (n=%d)", ms(q(0.5)), ms(q(0.95)), ms(s[len(s)-1]), len(s))
}

// list returns the executions a visibility query matches; limit 0 means all.
func (b *bench) list(ctx context.Context, query string, limit int) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		size := 1000
		if limit > 0 {
			size = min(size, limit-len(out))
		}
		resp, err := b.st.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: int32(size), NextPageToken: token,
		})
		if err != nil {
			return out, err
		}
		out = append(out, resp.GetExecutions()...)
		token = resp.GetNextPageToken()
		if len(token) == 0 || (limit > 0 && len(out) >= limit) {
			if limit > 0 && len(out) > limit {
				out = out[:limit]
			}
			return out, nil
		}
	}
}

// payloadHit is the largest payload (or event) seen so far.
type payloadHit struct {
	size    int
	event   string
	eventID int64
	run     string
	field   string
	kind    string // Payloads or Payload
}

var (
	payloadsName = (&commonpb.Payloads{}).ProtoReflect().Descriptor().FullName()
	payloadName  = (&commonpb.Payload{}).ProtoReflect().Descriptor().FullName()
)

// walkPayloads calls visit with the encoded size of every Payloads message in
// m (an input, a result, a marker's details, failure details...) and of every
// Payload not inside one (a memo field, a search attribute, a header field).
func walkPayloads(m protoreflect.Message, path string, visit func(path, kind string, size int)) {
	switch m.Descriptor().FullName() {
	case payloadsName:
		visit(path, "Payloads", proto.Size(m.Interface()))
		return
	case payloadName:
		visit(path, "Payload", proto.Size(m.Interface()))
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := string(fd.Name())
		if path != "" {
			p = path + "." + p
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				walkPayloads(mv.Message(), p+"["+k.String()+"]", visit)
				return true
			})
		case fd.IsList():
			if fd.Message() == nil {
				return true
			}
			for i := range v.List().Len() {
				walkPayloads(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", p, i), visit)
			}
		case fd.Message() != nil:
			walkPayloads(v.Message(), p, visit)
		}
		return true
	})
}

func (b *bench) print(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	done := r.final.Counts.Done()
	overall := rate(done, r.elapsed)
	steady, steadyFrom, steadyOK := steadyRate(r.samples, b.cfg.warmup)
	base := rate(r.baselineN, r.baselineTime)

	p("## Campaign benchmark: %d recipients, %s", b.cfg.recipients, b.started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Command: `%s`", stack.CommandLine("./bench/campaign"))
	p("")
	server := "dev server with default dynamic config"
	if len(b.cfg.serverArgs) > 0 {
		server = "dev server with `" + strings.Join(b.cfg.serverArgs, " ") + "`"
	}
	p("Machine: %d CPUs (%s), %s/%s, %s. Temporal %s (in-memory SQLite). Sandbox task delay %s; worker `--poll-interval %s --poll-burst %s`; pacing min_gap = max_gap = 0, no caps, window mon-sun 00:00-24:00; page_size %s, max_run_events %s.",
		runtime.NumCPU(), stack.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), server, b.cfg.taskDelay, b.cfg.pollInterval, b.cfg.pollBurst,
		orDefault(b.cfg.pageSize, workflows.DefaultPageSize), orDefault(b.cfg.maxRunEvents, workflows.DefaultRunEvents))
	p("")
	p("| measure | value |")
	p("|---|---|")
	p("| recipients in the CSV | %d (%.1f MiB, written and digested in %s) |", b.cfg.recipients, mib(b.csvBytes), b.csvTime.Round(time.Millisecond))
	status := string(r.final.Status)
	if r.completed {
		status = "finished"
	} else if b.closed && r.endErr == "" {
		status += ", then cancelled by the benchmark"
	}
	p("| campaign at the end | %s |", status)
	c := r.final.Counts
	p("| recipients done | %d (delivered %d, failed %d, unknown %d, invalid %d, skipped %d) |", done, c.Delivered, c.Failed, c.Unknown, c.Invalid, c.Skipped)
	p("| elapsed | %s |", r.elapsed.Round(100*time.Millisecond))
	p("| recipients/s, overall | %.2f |", overall)
	if steadyOK {
		p("| recipients/s, steady state (from %s on) | %.2f |", steadyFrom.Round(time.Second), steady)
	} else {
		p("| recipients/s, steady state | n/a (no sample more than %s after the start) |", b.cfg.warmup)
	}
	switch {
	case b.cfg.baseline == 0:
		p("| baseline | not measured (--baseline 0) |")
	case r.baselineErr != nil:
		p("| baseline | failed after %d messages: %s |", r.baselineN, r.baselineErr)
	case done == 0:
		p("| baseline: plain OutX loop, messages/s | %.1f (no recipient done: no ratio) |", base)
	default:
		p("| baseline: plain OutX loop, messages/s | %.1f (%d messages in %s: send, then poll until final, one at a time) |", base, r.baselineN, r.baselineTime.Round(time.Millisecond))
		ratio := fmt.Sprintf("%.3g overall (the plain loop is %.0f× faster)", overall/base, base/overall)
		if steadyOK {
			ratio += fmt.Sprintf(", %.3g steady state", steady/base)
		}
		p("| campaign / baseline | %s |", ratio)
	}
	p("| campaign runs (continue-as-new) | %d listed (`WorkflowId = %q`); the last run reported run %d |", len(r.runs), b.campaignID, r.final.Run)
	verify := "not verified"
	if r.longestFetched > 0 {
		verify = fmt.Sprintf("%d events fetched", r.longestFetched)
	}
	closedNote := ""
	if !r.longestClosed {
		closedNote = ", still running"
	}
	p("| longest campaign run history | %d events (run %s%s; %s) |", r.longestLen, r.longestRun, closedNote, verify)
	if r.biggest.size > 0 {
		p("| largest payload in any campaign run | %d bytes (%.1f KiB, encoded %s): %s `%s`, event %d of run %s |", r.biggest.size, float64(r.biggest.size)/1024,
			r.biggest.kind, r.biggest.event, r.biggest.field, r.biggest.eventID, r.biggest.run)
		p("| largest event in any campaign run | %d bytes: %s, event %d (%d events walked in %d runs) |", r.biggestEvent.size, r.biggestEvent.event, r.biggestEvent.eventID, r.eventsWalked, len(r.runs))
	}
	if r.childCount > 0 {
		p("| longest SendMessage history (sample of %d) | %d events (%s; %d events fetched) |", r.childCount, r.childMax, r.childMaxID, r.childFetched)
	} else {
		p("| longest SendMessage history | no message runs found |")
	}
	p("| worker peak RSS (VmHWM) | %.1f MiB (RSS at the end of the measurement %.1f MiB) |", float64(r.peakKB)/1024, float64(r.endKB)/1024)
	p("| a message's run, started to closed, as the campaign saw it | %s |", quantiles(r.childInParent))
	p("| from a message's close to the next message's start, in the campaign | %s |", quantiles(r.betweenChildren))
	p("| longest gap between two events of the campaign | %.0f ms: %s |", ms(r.maxGap), r.maxGapAt)
	p("| workflow tasks timed out / failed in the campaign | %d / %d |", r.wtTimedOut, r.wtFailed)
	p("| worker log lines at warn or above | %d |", r.workerWarns)
	if r.endErr != "" {
		p("| problems | %s |", strings.ReplaceAll(firstLine(r.endErr), "|", "\\|"))
	}
	p("")
	p("Samples (every %s):", b.cfg.sample)
	p("")
	p("| t | done | recipients/s in the interval | run | status | worker RSS MiB |")
	p("|---|---|---|---|---|---|")
	for i := 1; i < len(r.samples); i++ {
		s, prev := r.samples[i], r.samples[i-1]
		status := string(s.status)
		if s.queryErr != "" {
			status += " (query failed)"
		}
		p("| %s | %d | %.2f | %d | %s | %.1f |", s.at.Round(time.Second), s.done, rate(s.done-prev.done, s.at-prev.at), s.run, status, float64(s.rss)/1024)
	}
	if len(r.childTimeline) > 0 {
		p("")
		p("History of %s (event, since its first event, since the previous event):", r.childMaxID)
		p("")
		p("```")
		for _, l := range r.childTimeline {
			p("%s", l)
		}
		p("```")
	}
	if len(r.workerLines) > 0 {
		p("")
		p("Worker log, first lines at warn or above:")
		p("")
		p("```")
		for _, l := range r.workerLines {
			p("%s", l)
		}
		p("```")
	}
}

// steadyRate is the rate between the first sample at or after the warm-up
// and the last sample.
func steadyRate(samples []sample, warmup time.Duration) (float64, time.Duration, bool) {
	if len(samples) < 2 {
		return 0, 0, false
	}
	last := samples[len(samples)-1]
	for _, s := range samples {
		if s.at >= warmup && s.queryErr == "" {
			if last.at-s.at < time.Second {
				return 0, 0, false
			}
			return rate(last.done-s.done, last.at-s.at), s.at, true
		}
	}
	return 0, 0, false
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func orDefault(v, def int) string {
	if v == 0 {
		return strconv.Itoa(def) + " (default)"
	}
	return strconv.Itoa(v)
}

// logProblems counts the worker's log lines at warn level or above and
// returns the first few.
func logProblems(path string, keep int) (int, []string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	n := 0
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" {
			continue
		}
		n++
		if len(lines) < keep {
			if len(l) > 400 {
				l = l[:400] + "…"
			}
			lines = append(lines, l)
		}
	}
	return n, lines
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
