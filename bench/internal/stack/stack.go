// Package stack starts what outpace's benchmarks measure: a Temporal dev
// server (the pinned CLI) with its Prometheus endpoint, the OutX sandbox over
// HTTP, and the real worker binary, through internal/devstack (which the e2e
// tests use too); and stops it all again. It also reads the worker's memory
// from /proc and the server's own "action" metric.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// Options configure a Stack.
type Options struct {
	TemporalCLI  string        // default: $OUTPACE_TEMPORAL_CLI, else .tools/bin/temporal
	WorkerBin    string        // default: go build ./worker into the temporary directory
	ServerArgs   []string      // extra `temporal server start-dev` arguments
	TaskDelay    time.Duration // sandbox: an ordinary task's time to its final status
	SlowDelay    time.Duration // sandbox: how long outxtest.Slow recipients' tasks stay pending
	WorkerArgs   []string      // extra worker flags, e.g. --poll-interval 1s
	Keep         bool          // keep the temporary directory
	WorkerLogLvl string        // default warn
}

// Stack is a running dev server, sandbox and worker, started by
// internal/devstack as the e2e tests start theirs.
type Stack struct {
	opts       Options
	dev        *devstack.Stack
	Root, Tmp  string
	Sandbox    *outxtest.Server
	Client     client.Client
	MetricsURL string
	Worker     *Worker
	senders    string
	// sandboxOpts configure the stack's sandbox, and each lane's.
	sandboxOpts outxtest.Options
	lanes       []*Lane
}

// Worker is the worker process; its output goes to the file Log.
type Worker = devstack.Process

