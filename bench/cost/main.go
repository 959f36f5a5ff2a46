// Command cost measures what one message costs on Temporal: history events
// and Temporal Cloud billable actions, for a single SendMessage and for a
// campaign's recipient (the campaign's share plus the recipient's child run),
// on the real worker, a Temporal dev server and the OutX sandbox over HTTP.
//
// Actions are counted twice, independently:
//
//   - from the runs' real histories, by the published rules
//     (bench/internal/actions; https://docs.temporal.io/cloud/actions);
//   - by the dev server itself: its Prometheus "action" counter, read before
//     and after each scenario. This is the only place heartbeats that reach
//     the server are seen: they leave no history event.
//
// The scenarios run one after another, so that each one's server count is
// its own; nothing else talks to the server meanwhile (no queries).
//
// The baseline is measured in the same run: the worker of --baseline-ref
// (git archive of that commit, then go build ./worker) runs the same
// scenarios, with the same inputs, on the same dev server, on a task queue
// of its own (so with its own account pacer) and with a sandbox of its own
// configured the same way; then the current worker runs them. The report
// opens with issue 13's goal table: before, now, goal.
//
//	go run ./bench/cost      # baseline 01afa64, then the current worker: 20 sends one after another, 20 at once, 2 slow, a 30-recipient campaign
//	go run ./bench/cost --baseline-ref "" --sends 5 --at-once 0 --slow 0 --recipients 10   # quick, current worker only
//
// The report (Markdown) goes to standard output, progress to standard error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/bench/internal/actions"
	"github.com/outpacehq/outpace/bench/internal/benchcmd"
	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

type config struct {
	sends, atOnce, slow, recipients int
	gap                             time.Duration
	pageSize, maxRunEvents          int
	taskDelay, slowDelay            time.Duration
	pollInterval, pollBurst         time.Duration
	baselineRef                     string
	webhooks                        bool
}

// baselineQueue is the baseline worker's task queue: its account's pacer
// is then its own ("pacer/outpace-baseline/default").
const baselineQueue = "outpace-baseline"

