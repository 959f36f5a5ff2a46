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
//	go run ./bench/cost                        # 20 sends, 5 slow sends, a 30-recipient campaign
//	go run ./bench/cost --sends 5 --slow 0 --recipients 10   # quick
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

	"github.com/outpacehq/outpace/bench/internal/actions"
	"github.com/outpacehq/outpace/bench/internal/benchcmd"
	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

type config struct {
	sends, slow, recipients int
	gap                     time.Duration
	pageSize, maxRunEvents  int
	taskDelay, slowDelay    time.Duration
	pollInterval, pollBurst time.Duration
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	prog := benchcmd.New("cost", "cost measures history events and Temporal Cloud billable actions per message.\n\nUsage:\n  go run ./bench/cost [flags]\n\nFlags:\n",
		benchcmd.Help{NoServerArg: true})
	fs := prog.FlagSet
	fs.IntVar(&cfg.sends, "sends", 20, "single SendMessage runs to ordinary recipients (delivered)")
	fs.IntVar(&cfg.slow, "slow", 5, "single SendMessage runs whose OutX task stays pending for --slow-delay (0: none)")
	fs.IntVar(&cfg.recipients, "recipients", 30, "recipients of the campaign (inline; 0: no campaign)")
	fs.DurationVar(&cfg.gap, "gap", time.Second, "the campaign's min_gap = max_gap (a gap is one timer, whatever its length)")
	fs.IntVar(&cfg.pageSize, "page-size", 10, "the campaign's page_size (small, so that a short campaign loads several pages)")
	fs.IntVar(&cfg.maxRunEvents, "max-run-events", 150, "the campaign's max_run_events (small, so that a short campaign continues as new)")
	fs.DurationVar(&cfg.taskDelay, "task-delay", 2*time.Second, "sandbox: an ordinary task's time from creation to delivered")
	fs.DurationVar(&cfg.slowDelay, "slow-delay", 40*time.Second, "sandbox: how long a slow task stays pending")
	fs.DurationVar(&cfg.pollInterval, "poll-interval", time.Second, "worker --poll-interval")
	fs.DurationVar(&cfg.pollBurst, "poll-burst", 10*time.Second, "worker --poll-burst (shorter than the default 2m, so that a slow task reaches the retry-based polling in seconds)")
	if code, ok := prog.Parse(os.Args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 || cfg.sends < 1 || cfg.slow < 0 || cfg.recipients < 0 || cfg.recipients > workflows.MaxInlineRecipient || cfg.gap <= 0 {
		return prog.Usage(fmt.Sprintf("want --sends >= 1, --slow >= 0, --recipients between 0 and %d, a positive --gap, and no arguments", workflows.MaxInlineRecipient))
	}
	return prog.Run(stack.Options{
		TaskDelay: cfg.taskDelay, SlowDelay: cfg.slowDelay,
		WorkerArgs: []string{"--poll-interval", cfg.pollInterval.String(), "--poll-burst", cfg.pollBurst.String()},
	}, func(ctx context.Context, st *stack.Stack) (func(io.Writer), error) {
		b := &bench{cfg: cfg, st: st}
		var results []*scenario
		for _, sc := range []*scenario{
			{name: "single send, delivered", key: "send", n: cfg.sends, run: b.sends(cfg.sends, "urn:li:person:ACoAABenchCost%04d")},
			{name: fmt.Sprintf("single send, task pending %s", cfg.slowDelay), key: "slow", n: cfg.slow, run: b.sends(cfg.slow, outxtest.Slow+"-benchcost%04d")},
			{name: "campaign recipient", key: "campaign", n: cfg.recipients, run: b.campaign},
		} {
			if sc.n == 0 {
				continue
			}
			if err := b.measure(ctx, sc); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
			results = append(results, sc)
		}
		return func(w io.Writer) { b.print(w, prog.Started, results) }, nil
	})
}

type bench struct {
	cfg config
	st  *stack.Stack
}

// scenario is one measured set of runs.
type scenario struct {
	name, key string
	n         int // messages
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

func (b *bench) measure(ctx context.Context, sc *scenario) error {
	stack.Progress("%s: %d messages...", sc.name, sc.n)
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
	if err := b.pacerShare(ctx, sc, start, time.Now()); err != nil {
		return fmt.Errorf("the account's pacer: %w", err)
	}
	sc.server = stack.Diff(after, before)
	stack.Progress("%s: done in %s; history: %d actions, server: %.0f actions (%.0f heartbeats)", sc.name,
		sc.elapsed.Round(time.Second), sc.total(), sc.serverTotal(), sc.heartbeats())
	return nil
}

// total is the scenario's actions in history: the messages', the
// campaign's and the pacer's.
func (sc *scenario) total() int { return sc.messages.Actions + sc.parent.Actions + sc.pacer.Actions }

// pacerShare counts the events of the account's pacer (every run of it)
// that happened during the scenario: each message asks it for a slot and
// gives the slot back, and it signals the grant.
func (b *bench) pacerShare(ctx context.Context, sc *scenario, from, to time.Time) error {
	id := pacer.WorkflowID(workflows.TaskQueue, senders.Default)
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

// sends starts n SendMessage runs at once and waits for them all.
func (b *bench) sends(n int, urnFormat string) func(context.Context, *scenario) error {
	return func(ctx context.Context, sc *scenario) error {
		type done struct {
			id, runID string
			res       workflows.SendMessageResult
			err       error
		}
		ch := make(chan done, n)
		prefix := fmt.Sprintf("cost-%s-%d", sc.key, time.Now().UnixNano())
		for i := range n {
			id, urn := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf(urnFormat, i)
			run, err := b.st.StartSend(ctx, id, urn, fmt.Sprintf("Hi Ada, message %d", i))
			if err != nil {
				return fmt.Errorf("starting %s: %w", id, err)
			}
			go func() {
				var res workflows.SendMessageResult
				err := run.Get(ctx, &res)
				ch <- done{id, run.GetRunID(), res, err}
			}()
		}
		for range n {
			d := <-ch
			if d.err != nil {
				if r, ok := workflows.ResultFromError(d.err); ok {
					d.res = r
				} else {
					return fmt.Errorf("%s: %w", d.id, d.err)
				}
			}
			sc.outcomes[d.res.Outcome]++
			sc.polls += d.res.Polls
			h, err := b.st.History(ctx, d.id, d.runID)
			if err != nil {
				return fmt.Errorf("history of %s: %w", d.id, err)
			}
			sc.messages.Add(h)
		}
		return nil
	}
}

// campaign runs one campaign of cfg.recipients to its end, then reads every
// run of it (following continue-as-new) and every child.
func (b *bench) campaign(ctx context.Context, sc *scenario) error {
	id := fmt.Sprintf("cost-campaign-%d", time.Now().UnixNano())
	urns := make([]string, b.cfg.recipients)
	for i := range urns {
		urns[i] = fmt.Sprintf("urn:li:person:ACoAABenchCamp%04d", i)
	}
	run, err := b.st.StartCampaign(ctx, stack.InlineCampaign{ID: id, URNs: urns, Gap: b.cfg.gap, PageSize: b.cfg.pageSize, MaxRunEvents: b.cfg.maxRunEvents})
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

func (b *bench) print(w io.Writer, started time.Time, scs []*scenario) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	f := func(v float64) string {
		s := fmt.Sprintf("%.2f", v)
		return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
	}
	p("### Cost per message: %s", started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Command: `%s`", stack.CommandLine("./bench/cost"))
	p("")
	p("Machine: %d CPUs (%s), %s/%s, %s. Temporal dev server (pinned CLI, default dynamic config). Sandbox: ordinary tasks delivered %s after creation, slow tasks %s; worker `--poll-interval %s --poll-burst %s`. Campaign: %d inline recipients, gap %s, no caps, window mon-sun 00:00-24:00, page_size %d, max_run_events %d.",
		runtime.NumCPU(), stack.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), b.cfg.taskDelay, b.cfg.slowDelay,
		b.cfg.pollInterval, b.cfg.pollBurst, b.cfg.recipients, b.cfg.gap, b.cfg.pageSize, b.cfg.maxRunEvents)
	p("")
	header, sep := "| per message |", "|---|"
	for _, sc := range scs {
		header += fmt.Sprintf(" %s (n=%d) |", sc.name, sc.n)
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
	row("heartbeat calls in activity code (polls − 1)", func(sc *scenario) string { return f(per(sc, float64(sc.polls-sc.n))) })
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
	row("wall time of the scenario", func(sc *scenario) string { return sc.elapsed.Round(100 * time.Millisecond).String() })

	// A large campaign at the defaults: pages of 100, runs of 2,500 events.
	for _, sc := range scs {
		if sc.parent.Runs == 0 {
			continue
		}
		p("")
		pages := sc.parent.ByKind[actions.ActivityAttempt]
		perRecipient := float64(sc.parent.Actions-sc.parent.ByKind[actions.WorkflowStarted]-sc.parent.ByKind[actions.ContinueAsNew]-
			sc.parent.ByKind[actions.SearchAttributes]-pages) / float64(sc.n)
		eventsPer := float64(sc.parent.Events) / float64(sc.n)
		perRun := float64(workflows.DefaultRunEvents) / eventsPer
		share := perRecipient + 1/float64(workflows.DefaultPageSize) + 1/perRun
		child := float64(sc.messages.Actions+sc.pacer.Actions)/float64(sc.n) + sc.heartbeats()/float64(sc.n)
		p("Amortized over a large campaign at the defaults (page_size %d, max_run_events %d): the campaign's share is %s actions per recipient "+
			"(%s per recipient: child start 2, gap timer 1, …; plus 1/%d for loading its page, plus 1/%.0f for continue-as-new, "+
			"a run holding about %.0f recipients at %.1f events each; the campaign's start is amortized away), "+
			"so a recipient costs **%s billable actions** with its child's and the pacer's %s (history and heartbeats).",
			workflows.DefaultPageSize, workflows.DefaultRunEvents, f(share), f(perRecipient), workflows.DefaultPageSize, perRun, perRun, eventsPer,
			f(share+child), f(child))
	}
}
