// Command sleepers measures the worker's memory while many campaigns sleep
// between sends: it starts --campaigns campaigns (small inline lists, a gap
// of --gap between sends, an always-open window) on one real worker, waits
// until each has sent its first message and sleeps on its gap timer, and
// compares the worker's RSS with the same worker idle, measured in the same
// run before the campaigns started.
//
// A sleeping campaign costs the worker memory only while its run sits in
// the worker's sticky cache (default 10,000 runs): the benchmark then
// restarts the worker and measures a fresh one, which holds none of them
// until a timer fires or a query arrives.
//
//	go run ./bench/sleepers                    # 1,000 campaigns
//	go run ./bench/sleepers --campaigns 100    # quick
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/outpacehq/outpace/bench/internal/benchcmd"
	"github.com/outpacehq/outpace/bench/internal/stack"
	"github.com/outpacehq/outpace/workflows"
)

type config struct {
	campaigns, perCampaign int
	gap, settle            time.Duration
	serverArgs             []string // fastDispatch's, then --server-arg's
	fastDispatch           bool
}

// fastDispatch lifts the dev server's dispatch limits, which make 1,000
// campaigns take many minutes to reach their first gap on a small machine
// (a transfer queue polled 20 times a second; task queues in 4 partitions
// with a few pollers). They change how fast the state is reached, not what
// the worker holds in it.
var fastDispatch = []string{
	"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	prog := benchcmd.New("sleepers", "sleepers measures the worker's memory with many campaigns sleeping between sends.\n\nUsage:\n  go run ./bench/sleepers [flags]\n\nFlags:\n", benchcmd.Help{})
	fs := prog.FlagSet
	fs.IntVar(&cfg.campaigns, "campaigns", 1000, "campaigns sleeping at once")
	fs.IntVar(&cfg.perCampaign, "recipients", 3, "inline recipients per campaign")
	fs.DurationVar(&cfg.gap, "gap", time.Hour, "min_gap = max_gap: how long each campaign sleeps after its first send")
	fs.DurationVar(&cfg.settle, "settle", 10*time.Second, "time left to the worker before each memory reading")
	fs.BoolVar(&cfg.fastDispatch, "fast-dispatch", true, "start the dev server with "+strings.Join(fastDispatch, " "))
	if code, ok := prog.Parse(os.Args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 || cfg.campaigns < 1 || cfg.perCampaign < 2 || cfg.perCampaign > workflows.MaxInlineRecipient || cfg.gap < time.Minute {
		return prog.Usage("want --campaigns >= 1, --recipients >= 2 (so that a campaign sleeps after its first send), --gap >= 1m, and no arguments")
	}
	var fast []string
	if cfg.fastDispatch {
		fast = fastDispatch
	}
	cfg.serverArgs = append(append([]string(nil), fast...), prog.Flags.ServerArgs...) // as Run passes them
	return prog.Run(stack.Options{ServerArgs: fast, TaskDelay: time.Nanosecond}, func(ctx context.Context, st *stack.Stack) (func(io.Writer), error) {
		b := &bench{cfg: cfg, st: st}
		rep, err := b.run(ctx)
		if err != nil {
			return nil, err
		}
		return func(w io.Writer) { b.print(w, prog.Started, rep) }, nil
	})
}

type bench struct {
	cfg config
	st  *stack.Stack
}

// memory is one reading of the worker's /proc/<pid>/status.
type memory struct {
	rss, hwm, threads int64 // kB, kB, count
}

func read(pid int) memory {
	return memory{rss: stack.ProcKB(pid, "VmRSS"), hwm: stack.ProcKB(pid, "VmHWM"), threads: stack.ProcKB(pid, "Threads")}
}

type report struct {
	idle, sleeping, restarted memory
	startTook, sleepTook      time.Duration
	statuses                  map[workflows.CampaignStatus]int
	queryErrors               int
	sample                    int
	sampleOK                  int
}

func (b *bench) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.st.Worker.Exited():
		return errors.New("the worker exited")
	case <-time.After(d):
		return nil
	}
}