// goals are issue 13's targets, per message.
var goals = struct {
	singleRules, singleServer, campaign, events, pacerEvents float64
}{7, 7, 9, 26, 9}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	prog := benchcmd.New("cost", "cost measures history events and Temporal Cloud billable actions per message.\n\nUsage:\n  go run ./bench/cost [flags]\n\nFlags:\n",
		benchcmd.Help{NoServerArg: true})
	fs := prog.FlagSet
	fs.IntVar(&cfg.sends, "sends", 20, "single SendMessage runs to ordinary recipients (delivered), one after another: each starts when the previous has ended")
	fs.IntVar(&cfg.atOnce, "at-once", 20, "single SendMessage runs started together, so that they queue at the account's pacer (0: none)")
	fs.IntVar(&cfg.slow, "slow", 2, "single SendMessage runs whose OutX task stays pending for --slow-delay, one after another (0: none)")
	fs.IntVar(&cfg.recipients, "recipients", 30, "recipients of the campaign (inline; 0: no campaign)")
	fs.DurationVar(&cfg.gap, "gap", time.Second, "the campaign's min_gap = max_gap (a gap is one timer, whatever its length)")
	fs.IntVar(&cfg.pageSize, "page-size", 10, "the campaign's page_size (small, so that a short campaign loads several pages)")
	fs.IntVar(&cfg.maxRunEvents, "max-run-events", 150, "the campaign's max_run_events (small, so that a short campaign continues as new)")
	fs.DurationVar(&cfg.taskDelay, "task-delay", 2*time.Second, "sandbox: an ordinary task's time from creation to delivered")
	fs.DurationVar(&cfg.slowDelay, "slow-delay", 40*time.Second, "sandbox: how long a slow task stays pending")
	fs.DurationVar(&cfg.pollInterval, "poll-interval", time.Second, "worker --poll-interval")
	fs.DurationVar(&cfg.pollBurst, "poll-burst", 10*time.Second, "worker --poll-burst (shorter than the default 2m, so that a slow task reaches the retry-based polling in seconds)")
	fs.StringVar(&cfg.baselineRef, "baseline-ref", "01afa64", "git revision whose worker is measured first, as the baseline (\"\": none)")
	fs.BoolVar(&cfg.webhooks, "webhooks", false, "give the worker(s) a webhooks file with one endpoint, a verifying receiver in this process, taking every event: the events per message, and what they add")
	if code, ok := prog.Parse(os.Args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 || cfg.sends < 1 || cfg.atOnce < 0 || cfg.slow < 0 || cfg.recipients < 0 || cfg.recipients > workflows.MaxInlineRecipient || cfg.gap <= 0 {
		return prog.Usage(fmt.Sprintf("want --sends >= 1, --at-once >= 0, --slow >= 0, --recipients between 0 and %d, a positive --gap, and no arguments", workflows.MaxInlineRecipient))
	}
	workerArgs := []string{"--poll-interval", cfg.pollInterval.String(), "--poll-burst", cfg.pollBurst.String()}
	var hooks *hookSink
	if cfg.webhooks {
		var err error
		if hooks, err = startHookSink(); err != nil {
			fmt.Fprintln(os.Stderr, "cost: --webhooks:", err)
			return 1
		}
		workerArgs = append(workerArgs, "--webhooks-file", hooks.file)
	}
	return prog.Run(stack.Options{
		TaskDelay: cfg.taskDelay, SlowDelay: cfg.slowDelay,
		WorkerArgs: workerArgs,
	}, func(ctx context.Context, st *stack.Stack) (func(io.Writer), error) {
		b := &bench{cfg: cfg, st: st, workerBin: prog.Flags.WorkerBin, hooks: hooks}
		if cfg.baselineRef != "" {
			before, err := b.baseline(ctx)
			if err != nil {
				return nil, fmt.Errorf("baseline %s: %w", cfg.baselineRef, err)
			}
			b.before = before
		}
		now := &variant{name: "now", queue: workflows.TaskQueue}
		head, err := st.ResolveRevision(ctx, "HEAD")
		if err != nil {
			return nil, err
		}
		now.rev = head
		if now.uncommitted, err = st.Uncommitted(ctx, "bench/", "docs/", "README.md"); err != nil {
			return nil, err
		}
		stack.Progress("now: the current worker, task queue %s", now.queue)
		nowStart := time.Now()
		if err := b.runAll(ctx, now); err != nil {
			return nil, fmt.Errorf("now: %w", err)
		}
		b.now = now
		if hooks != nil {
			b.nowElapsed = time.Since(nowStart)
			// Every event delivered: at most a few seconds after the last.
			time.Sleep(5 * time.Second)
			if b.deliverer, err = b.delivererTally(ctx, now.queue); err != nil {
				return nil, fmt.Errorf("the webhook deliverer: %w", err)
			}
		}
		return func(w io.Writer) { b.print(w, prog.Started) }, nil
	})
}

// baseline builds the worker of --baseline-ref, starts it on a lane of its
// own, runs the scenarios on it and stops it again, so that nothing of it
// runs while the current worker is measured.
func (b *bench) baseline(ctx context.Context) (*variant, error) {
	rev, err := b.st.ResolveRevision(ctx, b.cfg.baselineRef)
	if err != nil {
		return nil, err
	}
	stack.Progress("before: building the worker of %s (%s %s)...", rev.Ref, rev.Commit, rev.Subject)
	bin, err := b.st.BuildWorkerAt(ctx, rev)
	if err != nil {
		return nil, err
	}
	lane, err := b.st.StartLane(ctx, bin, baselineQueue)
	if err != nil {
		return nil, err
	}
	defer lane.Close()
	v := &variant{name: "before", rev: rev, queue: baselineQueue}
	if err := b.runAll(ctx, v); err != nil {
		return nil, fmt.Errorf("%w\nlast lines of the baseline worker's log (%s):\n%s", err, lane.Worker.Log, stack.Tail(lane.Worker.Log, 30))
	}
	return v, nil
}

