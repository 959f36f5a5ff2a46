// Command overhead measures what orchestration adds to sending messages: the
// same N messages, with the same OutX calls against the same sandbox, sent
// by a plain Go loop and by outpace on a Temporal dev server, in one run,
// reported as a ratio of wall times.
//
// Every path sends one message at a time, as outpace does for one sender
// account (one OutX task in flight): send, then read the task's status every
// --poll-interval until it is final.
//
//   - plain loop: outx.Client.SendMessage then GetTaskStatus, no Temporal;
//   - campaign: one Campaign of N inline recipients with no gap, no caps, an
//     always-open window (its children run one after another);
//   - sends: N SendMessage runs started by a client one after another, each
//     awaited before the next.
//
// The plain loop runs first and last, so that a drift of the machine shows.
//
//	go run ./bench/overhead                  # 200 messages
//	go run ./bench/overhead --messages 50    # quick
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

type config struct {
	messages               int
	taskDelay, pollEvery   time.Duration
	temporalCLI, workerBin string
	serverArgs             multiFlag
	keep                   bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	fs := flag.NewFlagSet("overhead", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, "overhead compares N messages sent through outpace with a plain OutX loop.\n\nUsage:\n  go run ./bench/overhead [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.messages, "messages", 200, "messages per path")
	fs.DurationVar(&cfg.taskDelay, "task-delay", 100*time.Millisecond, "sandbox: a task's time from creation to delivered")
	fs.DurationVar(&cfg.pollEvery, "poll-interval", 50*time.Millisecond, "time between status reads, in the loop and the worker (--poll-interval)")
	fs.StringVar(&cfg.temporalCLI, "temporal", "", "the temporal CLI (default: $OUTPACE_TEMPORAL_CLI, else .tools/bin/temporal)")
	fs.StringVar(&cfg.workerBin, "worker-bin", "", "a worker binary (default: go build ./worker)")
	fs.Var(&cfg.serverArgs, "server-arg", "an extra argument for `temporal server start-dev` (repeatable)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (logs)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || cfg.messages < 1 || cfg.messages > workflows.MaxInlineRecipient || cfg.taskDelay <= 0 || cfg.pollEvery <= 0 {
		fmt.Fprintf(os.Stderr, "overhead: want --messages between 1 and %d, a positive --task-delay and --poll-interval, and no arguments\n", workflows.MaxInlineRecipient)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	started := time.Now()
	st, err := stack.Start(ctx, stack.Options{
		TemporalCLI: cfg.temporalCLI, WorkerBin: cfg.workerBin, Keep: cfg.keep, ServerArgs: cfg.serverArgs,
		TaskDelay:  cfg.taskDelay,
		WorkerArgs: []string{"--poll-interval", cfg.pollEvery.String(), "--poll-burst", "1m"},
	})
	defer st.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		return 1
	}
	b := &bench{cfg: cfg, st: st}
	var paths []*path
	for _, p := range []*path{
		{name: "plain OutX loop (before)", run: b.loop},
		{name: "outpace: one campaign, no gap", run: b.campaign},
		{name: "outpace: SendMessage runs, one after another", run: b.sends},
		{name: "plain OutX loop (after)", run: b.loop},
	} {
		stack.Progress("%s: %d messages...", p.name, cfg.messages)
		start := time.Now()
		if err := p.run(ctx); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "overhead: interrupted; stopping everything it started")
				return 130
			}
			fmt.Fprintf(os.Stderr, "overhead: %s: %v\n%s\n", p.name, err, stack.Tail(st.Worker.Log, 30))
			return 1
		}
		p.elapsed = time.Since(start)
		stack.Progress("%s: %s (%.1f messages/s)", p.name, p.elapsed.Round(time.Millisecond), float64(cfg.messages)/p.elapsed.Seconds())
		paths = append(paths, p)
	}
	b.print(os.Stdout, started, paths)
	return 0
}

type bench struct {
	cfg config
	st  *stack.Stack
	seq int
}

type path struct {
	name    string
	run     func(context.Context) error
	elapsed time.Duration
}

func (b *bench) urn(i int) string {
	return fmt.Sprintf("urn:li:person:ACoAABenchOver%d%05d", b.seq, i)
}