func (b *bench) run(ctx context.Context) (*report, error) {
	rep := &report{statuses: map[workflows.CampaignStatus]int{}}
	// 1. The idle worker, polling, in this run.
	if err := b.wait(ctx, b.cfg.settle); err != nil {
		return nil, err
	}
	rep.idle = read(b.st.Worker.PID())
	stack.Progress("idle worker: RSS %.1f MiB, %d threads", mib(rep.idle.rss), rep.idle.threads)

	// 2. The campaigns, started 16 at a time.
	prefix := fmt.Sprintf("sleeper-%d", time.Now().Unix())
	ids := make([]string, b.cfg.campaigns)
	start := time.Now()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var startErr error
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := b.startCampaign(ctx, ids[i], i); err != nil {
				mu.Lock()
				startErr = errors.Join(startErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if startErr != nil {
		return nil, startErr
	}
	rep.startTook = time.Since(start)
	stack.Progress("started %d campaigns in %s; waiting for each to send its first message and sleep...", len(ids), rep.startTook.Round(time.Millisecond))

	// 3. Every campaign has sent its first message: that many SendMessage
	// runs have closed, and the campaigns then start their gap timers.
	q := fmt.Sprintf("WorkflowType = %q AND ExecutionStatus != \"Running\" AND CampaignId STARTS_WITH %q", workflows.SendMessageWorkflow, prefix)
	for {
		resp, err := b.st.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err == nil && resp.GetCount() >= int64(len(ids)) {
			break
		}
		if err != nil {
			stack.Progress("counting messages: %v", err)
		} else {
			stack.Progress("%d of %d first messages sent; worker RSS %.1f MiB", resp.GetCount(), len(ids), mib(stack.ProcKB(b.st.Worker.PID(), "VmRSS")))
		}
		if err := b.wait(ctx, 5*time.Second); err != nil {
			return nil, err
		}
		if time.Since(start) > 20*time.Minute {
			return nil, errors.New("the campaigns did not all send their first message within 20 minutes")
		}
	}
	rep.sleepTook = time.Since(start)
	if err := b.wait(ctx, b.cfg.settle); err != nil {
		return nil, err
	}
	rep.sleeping = read(b.st.Worker.PID())
	stack.Progress("%d campaigns sleeping: worker RSS %.1f MiB, %d threads", len(ids), mib(rep.sleeping.rss), rep.sleeping.threads)

	// 4. Check, after the reading, that they all sleep on their gap: the
	// progress query answers from the cached runs.
	for _, id := range ids {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := b.st.Client.QueryWorkflow(qctx, id, "", workflows.QueryProgress)
		var p workflows.CampaignProgress
		if err == nil {
			err = v.Get(&p)
		}
		cancel()
		if err != nil {
			rep.queryErrors++
			continue
		}
		rep.statuses[p.Status]++
	}
	stack.Progress("statuses: %v (%d queries failed)", rep.statuses, rep.queryErrors)

	// 5. A fresh worker: the sleeping runs are in none of its caches.
	stack.Progress("restarting the worker...")
	b.st.Worker.Stop()
	w, err := b.st.StartWorker(ctx)
	if err != nil {
		return nil, err
	}
	b.st.Worker = w
	if err := b.wait(ctx, b.cfg.settle); err != nil {
		return nil, err
	}
	rep.restarted = read(w.PID())
	stack.Progress("restarted worker: RSS %.1f MiB, %d threads", mib(rep.restarted.rss), rep.restarted.threads)
	// They still sleep: a few queries (which load those runs into the new
	// worker's cache, after the reading).
	rep.sample = min(20, len(ids))
	for _, id := range ids[:rep.sample] {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := b.st.Client.QueryWorkflow(qctx, id, "", workflows.QueryProgress)
		var p workflows.CampaignProgress
		if err == nil && v.Get(&p) == nil && p.Status == workflows.StatusSpacing {
			rep.sampleOK++
		}
		cancel()
	}
	return rep, nil
}

func (b *bench) startCampaign(ctx context.Context, id string, i int) error {
	urns := make([]string, b.cfg.perCampaign)
	for j := range urns {
		urns[j] = fmt.Sprintf("urn:li:person:ACoAABenchSleep%04d%02d", i, j)
	}
	_, err := b.st.StartCampaign(ctx, stack.InlineCampaign{ID: id, URNs: urns, Gap: b.cfg.gap})
	if err != nil {
		return fmt.Errorf("starting %s: %w", id, err)
	}
	return nil
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

func (b *bench) print(w io.Writer, started time.Time, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	n := b.cfg.campaigns
	server := "default dynamic config"
	if len(b.cfg.serverArgs) > 0 {
		server = "`" + strings.Join(b.cfg.serverArgs, " ") + "`"
	}
	p("### Worker memory with %d sleeping campaigns: %s", n, started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Command: `%s`", stack.CommandLine("./bench/sleepers"))
	p("")
	p("Machine: %d CPUs (%s), %s/%s, %s. Temporal dev server (pinned CLI, %s). One worker with its default options (sticky workflow cache: 10,000 runs). %d campaigns of %d inline recipients each, min_gap = max_gap = %s, no caps, window mon-sun 00:00-24:00: each sends its first message, then sleeps on its gap timer. Memory from /proc/<pid>/status, read %s after each state was reached.",
		runtime.NumCPU(), stack.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), server, n, b.cfg.perCampaign, b.cfg.gap, b.cfg.settle)
	p("")
	p("| worker | RSS (VmRSS) | peak RSS (VmHWM) | threads | RSS ÷ idle |")
	p("|---|---|---|---|---|")
	row := func(name string, m memory) {
		p("| %s | %.1f MiB | %.1f MiB | %d | %.2f× |", name, mib(m.rss), mib(m.hwm), m.threads, float64(m.rss)/float64(r.idle.rss))
	}
	row("idle, polling (baseline, same run)", r.idle)
	row(fmt.Sprintf("%d campaigns sleeping, all in its sticky cache", n), r.sleeping)
	row(fmt.Sprintf("restarted, %d campaigns still sleeping (none cached)", n), r.restarted)
	p("")
	var sts []string
	for s, c := range r.statuses {
		sts = append(sts, fmt.Sprintf("%s %d", s, c))
	}
	p("- Per sleeping campaign held in the cache: %.1f KiB of RSS ((%.1f − %.1f MiB) ÷ %d).", float64(r.sleeping.rss-r.idle.rss)/float64(n), mib(r.sleeping.rss), mib(r.idle.rss), n)
	p("- Started in %s; all %d had sent their first message %s after the first start.", r.startTook.Round(100*time.Millisecond), n, r.sleepTook.Round(time.Second))
	p("- Progress query of every campaign after the reading: %s (%d failed).", strings.Join(sts, ", "), r.queryErrors)
	p("- After the restart, %d of a sample of %d campaigns answered the query with status `spacing` (queried after the reading, since a query loads the run into the cache).", r.sampleOK, r.sample)
}