// runAll runs every scenario on v's worker, one after another, after one
// unmeasured send that starts the account's pacer: a pacer runs for as long
// as its account (continuing as new), so its start is no message's cost.
func (b *bench) runAll(ctx context.Context, v *variant) error {
	stack.Progress("%s: one unmeasured send, to start the account's pacer...", v.name)
	warm := scenario{key: "warmup", outcomes: map[workflows.Outcome]int{}}
	if err := b.sends(v, 1, "urn:li:person:ACoAABenchWarmup%04d", false)(ctx, &warm); err != nil {
		return fmt.Errorf("the unmeasured first send: %w", err)
	}
	for _, sc := range []*scenario{
		{name: "single send, delivered, one after another", key: "send", n: b.cfg.sends,
			run: b.sends(v, b.cfg.sends, "urn:li:person:ACoAABenchCost%04d", false)},
		{name: fmt.Sprintf("%d sends at once, delivered", b.cfg.atOnce), header: fmt.Sprintf("%d sends at once, delivered (queued at the pacer)", b.cfg.atOnce),
			key: "atonce", n: b.cfg.atOnce, run: b.sends(v, b.cfg.atOnce, "urn:li:person:ACoAABenchBusy%04d", true)},
		{name: fmt.Sprintf("single send, task pending %s, one after another", b.cfg.slowDelay), key: "slow", n: b.cfg.slow,
			run: b.sends(v, b.cfg.slow, outxtest.Slow+"-benchcost%04d", false)},
		{name: "campaign recipient", key: "campaign", n: b.cfg.recipients, run: b.campaign(v)},
	} {
		if sc.n == 0 {
			continue
		}
		if err := b.measure(ctx, v, sc); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		v.scenarios = append(v.scenarios, sc)
	}
	return nil
}

type bench struct {
	cfg         config
	workerBin   string // --worker-bin, as given
	st          *stack.Stack
	before, now *variant // before is nil without a baseline
	// hooks is --webhooks' receiver; deliverer the deliverer's actions.
	hooks      *hookSink
	deliverer  actions.Tally
	nowElapsed time.Duration
}

// variant is one worker measured: the baseline revision's, or the current
// one's.
type variant struct {
	name  string // "before", "now"
	rev   Revision
	queue string
	// uncommitted: where the work tree the current worker was built from
	// differs from its commit (bench/ and docs/ left out).
	uncommitted []string
	scenarios   []*scenario
}

// Revision is a commit, as the report names it.
type Revision = stack.Revision

func (v *variant) scenario(key string) *scenario {
	for _, sc := range v.scenarios {
		if sc.key == key {
			return sc
		}
	}
	return nil
}

// scenario is one measured set of runs.
type scenario struct {
	name, key string
	header    string // the column's header; empty: "<name> (n=<n>)"
	n         int    // messages
	run       func(ctx context.Context, sc *scenario) error
	elapsed   time.Duration

	messages actions.Tally // the messages' own runs (SendMessage)
	parent   actions.Tally // the campaign's runs
	pacer    actions.Tally // the account's pacer: its events during the scenario
	polls    int           // Get Task Status requests, from the runs' results
	outcomes map[workflows.Outcome]int
	server   map[string]float64 // the server's action counter, delta
}

func (sc *scenario) heartbeats() float64 {
	return sc.server["grpc_RecordActivityTaskHeartbeat"] + sc.server["grpc_RecordActivityTaskHeartbeatById"]
}

func (sc *scenario) serverTotal() float64 {
	t := 0.0
	for k, v := range sc.server {
		if k == "command_RecordMarker" { // per marker; command_BatchMarkers is the billed one
			continue
		}
		t += v
	}
	return t
}

