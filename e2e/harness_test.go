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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/internal/pgtest"
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

// sandboxOptions are the shared sandbox's: the test team, the timings above,
// and people who accept a connection request soon, so that sequences finish
// within a test. A lane starts from them.
func sandboxOptions() outxtest.Options {
	return outxtest.Options{
		Teams:       []outxtest.Team{{Name: "e2e", APIKey: apiKey}},
		TaskDelay:   taskDelay,
		SlowDelay:   slowDelay,
		AcceptDelay: 2 * time.Second,
	}
}

// stack is what a test drives: the shared dev server, the binaries, and an
// OutX sandbox, task queue and worker. up returns the shared one (the
// sandbox, queue and worker of the default "outpace" queue); lane returns a
// copy with a sandbox, queue and worker of a test's own.
type stack struct {
	dev                    *devstack.Stack
	root, bin, temporalCLI string
	address                string
	client                 client.Client
	sandbox                *outxtest.Server
	uiURL                  string // the Temporal UI the dev server serves
	codecPort              int    // where the UI expects the codec server
	queue                  string // the task queue of worker
	worker                 *process
	sendersFile            string
	// contactsDB is the contacts store (a SQLite file) of the stack's
	// worker and starter; a lane has its own, so that what one test's
	// campaigns did to a person never decides for another test's.
	contactsDB string
	laneEnv    []string // a lane's sandbox, queue and store, for the binaries
}

var (
	setupOnce sync.Once
	shared    *stack
	setupErr  error
)

// parallelTests is how many tests run at once unless -parallel says
// otherwise. They mostly wait on real time (sandbox delays, durable timers,
// activity timeouts after a kill): go test's default, GOMAXPROCS, would run
// two at a time on a two-core machine. Not all at once either: the tests
// that catch a moment (a quiet one to kill the worker in, two accounts'
// tasks overlapping) miss it when the CPU is saturated. Each test runs on
// its own queue, sandbox or server where it could disturb another.
const parallelTests = 16

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(parallelTests))
	}
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	pgtest.CloseShared()
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
	// The UI is served, and told to decode payloads through a codec server
	// at a port reserved now; the UI test starts the codec server there.
	uiPort, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	codecPort, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	dev, err := devstack.Start(context.Background(), devstack.Options{
		Build:      []string{"./worker", "./starter", "./sandbox", "./codec-server", "./inbound"},
		TempPrefix: "outpace-e2e-",
		Server:     devstack.ServerOptions{UIPort: uiPort, UICodecEndpoint: codecURL(codecPort)},
		Sandbox:    sandboxOptions(),
	})
	if err != nil {
		return nil, err
	}
	s := &stack{
		dev: dev, root: dev.Root, bin: dev.Bin, temporalCLI: dev.TemporalCLI,
		address: dev.Server.Address, client: dev.Server.Client, sandbox: dev.Sandbox,
		uiURL: fmt.Sprintf("http://127.0.0.1:%d", uiPort), codecPort: codecPort,
		queue: workflows.TaskQueue, contactsDB: filepath.Join(dev.Dir, "contacts.db"),
	}
	// The workers' account has no limits of its own. Its pacer still lets
	// one task through at a time, across every test on the shared queue: a
	// test that holds the account for long (a slow task) takes a lane.
	if s.sendersFile, err = dev.WriteSenders("senders.yaml", devstack.UnlimitedSenders); err != nil {
		s.close()
		return nil, err
	}
	if s.worker, err = s.startWorker(s.queue); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *stack) close() {
	if s.worker != nil {
		s.worker.Stop()
	}
	s.dev.Close()
}

// lane gives a test a corner of the shared dev server: an OutX sandbox with
// opts, the task queue, and a worker on them with extra flags, all of its
// own (so an account pacer of its own too), stopped when the test ends. The
// starter and the temporal CLI run through the lane use its queue and
// sandbox. A test takes a lane when it would disturb the others or they it:
// it injects faults, counts every request OutX receives, or holds the
// account for long.
func (s *stack) lane(t *testing.T, queue string, opts outxtest.Options, workerArgs ...string) *stack {
	t.Helper()
	return s.laneWithStore(t, queue, opts, "", workerArgs...)
}

// laneWithStore is lane with the contacts store store (a file or a
// postgres:// URL; "" is a SQLite file of the lane's own).
func (s *stack) laneWithStore(t *testing.T, queue string, opts outxtest.Options, store string, workerArgs ...string) *stack {
	t.Helper()
	l := *s
	l.sandbox = outxtest.NewServer(opts)
	t.Cleanup(l.sandbox.Close)
	l.queue = queue
	l.contactsDB = store
	if store == "" {
		l.contactsDB = filepath.Join(t.TempDir(), "contacts.db")
	}
	l.laneEnv = []string{"OUTX_BASE_URL=" + l.sandbox.URL, "OUTPACE_TASK_QUEUE=" + queue}
	w, err := l.startWorker(queue, workerArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	l.worker = w
	return &l
}

// env is the environment of the binaries: the dev server's address and the
// stack's sandbox and queue, as a user would configure them; extra wins.
func (s *stack) env(extra ...string) []string {
	own := append([]string{"OUTX_API_KEY=" + apiKey, "OUTPACE_SENDERS_FILE=" + s.sendersFile, contacts.EnvDB + "=" + s.contactsDB}, s.laneEnv...)
	return s.dev.Env(append(own, extra...)...)
}

func (s *stack) startWorker(taskQueue string, extra ...string) (*process, error) {
	return s.startWorkerWithEnv(taskQueue, nil, extra...)
}

// startWorkerWithEnv starts a worker whose environment has env on top of the
// stack's (a later entry wins): a scenario's own sandbox (OUTX_BASE_URL) or
// senders file (OUTPACE_SENDERS_FILE).
func (s *stack) startWorkerWithEnv(taskQueue string, env []string, extra ...string) (*process, error) {
	return devstack.StartWorker(context.Background(), devstack.WorkerOptions{
		Bin:  filepath.Join(s.bin, "worker"),
		Args: append([]string{"--task-queue", taskQueue, "--poll-interval", "200ms", "--poll-burst", "10s"}, extra...),
		Env:  s.env(env...),
	})
}

// process is a running binary whose output is kept.
type process = devstack.Process

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
	cmd.Env = s.env(extraEnv...)
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
	p, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// codecURL is the codec server endpoint the dev server's UI calls.
func codecURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }

// describe reads a run's description as the server gives it.
func describe(ctx context.Context, c client.Client, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}
