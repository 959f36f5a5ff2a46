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
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/outpacehq/outpace/bench/internal/benchcmd"
	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

type config struct {
	messages             int
	taskDelay, pollEvery time.Duration
	serverArgs           []string
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	prog := benchcmd.New("overhead", "overhead compares N messages sent through outpace with a plain OutX loop.\n\nUsage:\n  go run ./bench/overhead [flags]\n\nFlags:\n", benchcmd.Help{})
	fs := prog.FlagSet
	fs.IntVar(&cfg.messages, "messages", 200, "messages per path")
	fs.DurationVar(&cfg.taskDelay, "task-delay", 100*time.Millisecond, "sandbox: a task's time from creation to delivered")
	fs.DurationVar(&cfg.pollEvery, "poll-interval", 50*time.Millisecond, "time between status reads, in the loop and the worker (--poll-interval)")
	if code, ok := prog.Parse(os.Args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 || cfg.messages < 1 || cfg.messages > workflows.MaxInlineRecipient || cfg.taskDelay <= 0 || cfg.pollEvery <= 0 {
		return prog.Usage(fmt.Sprintf("want --messages between 1 and %d, a positive --task-delay and --poll-interval, and no arguments", workflows.MaxInlineRecipient))
	}
	cfg.serverArgs = prog.Flags.ServerArgs
	return prog.Run(stack.Options{
		TaskDelay:  cfg.taskDelay,
		WorkerArgs: []string{"--poll-interval", cfg.pollEvery.String(), "--poll-burst", "1m"},
	}, func(ctx context.Context, st *stack.Stack) (func(io.Writer), error) {
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
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			p.elapsed = time.Since(start)
			stack.Progress("%s: %s (%.1f messages/s)", p.name, p.elapsed.Round(time.Millisecond), float64(cfg.messages)/p.elapsed.Seconds())
			paths = append(paths, p)
		}
		return func(w io.Writer) { b.print(w, prog.Started, paths) }, nil
	})
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
	urns := make([]string, b.cfg.messages)
	for i := range urns {
		urns[i] = b.urn(i)
	}
	run, err := b.st.StartCampaign(ctx, stack.InlineCampaign{ID: id, URNs: urns}) // no gap
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
		run, err := b.st.StartSend(ctx, fmt.Sprintf("%s-%d", prefix, i), urn, "Hi Ada")
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
