package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Process is a running binary (a worker, a codec server, a starter that
// waits) whose output is kept, in memory or in a log file.
type Process struct {
	// Log is the file the output goes to; empty when it is kept in memory.
	Log  string
	cmd  *exec.Cmd
	buf  syncBuffer
	file *os.File
	done chan struct{}
	err  error
}

// StartProcess starts cmd with its output kept in memory, or written to logFile
// when that is not empty. The process gets its own process group (a Ctrl-C
// at the terminal reaches the caller, which stops it) and is killed if the
// caller dies first.
func StartProcess(cmd *exec.Cmd, logFile string) (*Process, error) {
	p := &Process{cmd: cmd, Log: logFile, done: make(chan struct{})}
	var out io.Writer = &p.buf
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return nil, err
		}
		p.file, out = f, f
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		if p.file != nil {
			_ = p.file.Close()
		}
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		if p.file != nil {
			_ = p.file.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is how the process ended, once Exited is closed.
func (p *Process) Err() error { return p.err }

// ExitCode is the exit status, once Exited is closed; -1 when killed by a
// signal.
func (p *Process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Output is everything the process printed so far.
func (p *Process) Output() string {
	if p.Log != "" {
		data, _ := os.ReadFile(p.Log)
		return string(data)
	}
	return p.buf.String()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// WaitFor waits until the process has printed text.
func (p *Process) WaitFor(text string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.Output(), text) {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(p.Output(), text) {
				return nil
			}
			return fmt.Errorf("exited before printing %q: %v", text, p.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("did not print %q within %s", text, timeout)
}

// Kill kills the process with SIGKILL, as a crash or an OOM kill would, and
// waits for it to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stopGrace is how long a process has to stop after SIGTERM: longer than
// the worker's own --shutdown-timeout (35s), which lets running activities
// finish.
const stopGrace = 45 * time.Second

// Stop stops the process with SIGTERM and waits for it; one still running
// 45 seconds later is killed.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		p.Kill()
	}
}

// WorkerOptions configure a worker process.
type WorkerOptions struct {
	// Bin is the worker binary.
	Bin string
	// Args are its flags, the task queue's among them.
	Args []string
	// Env is its whole environment (CleanEnv and the stack's settings).
	Env []string
	// Dir is its working directory; empty, the caller's.
	Dir string
	// LogFile receives its output; empty, the output is kept in memory.
	LogFile string
	// Ready, when set, is how the worker is known to be ready: it polls
	// TaskQueue on this client's server (a worker logging at warn prints
	// nothing when it starts). Without it, the worker is ready once it has
	// printed "Started Worker".
	Ready client.Client
	// TaskQueue is the queue Ready watches.
	TaskQueue string
	// Timeout bounds the wait for the worker to be ready; 0: 30 seconds.
	Timeout time.Duration
}

// StartWorker starts a worker and waits until it is ready. A worker that
// exits or is not ready in time is an error that quotes its output.
func StartWorker(ctx context.Context, o WorkerOptions) (*Process, error) {
	cmd := exec.Command(o.Bin, o.Args...)
	cmd.Env, cmd.Dir = o.Env, o.Dir
	p, err := StartProcess(cmd, o.LogFile)
	if err != nil {
		return nil, fmt.Errorf("the worker: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if o.Ready == nil {
		err = p.WaitFor("Started Worker", timeout)
	} else {
		err = p.waitPolling(ctx, o.Ready, o.TaskQueue, timeout)
	}
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("the worker: %w\n%s", err, Tail(p.Output(), 30))
	}
	return p, nil
}

// waitPolling waits until the server lists this process among the workflow
// pollers of queue: a worker's identity starts with "<pid>@".
func (p *Process) waitPolling(ctx context.Context, c client.Client, queue string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	me := strconv.Itoa(p.PID()) + "@"
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := c.DescribeTaskQueue(dctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		cancel()
		if err == nil {
			for _, poller := range resp.GetPollers() {
				if strings.HasPrefix(poller.GetIdentity(), me) {
					return nil
				}
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not poll %q within %s", queue, timeout)
		}
	}
}

// Tail is the last n lines of text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

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