func (b *bench) measure(ctx context.Context, v *variant, sc *scenario) error {
	stack.Progress("%s: %s: %d messages...", v.name, sc.name, sc.n)
	before, err := b.settledActions(ctx, nil)
	if err != nil {
		return fmt.Errorf("reading the server's metrics: %w", err)
	}
	sc.outcomes = map[workflows.Outcome]int{}
	start := time.Now()
	if err := sc.run(ctx, sc); err != nil {
		return err
	}
	sc.elapsed = time.Since(start)
	after, err := b.settledActions(ctx, before)
	if err != nil {
		return fmt.Errorf("reading the server's metrics: %w", err)
	}
	if err := b.pacerShare(ctx, v, sc, start, time.Now()); err != nil {
		return fmt.Errorf("the account's pacer: %w", err)
	}
	sc.server = stack.Diff(after, before)
	stack.Progress("%s: %s: done in %s; history: %d actions, server: %.0f actions (%.0f heartbeats)", v.name, sc.name,
		sc.elapsed.Round(time.Second), sc.total(), sc.serverTotal(), sc.heartbeats())
	return nil
}

// total is the scenario's actions in history: the messages', the
// campaign's and the pacer's.
func (sc *scenario) total() int { return sc.messages.Actions + sc.parent.Actions + sc.pacer.Actions }

// pacerShare counts the events of the account's pacer (every run of it)
// that happened during the scenario: each message asks it for a slot and
// gives the slot back, and it signals the grant.
func (b *bench) pacerShare(ctx context.Context, v *variant, sc *scenario, from, to time.Time) error {
	id := pacer.WorkflowID(v.queue, senders.Default)
	resp, err := b.st.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: "default", Query: fmt.Sprintf("WorkflowId = %q", id),
	})
	if err != nil {
		return err
	}
	for _, e := range resp.GetExecutions() {
		h, err := b.st.History(ctx, id, e.GetExecution().GetRunId())
		if err != nil {
			return err
		}
		var during []*historypb.HistoryEvent
		for _, ev := range h {
			if at := ev.GetEventTime().AsTime(); !at.Before(from) && !at.After(to) {
				during = append(during, ev)
			}
		}
		if len(during) > 0 {
			sc.pacer.Add(during)
		}
	}
	return nil
}

