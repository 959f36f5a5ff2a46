package devstack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
)

// ServerOptions configure a dev server.
type ServerOptions struct {
	// CLI is the temporal CLI to run (TemporalCLI finds it).
	CLI string
	// HostPort is where the frontend listens; empty, a free port on
	// 127.0.0.1. A fixed one lets a test stop the server and start it again
	// at the same address, under a worker that must reconnect.
	HostPort string
	// DBFilename persists the server's state to a file, across restarts.
	DBFilename string
	// UIPort serves the Temporal UI on 127.0.0.1 at that port; 0: no UI.
	UIPort int
	// UICodecEndpoint is the codec server the UI is told to call.
	UICodecEndpoint string
	// Metrics serves the server's Prometheus metrics on a free port
	// (Server.MetricsURL).
	Metrics bool
	// DynamicConfig values, "key=value" each, e.g.
	// "limit.historyCount.suggestContinueAsNew=100".
	DynamicConfig []string
	// ExtraArgs are more `temporal server start-dev` arguments.
	ExtraArgs []string
	// Log receives the server's output; nil discards it.
	Log io.Writer
	// ClientOptions for the server's client (a logger); HostPort is set.
	ClientOptions *client.Options
	// StartTimeout bounds the wait for the server to answer; 0: a minute.
	StartTimeout time.Duration
}

// Server is a running dev server, with outpace's search attributes.
type Server struct {
	Address    string        // the frontend's host:port
	Client     client.Client // a client of its default namespace
	MetricsURL string        // its Prometheus endpoint, when asked for
	dev        *testsuite.DevServer
	pid        int
}

// stopTimeout is how long a dev server has to stop after SIGINT before it
// is killed.
const stopTimeout = 30 * time.Second

// StartServer starts a dev server through testsuite.StartDevServer with the
// given CLI and waits until it answers. A server that did not answer in time
// is killed rather than left running: testsuite.StartDevServer returns no
// handle on it.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	hostPort := o.HostPort
	if hostPort == "" {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		hostPort = "127.0.0.1:" + strconv.Itoa(p)
	}
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, fmt.Errorf("dev server address %q: %w", hostPort, err)
	}
	s := &Server{Address: hostPort}
	var args []string
	if o.UIPort != 0 {
		args = append(args, "--ui-ip", "127.0.0.1")
		if o.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
		}
	}
	if o.Metrics {
		mp, err := FreePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--metrics-port", strconv.Itoa(mp))
		s.MetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", mp)
	}
	for _, kv := range o.DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	args = append(args, o.ExtraArgs...)
	var copts client.Options
	if o.ClientOptions != nil {
		copts = *o.ClientOptions
	}
	copts.HostPort = hostPort
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	uiPort := ""
	if o.UIPort != 0 {
		uiPort = strconv.Itoa(o.UIPort)
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s.dev, err = testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath:     o.CLI,
		ClientOptions:    &copts,
		DBFilename:       o.DBFilename,
		LogLevel:         "error",
		EnableUI:         o.UIPort != 0,
		UIPort:           uiPort,
		SearchAttributes: SearchAttributes(),
		ExtraArgs:        args,
		Stdout:           log,
		Stderr:           log,
	})
	s.pid = childPID(o.CLI, port)
	if err != nil {
		if s.pid > 0 {
			// Started, never answered: ours to stop, and to reap.
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(s.pid, &ws, 0, nil)
		}
		return nil, fmt.Errorf("starting the dev server at %s: %w", hostPort, err)
	}
	s.Client = s.dev.Client()
	return s, nil
}

// PID is the dev server's process id, or 0 when it was not found.
func (s *Server) PID() int { return s.pid }

// Stop closes the client and stops the server with SIGINT, as an operator
// would; one that has not stopped within 30 seconds is killed.
func (s *Server) Stop() error {
	s.Client.Close()
	stopped := make(chan error, 1)
	go func() { stopped <- s.dev.Stop() }()
	select {
	case err := <-stopped:
		return err
	case <-time.After(stopTimeout):
		if s.pid > 0 {
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
		}
		<-stopped
		return fmt.Errorf("the dev server at %s did not stop within %s of SIGINT: killed", s.Address, stopTimeout)
	}
}

// History reads a run's whole history (runID "" is the latest run).
func (s *Server) History(ctx context.Context, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
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

// Actions reads the server's "action" counter for the default namespace, by
// action_type: the server's own count of billable actions
// (go.temporal.io/server common/rpc/interceptor/telemetry.go). The server
// must have been started with Metrics.
func (s *Server) Actions(ctx context.Context) (map[string]float64, error) {
	if s.MetricsURL == "" {
		return nil, fmt.Errorf("the dev server at %s serves no metrics (ServerOptions.Metrics)", s.Address)
	}
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

// childPID is the pid of this process's child running exe with "--port
// port" among its arguments, or 0. Several dev servers may be starting at
// once (parallel tests); the port tells them apart. exe may be relative:
// /proc/<pid>/exe is absolute.
func childPID(exe, port string) int {
	want := exe
	if abs, err := filepath.Abs(exe); err == nil {
		want = abs
	}
	if real, err := filepath.EvalSymlinks(want); err == nil {
		want = real
	}
	me := strconv.Itoa(os.Getpid())
	portArg := []byte("\x00--port\x00" + port + "\x00")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(stat[i+1:])); len(f) < 2 || f[1] != me {
			continue
		}
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || (got != want && got != exe) {
			continue
		}
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(append(cmdline, 0), portArg) {
			return pid
		}
	}
	return 0
}
