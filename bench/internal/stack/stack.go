// Package stack starts what outpace's benchmarks measure: a Temporal dev
// server (the pinned CLI) with its Prometheus endpoint, the OutX sandbox over
// HTTP, and the real worker binary; and stops it all again. It also reads the
// worker's memory from /proc and the server's own "action" metric.
package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/internal/repo"
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

// Stack is a running dev server, sandbox and worker.
type Stack struct {
	opts       Options
	Root, Tmp  string
	Sandbox    *outxtest.Server
	Dev        *testsuite.DevServer
	devPID     int
	Client     client.Client
	MetricsURL string
	Worker     *Worker
}

// Worker is the worker process.
type Worker struct {
	cmd  *exec.Cmd
	out  *os.File
	Log  string
	done chan struct{}
	err  error
}

// Start builds the worker if needed and starts the sandbox, the dev server
// and the worker, and waits for the worker to poll.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts}
	var err error
	if s.Root, err = repo.Root(); err != nil {
		return s, err
	}
	if s.opts.TemporalCLI == "" {
		s.opts.TemporalCLI = os.Getenv("OUTPACE_TEMPORAL_CLI")
	}
	if s.opts.TemporalCLI == "" {
		s.opts.TemporalCLI = filepath.Join(s.Root, ".tools", "bin", "temporal")
	}
	if _, err := os.Stat(s.opts.TemporalCLI); err != nil {
		return s, fmt.Errorf("the temporal CLI is not at %s: run `make temporal` (or pass --temporal)", s.opts.TemporalCLI)
	}
	if s.Tmp, err = os.MkdirTemp("", "outpace-bench-"); err != nil {
		return s, err
	}
	Progress("temporary directory %s", s.Tmp)
	if err := s.buildWorker(ctx); err != nil {
		return s, err
	}
	s.Sandbox = outxtest.NewServer(outxtest.Options{TaskDelay: opts.TaskDelay, SlowDelay: opts.SlowDelay})
	Progress("OutX sandbox at %s (task delay %s)", s.Sandbox.URL, opts.TaskDelay)
	if err := s.startDevServer(ctx); err != nil {
		return s, err
	}
	if s.Worker, err = s.StartWorker(ctx); err != nil {
		return s, err
	}
	return s, nil
}

func (s *Stack) buildWorker(ctx context.Context) error {
	if s.opts.WorkerBin != "" {
		abs, err := filepath.Abs(s.opts.WorkerBin)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--worker-bin: %w", err)
		}
		s.opts.WorkerBin = abs
		return nil
	}
	s.opts.WorkerBin = filepath.Join(s.Tmp, "worker")
	Progress("building the worker...")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", s.opts.WorkerBin, "./worker")
	cmd.Dir = s.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./worker: %v\n%s", err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Stack) startDevServer(ctx context.Context) error {
	logFile, err := os.Create(filepath.Join(s.Tmp, "temporal.log"))
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"--metrics-port", strconv.Itoa(port)}
	for _, sa := range workflows.SearchAttributes {
		args = append(args, "--search-attribute", sa.GetName()+"=Keyword")
	}
	Progress("starting the Temporal dev server (%s)...", s.opts.TemporalCLI)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s.Dev, err = testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath:  s.opts.TemporalCLI,
		ClientOptions: &client.Options{Logger: QuietLogger()},
		LogLevel:      "error",
		ExtraArgs:     append(args, s.opts.ServerArgs...),
		Stdout:        logFile,
		Stderr:        logFile,
	})
	// StartDevServer leaves its process running when the server never
	// answered: find it among our children to stop it.
	s.devPID = ChildPID(s.opts.TemporalCLI)
	if err != nil {
		return fmt.Errorf("starting the dev server: %w\n%s", err, Tail(logFile.Name(), 20))
	}
	s.Client = s.Dev.Client()
	s.MetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	Progress("dev server at %s (pid %d), metrics at %s", s.Dev.FrontendHostPort(), s.devPID, s.MetricsURL)
	return nil
}

// unlimitedAccount is the benchmarks' sender: the sandbox's team, any day
// and hour, no gap, no cap.
const unlimitedAccount = `senders:
  - name: default
    api_key_env: OUTX_API_KEY
    days: mon-sun
    hours: "00:00-24:00"
    min_gap: 0s
    max_gap: 0s
    hourly_cap: 0
    daily_cap: 0
    message: {hourly_cap: 0, daily_cap: 0}
    connect: {hourly_cap: 0, daily_cap: 0, weekly_cap: 0}
    lookup: {hourly_cap: 0, daily_cap: 0}
`