// settledActions reads the server's counters until two reads a second
// apart agree (and differ from before, when given), so that the last RPCs
// of a scenario are in.
func (b *bench) settledActions(ctx context.Context, before map[string]float64) (map[string]float64, error) {
	prev, err := b.st.ServerActions(ctx)
	if err != nil {
		return nil, err
	}
	for range 10 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		cur, err := b.st.ServerActions(ctx)
		if err != nil {
			return nil, err
		}
		if len(stack.Diff(cur, prev)) == 0 && (before == nil || len(stack.Diff(cur, before)) > 0) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// sends runs n SendMessage runs on v's queue: one after another (each
// started when the previous has ended: what one message costs), or all
// started at once (they queue at the account's pacer: a busy account).
func (b *bench) sends(v *variant, n int, urnFormat string, atOnce bool) func(context.Context, *scenario) error {
	return func(ctx context.Context, sc *scenario) error {
		prefix := fmt.Sprintf("cost-%s-%s-%d", v.name, sc.key, time.Now().UnixNano())
		start := func(i int) (client.WorkflowRun, error) {
			id, urn := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf(urnFormat, i)
			run, err := b.st.StartSendOn(ctx, v.queue, id, urn, fmt.Sprintf("Hi Ada, message %d", i))
			if err != nil {
				return nil, fmt.Errorf("starting %s: %w", id, err)
			}
			return run, nil
		}
		if !atOnce {
			for i := range n {
				run, err := start(i)
				if err != nil {
					return err
				}
				var res workflows.SendMessageResult
				err = run.Get(ctx, &res)
				if err := b.record(ctx, sc, run, res, err); err != nil {
					return err
				}
			}
			return nil
		}
		type done struct {
			run client.WorkflowRun
			res workflows.SendMessageResult
			err error
		}
		ch := make(chan done, n)
		for i := range n {
			run, err := start(i)
			if err != nil {
				return err
			}
			go func() {
				var res workflows.SendMessageResult
				err := run.Get(ctx, &res)
				ch <- done{run, res, err}
			}()
		}
		for range n {
			d := <-ch
			if err := b.record(ctx, sc, d.run, d.res, d.err); err != nil {
				return err
			}
		}
		return nil
	}
}

// record counts one ended SendMessage run: its outcome, polls and history.
func (b *bench) record(ctx context.Context, sc *scenario, run client.WorkflowRun, res workflows.SendMessageResult, err error) error {
	if err != nil {
		r, ok := workflows.ResultFromError(err)
		if !ok {
			return fmt.Errorf("%s: %w", run.GetID(), err)
		}
		res = r
	}
	sc.outcomes[res.Outcome]++
	sc.polls += res.Polls
	h, err := b.st.History(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return fmt.Errorf("history of %s: %w", run.GetID(), err)
	}
	sc.messages.Add(h)
	return nil
}

// campaign runs one campaign of cfg.recipients to its end, then reads every
// run of it (following continue-as-new) and every child.
func (b *bench) campaign(v *variant) func(context.Context, *scenario) error {
	return func(ctx context.Context, sc *scenario) error { return b.runCampaign(ctx, v, sc) }
}

func (b *bench) runCampaign(ctx context.Context, v *variant, sc *scenario) error {
	id := fmt.Sprintf("cost-%s-campaign-%d", v.name, time.Now().UnixNano())
	urns := make([]string, b.cfg.recipients)
	for i := range urns {
		urns[i] = fmt.Sprintf("urn:li:person:ACoAABenchCamp%04d", i)
	}
	run, err := b.st.StartCampaign(ctx, stack.InlineCampaign{ID: id, URNs: urns, Gap: b.cfg.gap, PageSize: b.cfg.pageSize, MaxRunEvents: b.cfg.maxRunEvents, TaskQueue: v.queue})
	if err != nil {
		return fmt.Errorf("starting the campaign: %w", err)
	}
	firstRun := run.GetRunID() // Get follows continue-as-new to the last run
	var p workflows.CampaignProgress
	if err := run.Get(ctx, &p); err != nil {
		return fmt.Errorf("the campaign: %w", err)
	}
	if p.Counts.Delivered != b.cfg.recipients {
		return fmt.Errorf("the campaign delivered %d of %d", p.Counts.Delivered, b.cfg.recipients)
	}
	// Every run, first to last.
	for runID := firstRun; runID != ""; {
		h, err := b.st.History(ctx, id, runID)
		if err != nil {
			return fmt.Errorf("history of run %s: %w", runID, err)
		}
		sc.parent.Add(h)
		runID = ""
		if last := lastEvent(h); last.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			runID = last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		}
	}
	for _, urn := range urns {
		cid := id + "/" + urn
		var res workflows.SendMessageResult
		if err := b.st.Client.GetWorkflow(ctx, cid, "").Get(ctx, &res); err != nil {
			return fmt.Errorf("%s: %w", cid, err)
		}
		sc.outcomes[res.Outcome]++
		sc.polls += res.Polls
		h, err := b.st.History(ctx, cid, "")
		if err != nil {
			return fmt.Errorf("history of %s: %w", cid, err)
		}
		sc.messages.Add(h)
	}
	return nil
}

func lastEvent(h []*historypb.HistoryEvent) *historypb.HistoryEvent {
	if len(h) == 0 {
		return nil
	}
	return h[len(h)-1]
}