// loop makes the worker's OutX calls with no Temporal: send, then read the
// status at once and every poll interval until it is final.
func (b *bench) loop(ctx context.Context) error {
	b.seq++
	oc, err := outx.New(b.st.Sandbox.URL, outxtest.DefaultAPIKey)
	if err != nil {
		return err
	}
	for i := range b.cfg.messages {
		created, err := oc.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: b.urn(i), Message: "Hi Ada"})
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		for {
			task, err := oc.GetTaskStatus(ctx, created.TaskID)
			if err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			if task.Finished() {
				if !task.Sent() {
					return fmt.Errorf("message %d not sent: %s", i, task.FailureReason())
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(b.cfg.pollEvery):
			}
		}
	}
	return nil
}

func (b *bench) campaign(ctx context.Context) error {
	b.seq++
	id := fmt.Sprintf("overhead-campaign-%d", time.Now().UnixNano())
	rs := make([]recipients.Recipient, b.cfg.messages)
	for i := range rs {
		rs[i] = recipients.Recipient{RecipientURN: b.urn(i), Vars: map[string]string{"first_name": "Ada"}}
	}
	zero, noCap := workflows.Duration(0), 0
	run, err := b.st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.CampaignIDAttribute.ValueSet(id))}, workflows.CampaignWorkflow,
		workflows.CampaignInput{
			Template: "Hi {{first_name}}", Recipients: rs,
			Pacing: workflows.Pacing{MinGap: &zero, MaxGap: &zero, HourlyCap: &noCap, DailyCap: &noCap},
			Window: workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
		})
	if err != nil {
		return err
	}
	var p workflows.CampaignProgress
	if err := run.Get(ctx, &p); err != nil {
		return err
	}
	if p.Counts.Delivered != b.cfg.messages {
		return fmt.Errorf("the campaign delivered %d of %d", p.Counts.Delivered, b.cfg.messages)
	}
	return nil
}

func (b *bench) sends(ctx context.Context) error {
	b.seq++
	prefix := fmt.Sprintf("overhead-send-%d", time.Now().UnixNano())
	for i := range b.cfg.messages {
		urn := b.urn(i)
		run, err := b.st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: workflows.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.RecipientURNAttribute.ValueSet(urn))},
			workflows.SendMessageWorkflow, workflows.SendMessageInput{RecipientURN: urn, Message: "Hi Ada"})
		if err != nil {
			return err
		}
		var res workflows.SendMessageResult
		if err := run.Get(ctx, &res); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

func (b *bench) print(w io.Writer, started time.Time, paths []*path) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	n := float64(b.cfg.messages)
	base := (paths[0].elapsed + paths[len(paths)-1].elapsed) / 2
	server := "default dynamic config"
	if len(b.cfg.serverArgs) > 0 {
		server = "`" + strings.Join(b.cfg.serverArgs, " ") + "`"
	}
	p("### Orchestration overhead: %s", started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Command: `%s`", stack.CommandLine("./bench/overhead"))
	p("")
	p("Machine: %d CPUs (%s), %s/%s, %s. Temporal dev server (pinned CLI, %s, in-memory SQLite). %d messages per path, one at a time; sandbox tasks delivered %s after creation; status read every %s (worker `--poll-interval %s`).",
		runtime.NumCPU(), stack.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), server, b.cfg.messages, b.cfg.taskDelay, b.cfg.pollEvery, b.cfg.pollEvery)
	p("")
	p("| path | wall time | messages/s | per message | time ÷ plain loop | added per message |")
	p("|---|---|---|---|---|---|")
	for _, x := range paths {
		p("| %s | %s | %.2f | %.0f ms | %.2f× | %+.0f ms |", x.name, x.elapsed.Round(10*time.Millisecond), n/x.elapsed.Seconds(),
			float64(x.elapsed.Milliseconds())/n, x.elapsed.Seconds()/base.Seconds(), float64((x.elapsed-base).Milliseconds())/n)
	}
	p("")
	p("The plain loop's time is the mean of its two runs (%s and %s).", paths[0].elapsed.Round(10*time.Millisecond), paths[len(paths)-1].elapsed.Round(10*time.Millisecond))
}
