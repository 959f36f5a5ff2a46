package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/outpacehq/outpace/internal/repo"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// Options configure a Stack.
type Options struct {
	// TemporalCLI is the temporal CLI; empty, TemporalCLI finds it.
	TemporalCLI string
	// Build are the main packages built into Stack.Bin, once, before
	// anything starts, e.g. "./worker", "./starter", "./sandbox".
	Build []string
	// TempPrefix names the stack's temporary directory.
	TempPrefix string
	// Keep keeps the temporary directory (logs) after Close.
	Keep bool
	// Server configures the dev server; its CLI and, when empty, its Log
	// (temporal.log in the temporary directory) are set by Start.
	Server ServerOptions
	// Sandbox configures the OutX sandbox served over HTTP.
	Sandbox outxtest.Options
	// Logf, when set, is told each step as it happens.
	Logf func(format string, args ...any)
}

// Stack is a dev server, the OutX sandbox over HTTP, and the binaries built
// for them, in a temporary directory of its own. Workers are started on it
// with StartWorker; Close stops what Start started.
type Stack struct {
	Root        string // the repository
	Dir         string // the temporary directory
	Bin         string // where Build put the binaries
	TemporalCLI string
	Server      *Server
	Sandbox     *outxtest.Server
	opts        Options
	log         *os.File
	closed      bool
}

// Start builds the binaries, then starts the OutX sandbox and the dev
// server. On an error, what was started is stopped again; the Stack returned
// is never nil, so that its Dir can still be reported.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts}
	var err error
	if s.Root, err = repo.Root(); err != nil {
		return s, err
	}
	if s.TemporalCLI, err = TemporalCLI(s.Root, opts.TemporalCLI); err != nil {
		return s, err
	}
	prefix := opts.TempPrefix
	if prefix == "" {
		prefix = "outpace-devstack-"
	}
	if s.Dir, err = os.MkdirTemp("", prefix); err != nil {
		return s, err
	}
	s.logf("temporary directory %s", s.Dir)
	s.Bin = filepath.Join(s.Dir, "bin")
	if len(opts.Build) > 0 {
		s.logf("building %v...", opts.Build)
		if err := Build(ctx, s.Root, s.Bin, opts.Build...); err != nil {
			s.Close()
			return s, err
		}
	}
	s.Sandbox = outxtest.NewServer(opts.Sandbox)
	s.logf("OutX sandbox at %s (task delay %s)", s.Sandbox.URL, opts.Sandbox.TaskDelay)

	so := opts.Server
	so.CLI = s.TemporalCLI
	if so.Log == nil {
		if s.log, err = os.Create(filepath.Join(s.Dir, "temporal.log")); err != nil {
			s.Close()
			return s, err
		}
		so.Log = s.log
	}
	s.logf("starting the Temporal dev server (%s)...", s.TemporalCLI)
	if s.Server, err = StartServer(ctx, so); err != nil {
		if s.log != nil {
			err = fmt.Errorf("%w\n%s", err, tailFile(s.log.Name(), 20))
		}
		s.Close()
		return s, err
	}
	s.logf("dev server at %s (pid %d)%s", s.Server.Address, s.Server.PID(), metricsNote(s.Server.MetricsURL))
	return s, nil
}

func metricsNote(url string) string {
	if url == "" {
		return ""
	}
	return ", metrics at " + url
}

func (s *Stack) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// Env is the environment of a binary run on the stack, as a user would
// configure it: CleanEnv, the dev server's address and namespace, the
// sandbox's URL, then extra (a later entry wins).
func (s *Stack) Env(extra ...string) []string {
	return append(append(CleanEnv(),
		"TEMPORAL_ADDRESS="+s.Server.Address,
		"TEMPORAL_NAMESPACE=default",
		"OUTX_BASE_URL="+s.Sandbox.URL,
	), extra...)
}

// WriteSenders writes a senders file into the stack's directory and returns
// its path.
func (s *Stack) WriteSenders(name, yaml string) (string, error) {
	path := filepath.Join(s.Dir, name)
	return path, os.WriteFile(path, []byte(yaml), 0o600)
}

// Close stops the dev server and the sandbox and removes the temporary
// directory (unless Keep). Workers are their starters' to stop, first.
// Closing again does nothing.
func (s *Stack) Close() {
	if s.closed {
		return
	}
	s.closed = true
	start := time.Now()
	if s.Server != nil {
		if err := s.Server.Stop(); err != nil {
			s.logf("stopping the dev server: %v", err)
		}
	}
	if s.Sandbox != nil {
		s.Sandbox.Close()
	}
	if s.log != nil {
		_ = s.log.Close()
	}
	s.logf("stopped the dev server and the sandbox in %s", time.Since(start).Round(time.Millisecond))
	if s.Dir != "" {
		if s.opts.Keep {
			s.logf("kept %s", s.Dir)
		} else {
			_ = os.RemoveAll(s.Dir)
		}
	}
}

func tailFile(path string, n int) string {
	data, _ := os.ReadFile(path)
	return Tail(string(data), n)
}