func (b *bench) print(w io.Writer, started time.Time) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("### Cost per message: %s", started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Command: `%s`", stack.CommandLine("./bench/cost"))
	p("")
	p("Machine: %d CPUs (%s), %s/%s, %s. Temporal dev server (pinned CLI, default dynamic config). Sandbox: ordinary tasks delivered %s after creation, slow tasks %s; worker `--poll-interval %s --poll-burst %s`, and a senders file whose account has no gap or cap of its own. Campaign: %d inline recipients, gap %s, no caps, window mon-sun 00:00-24:00, page_size %d, max_run_events %d.",
		runtime.NumCPU(), stack.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), b.cfg.taskDelay, b.cfg.slowDelay,
		b.cfg.pollInterval, b.cfg.pollBurst, b.cfg.recipients, b.cfg.gap, b.cfg.pageSize, b.cfg.maxRunEvents)
	p("")
	if b.before != nil {
		p("**Before**: the worker of %s, \"%s\", built by this run (`git archive` of that commit, `go build ./worker`), on task queue `%s` with a sandbox of its own configured the same way. **Now**: %s, on task queue `%s`. One dev server; the same scenarios with the same inputs, before's first, then now's (the baseline worker stopped by then). Each worker's account pacer was started by one unmeasured send first: a pacer lives as long as its account, so its start is no message's cost.",
			b.before.rev, b.before.rev.Subject, b.before.queue, b.nowText(), b.now.queue)
	} else {
		p("No baseline (`--baseline-ref \"\"`). **Now**: %s, on task queue `%s`; its account pacer was started by one unmeasured send first.", b.nowText(), b.now.queue)
	}
	p("")
	b.printGoals(p)
	p("")
	p("#### Now: %s", b.nowText())
	p("")
	b.printDetail(p, b.now)
	b.printWebhooks(p)
	if b.before != nil {
		p("")
		p("#### Before: the worker of %s", b.before.rev)
		p("")
		b.printDetail(p, b.before)
	}
}

func (b *bench) nowText() string {
	t := "the worker built by this run from the work tree"
	if b.workerBin != "" {
		t = "`" + b.workerBin + "` (built from the work tree)"
	}
	t += fmt.Sprintf(" at %s", b.now.rev.Commit+" ("+b.now.rev.Date+")")
	if len(b.now.uncommitted) > 0 {
		t += ", with uncommitted changes in " + strings.Join(b.now.uncommitted, ", ")
	}
	return t
}

// f formats a figure: two decimals at most.
func f(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
}

// goalFigures are the four figures of issue 13's goal table for one
// variant; ok is false where its scenario did not run.
type goalFigures struct {
	singleRules, singleServer, campaign, events, pacerEvents float64
	campaignOK                                               bool
}

func figures(v *variant) goalFigures {
	var g goalFigures
	if sc := v.scenario("send"); sc != nil {
		n := float64(sc.n)
		g.singleRules = (float64(sc.total()) + sc.heartbeats()) / n
		g.singleServer = sc.serverTotal() / n
		g.events = float64(sc.messages.Events) / n
		g.pacerEvents = float64(sc.pacer.Events) / n
	}
	if sc := v.scenario("campaign"); sc != nil {
		a := amortize(sc)
		g.campaign, g.campaignOK = a.share+a.child, true
	}
	return g
}