// Start builds the worker if needed and starts the sandbox, the dev server
// and the worker, and waits for the worker to poll.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts, sandboxOpts: outxtest.Options{TaskDelay: opts.TaskDelay, SlowDelay: opts.SlowDelay}}
	var build []string
	if opts.WorkerBin != "" {
		abs, err := filepath.Abs(opts.WorkerBin)
		if err != nil {
			return s, err
		}
		if _, err := os.Stat(abs); err != nil {
			return s, fmt.Errorf("--worker-bin: %w", err)
		}
		s.opts.WorkerBin = abs
	} else {
		build = []string{"./worker"}
	}
	dev, err := devstack.Start(ctx, devstack.Options{
		TemporalCLI: opts.TemporalCLI,
		Build:       build,
		TempPrefix:  "outpace-bench-",
		Keep:        opts.Keep,
		Server: devstack.ServerOptions{
			Metrics:       true,
			ExtraArgs:     opts.ServerArgs,
			ClientOptions: &client.Options{Logger: QuietLogger()},
			StartTimeout:  2 * time.Minute,
		},
		Sandbox: s.sandboxOpts,
		Logf:    Progress,
	})
	s.dev, s.Root, s.Tmp = dev, dev.Root, dev.Dir
	if err != nil {
		if missing := (*devstack.MissingCLIError)(nil); errors.As(err, &missing) {
			err = fmt.Errorf("the temporal CLI is not at %s: run `make temporal` (or pass --temporal)", missing.Path)
		}
		return s, err
	}
	s.Sandbox, s.Client, s.MetricsURL = dev.Sandbox, dev.Server.Client, dev.Server.MetricsURL
	if build != nil {
		s.opts.WorkerBin = filepath.Join(dev.Bin, "worker")
	}
	// The account has no limits of its own, so that a benchmark measures
	// outpace's cost: its pacer still lets one task through at a time.
	if s.senders, err = dev.WriteSenders("senders.yaml", devstack.UnlimitedSenders); err != nil {
		return s, err
	}
	if s.Worker, err = s.StartWorker(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// StartWorker starts a worker process on the stack's server and sandbox and
// waits until it polls the task queue.
func (s *Stack) StartWorker(ctx context.Context) (*Worker, error) {
	return s.startWorker(ctx, s.opts.WorkerBin, workflows.TaskQueue, s.Sandbox.URL)
}

func (s *Stack) startWorker(ctx context.Context, bin, queue, outxURL string) (*Worker, error) {
	lvl := s.opts.WorkerLogLvl
	if lvl == "" {
		lvl = "warn"
	}
	w, err := devstack.StartWorker(ctx, devstack.WorkerOptions{
		Bin: bin,
		Args: append([]string{
			"--address", s.dev.Server.Address, "--namespace", "default",
			"--task-queue", queue, "--outx-base-url", outxURL, "--log-level", lvl,
			"--senders-file", s.senders,
		}, s.opts.WorkerArgs...),
		// A contacts store of the worker's own: benchmarks reuse
		// recipients across runs, which the default contact policy would
		// skip (a baseline build from before the store ignores it).
		Env: append(devstack.CleanEnv(), "OUTX_API_KEY="+outxtest.DefaultAPIKey,
			contacts.EnvDB+"="+filepath.Join(s.Tmp, fmt.Sprintf("contacts-%s-%d.db", queue, time.Now().UnixNano()))),
		Dir:       s.Tmp,
		LogFile:   filepath.Join(s.Tmp, fmt.Sprintf("worker-%d.log", time.Now().UnixNano())),
		Ready:     s.Client,
		TaskQueue: queue,
		Timeout:   time.Minute,
	})
	if err != nil {
		return nil, err
	}
	Progress("worker started (pid %d, task queue %s)", w.PID(), queue)
	return w, nil
}

// Lane is a second worker on the stack's dev server, on a task queue of its
// own (so with its own account pacers) and with an OutX sandbox of its own,
// configured as the stack's: a baseline revision's worker measured beside
// the current one, say.
type Lane struct {
	TaskQueue string
	Sandbox   *outxtest.Server
	Worker    *Worker
}

// StartLane starts worker binary bin on queue, with the stack's worker flags
// and senders file and a sandbox of its own, and waits until it polls.
// Close stops it, or the stack's Close.
func (s *Stack) StartLane(ctx context.Context, bin, queue string) (*Lane, error) {
	l := &Lane{TaskQueue: queue, Sandbox: outxtest.NewServer(s.sandboxOpts)}
	s.lanes = append(s.lanes, l)
	w, err := s.startWorker(ctx, bin, queue, l.Sandbox.URL)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.Worker = w
	return l, nil
}

// Close stops the lane's worker and sandbox. Closing again does nothing.
func (l *Lane) Close() {
	if l.Worker != nil {
		l.Worker.Stop()
		l.Worker = nil
	}
	if l.Sandbox != nil {
		l.Sandbox.Close()
		l.Sandbox = nil
	}
}

// Close stops the lanes, the worker, the dev server and the sandbox, and
// removes the temporary directory. Each step is bounded in time.
func (s *Stack) Close() {
	for _, l := range s.lanes {
		l.Close()
	}
	if s.Worker != nil {
		s.Worker.Stop()
	}
	if s.dev != nil {
		s.dev.Close()
	}
}

// ServerActions reads the dev server's "action" counter for the default
// namespace, by action_type: the server's own count of billable actions.
func (s *Stack) ServerActions(ctx context.Context) (map[string]float64, error) {
	return s.dev.Server.Actions(ctx)
}

// Diff is after − before, without zero entries.
func Diff(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// History reads a run's whole history.
func (s *Stack) History(ctx context.Context, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	return s.dev.Server.History(ctx, workflowID, runID)
}

// ProcKB reads a "Name: N kB" (or plain "Name: N") line of /proc/<pid>/status.
func ProcKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// Tail is the last n lines of a file.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return devstack.Tail(string(data), n)
}

// CPUModel names the machine's CPU.
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// CommandLine is how this program was run, as `go run ./bench/<name> ...`.
func CommandLine(pkg string) string {
	parts := []string{"go", "run", pkg}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\|&;<>()*?[]#~") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Progress writes a timestamped line to standard error.
func Progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// QuietLogger keeps the SDK's own logging to warnings, on standard error.
func QuietLogger() tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
