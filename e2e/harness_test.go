// Package e2e drives outpace as a user does: the real worker and starter
// binaries, a real Temporal dev server (the pinned temporal CLI), and the OutX
// sandbox over real HTTP.
//
// These tests never skip silently: without the temporal CLI they fail and say
// how to get it (make test builds it). Only `go test -short` skips them, and
// says so.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/internal/repo"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// apiKey is the OutX key of the test team: recognizable, so a test can prove
// it appears nowhere but in the worker's configuration.
const apiKey = "outx-e2e-SECRET-5f3a9c1d7e"

// Sandbox timings: ordinary tasks finish quickly; slow… recipients stay
// pending for a minute, as the history-growth test requires.
const (
	taskDelay = 300 * time.Millisecond
	slowDelay = time.Minute
)

type stack struct {
	root, bin, temporalCLI string
	dev                    *testsuite.DevServer
	address                string
	client                 client.Client
	sandbox                *outxtest.Server
	uiURL                  string // the Temporal UI the dev server serves
	codecPort              int    // where the UI expects the codec server
	worker                 *process
	tmp                    string
}

var (
	setupOnce sync.Once
	shared    *stack
	setupErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// up returns the shared stack, starting it on first use.
func up(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs a Temporal dev server; skipped with -short")
	}
	setupOnce.Do(func() { shared, setupErr = start() })
	if setupErr != nil {
		t.Fatalf("integration stack: %v", setupErr)
	}
	return shared
}

func start() (*stack, error) {
	s := &stack{}
	var err error
	if s.root, err = repo.Root(); err != nil {
		return nil, err
	}
	s.temporalCLI = os.Getenv("OUTPACE_TEMPORAL_CLI")
	if s.temporalCLI == "" {
		s.temporalCLI = filepath.Join(s.root, ".tools", "bin", "temporal")
	}
	if _, err := os.Stat(s.temporalCLI); err != nil {
		return nil, fmt.Errorf("the temporal CLI is not at %s: run `make test`, which builds the pinned version (or set OUTPACE_TEMPORAL_CLI)", s.temporalCLI)
	}
	if s.tmp, err = os.MkdirTemp("", "outpace-e2e-"); err != nil {
		return nil, err
	}
	s.bin = filepath.Join(s.tmp, "bin")
	build := exec.Command("go", "build", "-o", s.bin+"/", "./worker", "./starter", "./sandbox")
	build.Dir = s.root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the binaries: %v\n%s", err, out)
	}

	devLog, err := os.Create(filepath.Join(s.tmp, "temporal.log"))
	if err != nil {
		return nil, err
	}
	// The UI is served, and told to decode payloads through a codec server
	// at a port reserved now; the UI test starts the codec server there.
	uiPort, err := freePortNumber()
	if err != nil {
		return nil, err
	}
	if s.codecPort, err = freePortNumber(); err != nil {
		return nil, err
	}
	s.uiURL = fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.dev, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     s.temporalCLI,
		LogLevel:         "error",
		EnableUI:         true,
		UIPort:           fmt.Sprint(uiPort),
		ExtraArgs:        []string{"--ui-ip", "127.0.0.1", "--ui-codec-endpoint", s.codecURL()},
		SearchAttributes: searchAttributes(),
		Stdout:           devLog,
		Stderr:           devLog,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the dev server: %w", err)
	}
	s.address = s.dev.FrontendHostPort()
	s.client = s.dev.Client()

	s.sandbox = outxtest.NewServer(outxtest.Options{
		Teams:     []outxtest.Team{{Name: "e2e", APIKey: apiKey}},
		TaskDelay: taskDelay,
		SlowDelay: slowDelay,
		// Accepts people accept soon, so sequences finish within a test.
		AcceptDelay: 2 * time.Second,
	})
	s.worker, err = s.startWorker(workflows.TaskQueue)
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *stack) close() {
	if s.worker != nil {
		s.worker.stop()
	}
	if s.sandbox != nil {
		s.sandbox.Close()
	}
	if s.dev != nil {
		_ = s.dev.Stop()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// sendersFile configures the workers' account without limits of its own.
// Its pacer still lets one task through at a time, across every test on the
// shared worker's queue: a test waiting on a campaign allows for other
// tests' slow tasks (slowDelay) holding the account meanwhile.
var sendersFile, _ = filepath.Abs("testdata/senders.yaml")

// env is the environment of the binaries: the dev server's address and the
// sandbox, as a user would configure them.
func (s *stack) env(extra ...string) []string {
	return append(append(os.Environ(),
		"TEMPORAL_ADDRESS="+s.address,
		"TEMPORAL_NAMESPACE=default",
		"OUTX_BASE_URL="+s.sandbox.URL,
		"OUTX_API_KEY="+apiKey,
		"OUTPACE_SENDERS_FILE="+sendersFile,
	), extra...)
}

func (s *stack) startWorker(taskQueue string, extra ...string) (*process, error) {
	return s.startWorkerWithEnv(taskQueue, nil, extra...)
}

// startWorkerWithEnv starts a worker whose environment has env on top of the
// stack's (a later entry wins): a scenario's own sandbox (OUTX_BASE_URL) or
// senders file (OUTPACE_SENDERS_FILE).
func (s *stack) startWorkerWithEnv(taskQueue string, env []string, extra ...string) (*process, error) {
	args := append([]string{"--task-queue", taskQueue, "--poll-interval", "200ms", "--poll-burst", "10s"}, extra...)
	p := &process{cmd: exec.Command(filepath.Join(s.bin, "worker"), args...)}
	p.cmd.Env = s.env(env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	p.done = make(chan struct{})
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	if err := p.waitFor("Started Worker", 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("worker: %w\n%s", err, p.out.String())
	}
	return p, nil
}

// process is a running binary whose output is kept.
type process struct {
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

func (p *process) waitFor(text string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.out.String(), text) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before printing %q: %v", text, p.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("did not print %q within %s", text, timeout)
}

// kill kills the process with SIGKILL, as a crash or an OOM kill would, and
// waits for it to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// result is what a finished command printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a binary to completion.
func (s *stack) run(t *testing.T, name string, args ...string) result {
	t.Helper()
	return s.runWithEnv(t, name, nil, args...)
}

// runWithEnv runs a binary to completion with extra environment variables.
func (s *stack) runWithEnv(t *testing.T, name string, extraEnv []string, args ...string) result {
	t.Helper()
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(s.bin, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(s.env(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freePortNumber()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func freePortNumber() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// searchAttributes registers every search attribute outpace's workflows set.
func searchAttributes() temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	for _, sa := range workflows.SearchAttributes {
		updates = append(updates, sa.ValueSet(""))
	}
	return temporal.NewSearchAttributes(updates...)
}

// codecURL is the codec server endpoint the dev server's UI calls.
func (s *stack) codecURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.codecPort) }

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