func (b *bench) printGoals(p func(string, ...any)) {
	now := figures(b.now)
	var before goalFigures
	beforeHead := "before"
	if b.before != nil {
		before = figures(b.before)
		beforeHead = fmt.Sprintf("before: %s (measured in this run)", b.before.rev.Commit)
	}
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	const eps = 1e-9
	p("| per message (issue 13's goals) | %s | now: %s | goal | now meets it |", beforeHead, b.now.rev.Commit)
	p("|---|---|---|---|---|")
	cell := func(v string) string {
		if b.before == nil {
			return "–"
		}
		return v
	}
	p("| delivered single send, billable actions (published rules / server counter) | %s | %s / %s | ≤ %s / ≤ %s | %s |",
		cell(f(before.singleRules)+" / "+f(before.singleServer)), f(now.singleRules), f(now.singleServer),
		f(goals.singleRules), f(goals.singleServer), met(now.singleRules <= goals.singleRules+eps && now.singleServer <= goals.singleServer+eps))
	if now.campaignOK {
		p("| campaign recipient, billable actions amortized | %s | %s | ≤ %s | %s |",
			cell(f(before.campaign)), f(now.campaign), f(goals.campaign), met(now.campaign <= goals.campaign+eps))
	}
	p("| history events, message's run | %s | %s | ≤ %s | %s |",
		cell(f(before.events)), f(now.events), f(goals.events), met(now.events <= goals.events+eps))
	p("| history events, pacer's share | %s | %s | ≤ %s | %s |",
		cell(f(before.pacerEvents)), f(now.pacerEvents), f(goals.pacerEvents), met(now.pacerEvents <= goals.pacerEvents+eps))
	p("")
	p("The single send is the column \"single send, delivered, one after another\" (n=%d): by the published rules, the actions in its run's history and in the pacer's during the scenario, plus the heartbeats that reached the server; the server counter is the dev server's own `action` metric over the scenario. The campaign recipient is the amortized figure under the campaign's column. History events: per message, its own run's, and the pacer's during the scenario.", b.cfg.sends)
}

func (b *bench) printDetail(p func(string, ...any), v *variant) {
	scs := v.scenarios
	header, sep := "| per message |", "|---|"
	for _, sc := range scs {
		if sc.header != "" {
			header += " " + sc.header + " |"
		} else {
			header += fmt.Sprintf(" %s (n=%d) |", sc.name, sc.n)
		}
		sep += "---|"
	}
	p("%s", header)
	p("%s", sep)
	row := func(name string, val func(sc *scenario) string) {
		line := "| " + name + " |"
		for _, sc := range scs {
			line += " " + val(sc) + " |"
		}
		p("%s", line)
	}
	per := func(sc *scenario, v float64) float64 { return v / float64(sc.n) }
	row("outcomes", func(sc *scenario) string {
		var parts []string
		for o, n := range sc.outcomes {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	})
	row("history events: the message's run", func(sc *scenario) string { return f(per(sc, float64(sc.messages.Events))) })
	row("history events: the campaign's share", func(sc *scenario) string {
		if sc.parent.Runs == 0 {
			return "–"
		}
		return fmt.Sprintf("%s (%d events in %d runs)", f(per(sc, float64(sc.parent.Events))), sc.parent.Events, sc.parent.Runs)
	})
	row("history events: the account's pacer, during the scenario", func(sc *scenario) string {
		return f(per(sc, float64(sc.pacer.Events)))
	})
	row("**actions in history** (rules below)", func(sc *scenario) string {
		return "**" + f(per(sc, float64(sc.total()))) + "**"
	})
	row("… of which the message's run", func(sc *scenario) string { return sc.messages.Breakdown(float64(sc.n)) })
	row("… of which the campaign's share", func(sc *scenario) string {
		if sc.parent.Runs == 0 {
			return "–"
		}
		return sc.parent.Breakdown(float64(sc.n))
	})
	row("… of which the account's pacer", func(sc *scenario) string {
		if sc.pacer.Runs == 0 {
			return "–"
		}
		return sc.pacer.Breakdown(float64(sc.n))
	})
	row("status polls (Get Task Status)", func(sc *scenario) string { return f(per(sc, float64(sc.polls))) })
	row("status reads before the final one (polls − 1)", func(sc *scenario) string { return f(per(sc, float64(sc.polls-sc.n))) })
	row("**heartbeats that reached the server** (server metric)", func(sc *scenario) string { return "**" + f(per(sc, sc.heartbeats())) + "**" })
	row("**billable actions: history + heartbeats**", func(sc *scenario) string {
		return "**" + f(per(sc, float64(sc.total())+sc.heartbeats())) + "**"
	})
	row("the server's own action counter", func(sc *scenario) string { return f(per(sc, sc.serverTotal())) })
	row("… by action type (total for the scenario)", func(sc *scenario) string {
		var keys []string
		for k := range sc.server {
			if k != "command_RecordMarker" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, sc.server[k]))
		}
		return strings.Join(parts, ", ")
	})
	row("history events by type: the message's run", func(sc *scenario) string { return sc.messages.EventBreakdown(float64(sc.n)) })
	row("history events by type: the account's pacer", func(sc *scenario) string {
		if sc.pacer.Runs == 0 {
			return "–"
		}
		return sc.pacer.EventBreakdown(float64(sc.n))
	})
	row("wall time of the scenario", func(sc *scenario) string { return sc.elapsed.Round(100 * time.Millisecond).String() })

	for _, sc := range scs {
		if sc.parent.Runs == 0 {
			continue
		}
		a := amortize(sc)
		p("")
		p("Amortized over a large campaign at the defaults (page_size %d, max_run_events %d): the campaign's share is %s actions per recipient "+
			"(%s per recipient: %s; plus 1/%d for loading its page, plus 1/%.0f for continue-as-new, a run holding about %.0f recipients at %.1f events each; "+
			"what it did once or per page or run here, %s, is amortized away), "+
			"so a recipient costs **%s billable actions** with its child's run and the pacer's share, %s (history and heartbeats).",
			workflows.DefaultPageSize, workflows.DefaultRunEvents, f(a.share), f(a.perRecipient), a.perRecipientText, workflows.DefaultPageSize,
			a.perRun, a.perRun, a.eventsPer, a.onceText, f(a.share+a.child), f(a.child))
	}
}