// StartWorker starts a worker process on the stack's server and sandbox and
// waits until it polls the task queue.
func (s *Stack) StartWorker(ctx context.Context) (*Worker, error) {
	w := &Worker{Log: filepath.Join(s.Tmp, fmt.Sprintf("worker-%d.log", time.Now().UnixNano())), done: make(chan struct{})}
	var err error
	if w.out, err = os.Create(w.Log); err != nil {
		return nil, err
	}
	lvl := s.opts.WorkerLogLvl
	if lvl == "" {
		lvl = "warn"
	}
	// The account has no limits of its own, so that a benchmark measures
	// outpace's cost: its pacer still lets one task through at a time.
	sendersFile := filepath.Join(s.Tmp, "senders.yaml")
	if err := os.WriteFile(sendersFile, []byte(unlimitedAccount), 0o600); err != nil {
		return nil, err
	}
	args := append([]string{
		"--address", s.Dev.FrontendHostPort(), "--namespace", "default",
		"--task-queue", workflows.TaskQueue, "--outx-base-url", s.Sandbox.URL, "--log-level", lvl,
		"--senders-file", sendersFile,
	}, s.opts.WorkerArgs...)
	w.cmd = exec.Command(s.opts.WorkerBin, args...)
	w.cmd.Dir = s.Tmp
	w.cmd.Env = append(CleanEnv(), "OUTX_API_KEY="+outxtest.DefaultAPIKey)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	// Its own process group: Ctrl-C reaches us, and we stop it ourselves.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the worker: %w", err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	Progress("worker started (pid %d)", w.cmd.Process.Pid)
	deadline := time.Now().Add(time.Minute)
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := s.Client.DescribeTaskQueue(dctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		cancel()
		if err == nil {
			for _, p := range resp.GetPollers() {
				if strings.HasPrefix(p.GetIdentity(), strconv.Itoa(w.PID())+"@") {
					return w, nil
				}
			}
		}
		select {
		case <-w.done:
			return nil, fmt.Errorf("the worker exited: %v\n%s", w.err, Tail(w.Log, 30))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the worker did not poll %q within a minute\n%s", workflows.TaskQueue, Tail(w.Log, 30))
		}
	}
}

// PID is the worker's process id.
func (w *Worker) PID() int { return w.cmd.Process.Pid }

// Exited is closed when the worker process has ended.
func (w *Worker) Exited() <-chan struct{} { return w.done }

// Err is how the worker process ended, once Exited is closed.
func (w *Worker) Err() error { return w.err }

// Stop sends SIGTERM and waits (then kills after 45s).
func (w *Worker) Stop() {
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(45 * time.Second):
			Progress("the worker did not stop within 45s of SIGTERM: killing it")
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
	_ = w.out.Close()
}

// Close stops the worker, the dev server and the sandbox, and removes the
// temporary directory. Each step is bounded in time.
func (s *Stack) Close() {
	start := time.Now()
	if s.Worker != nil {
		s.Worker.Stop()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.Dev != nil {
		stopped := make(chan struct{})
		go func() { _ = s.Dev.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			Progress("the dev server did not stop within 30s: killing it")
			if s.devPID > 0 {
				_ = syscall.Kill(s.devPID, syscall.SIGKILL)
			}
		}
	} else if pid := ChildPID(s.opts.TemporalCLI); pid > 0 && s.opts.TemporalCLI != "" {
		_ = syscall.Kill(pid, syscall.SIGKILL) // a dev server that never came up
	}
	if s.Sandbox != nil {
		s.Sandbox.Close()
	}
	Progress("stopped the worker, the dev server and the sandbox in %s", time.Since(start).Round(time.Millisecond))
	if s.Tmp != "" {
		if s.opts.Keep {
			Progress("kept %s", s.Tmp)
		} else {
			_ = os.RemoveAll(s.Tmp)
		}
	}
}

// ServerActions reads the dev server's "action" counter for the default
// namespace, by action_type: the server's own count of billable actions
// (go.temporal.io/server common/rpc/interceptor/telemetry.go).
func (s *Stack) ServerActions(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.MetricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseActions(resp.Body)
}

// parseActions reads lines such as
// action{action_type="grpc_StartWorkflowExecution",namespace="default",...} 2
func parseActions(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "action{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, `namespace="default"`) {
			continue
		}
		typ := label(labels, "action_type")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || typ == "" {
			continue
		}
		out[typ] += v
	}
	return out, sc.Err()
}

func label(labels, name string) string {
	_, rest, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
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
	var events []*historypb.HistoryEvent
	it := s.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return events, err
		}
		events = append(events, ev)
	}
	return events, nil
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

// ChildPID is the pid of our child process running exe, or 0. exe may be
// relative (--temporal .tools/bin/temporal): /proc/<pid>/exe is absolute.
func ChildPID(exe string) int {
	want := exe
	if abs, err := filepath.Abs(exe); err == nil {
		want = abs
	}
	if real, err := filepath.EvalSymlinks(want); err == nil {
		want = real
	}
	entries, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(me) {
			continue
		}
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && (got == want || got == exe) {
			return pid
		}
	}
	return 0
}

// CleanEnv is our environment without settings that would point the worker
// elsewhere than the benchmark's server and sandbox.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "OUTX_") || strings.HasPrefix(kv, "OUTPACE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Tail is the last n lines of a file.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
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