// amortized is a campaign recipient's cost in a large campaign at the
// defaults.
type amortized struct {
	perRecipient     float64 // the campaign's actions that come with each recipient
	perRecipientText string  // … by kind
	onceText         string  // what the scenario's campaign did once, per page or per run
	perRun           float64 // recipients in a run of DefaultRunEvents
	eventsPer        float64 // the campaign's events per recipient
	share            float64 // the campaign's share per recipient
	child            float64 // the child's run, the pacer's share and heartbeats
}

// amortize splits the campaign's actions into those that come with each
// recipient and those it takes once, per page or per run (its start and
// search attribute, its sender check and page loads, continue-as-new, and
// signals to the account's pacer when no more than one per run, as at its
// start), then prices a large campaign at the defaults.
func amortize(sc *scenario) amortized {
	var a amortized
	n := float64(sc.n)
	var each, once actions.Tally
	each.ByKind, once.ByKind = map[actions.Kind]int{}, map[actions.Kind]int{}
	for k, c := range sc.parent.ByKind {
		switch {
		case k == actions.WorkflowStarted, k == actions.ContinueAsNew, k == actions.SearchAttributes, k == actions.ActivityAttempt,
			k == actions.SignalSent && c <= sc.parent.Runs,
			// With --webhooks: the campaign.started and campaign.finished
			// events, one local activity each, once per campaign.
			k == actions.MarkerBatch && c <= 2:
			once.ByKind[k] = c
		default:
			each.ByKind[k] = c
			each.Actions += c
		}
	}
	a.perRecipient = float64(each.Actions) / n
	a.perRecipientText = each.Breakdown(n)
	if a.perRecipientText == "" {
		a.perRecipientText = "nothing"
	}
	a.onceText = once.Breakdown(1)
	a.eventsPer = float64(sc.parent.Events) / n
	a.perRun = float64(workflows.DefaultRunEvents) / a.eventsPer
	a.share = a.perRecipient + 1/float64(workflows.DefaultPageSize) + 1/a.perRun
	a.child = (float64(sc.messages.Actions+sc.pacer.Actions) + sc.heartbeats()) / n
	return a
}
