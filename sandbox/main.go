// Command sandbox serves the OutX sandbox (package outx/outxtest) on a port:
// the OutX API as published, for the demo and for trying outpace without an
// OutX account.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
	"github.com/outpacehq/outpace/outx/outxtest"
)

const usage = `sandbox serves a local stand-in for the OutX API (https://api.outx.ai).

Usage:
  sandbox [flags]

Point the worker at it with OUTX_BASE_URL=http://<addr> and OUTX_API_KEY set to
--api-key. Tasks are performed --task-delay after they are queued. Each team is
one LinkedIn sender account: add more with --team name=key to test several.

Special recipients (any suffix may follow, e.g. urn:li:person:notconnected-7):
  urn:li:person:notconnected…  a message fails: not a 1st-degree connection
  urn:li:person:accepts…       not connected; accepts a connection request
                               --accept-delay after it completes
  urn:li:person:ignores…       not connected; never accepts
  urn:li:person:unsent…        the task completes with {"sent": false}
  urn:li:person:slow…          the task stays pending for --slow-delay
  urn:li:person:stuck…         the task stays pending forever
  urn:li:person:ratelimited…   the first send is answered 429
  urn:li:person:unavailable…   the first send is answered 503
  urn:li:person:lostanswer…    the first send's task is created, its answer lost
Every other valid URN is already a connection: messages are delivered, and a
connection request completes with {"sent": false, "already_connected": true}.

Control and inspect it over HTTP:
  GET  /_sandbox/tasks       every task created      GET /_sandbox/requests
  POST /_sandbox/faults      {"path": "/linkedin-agent/send-message", "status": 429, "times": 3}
                             {"lose_answer": true, "times": 1}  {"latency_ms": 5000}
  DELETE /_sandbox/faults    PUT /_sandbox/extension {"online": false}
  POST /_sandbox/connections {"team": "sandbox", "profile_urn": "urn:li:person:…"}
                             accepts now     GET /_sandbox/connections?team=sandbox

Flags:
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// config is the sandbox's command line, parsed and checked.
type config struct {
	addr string
	opts outxtest.Options
	log  logging.Flags
}

// parseConfig reads the flags and their environment variables. When the
// command should stop there (--help, a usage error), ok is false and code is
// its exit status.
func parseConfig(args []string, stdout, stderr io.Writer) (cfg config, code int, ok bool) {
	fs := pflag.NewFlagSet("sandbox", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cliflags.Help(fs, usage, stdout)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8787", "host:port to listen on")
	key := fs.String("api-key", outxtest.DefaultAPIKey, "the API key of the default team, \"sandbox\"")
	fs.DurationVar(&cfg.opts.TaskDelay, "task-delay", 2*time.Second, "time from a task's creation to its final status")
	fs.DurationVar(&cfg.opts.SlowDelay, "slow-delay", time.Minute, "how long tasks of slow… recipients stay pending")
	fs.DurationVar(&cfg.opts.AcceptDelay, "accept-delay", time.Minute, "how long after its connection request completes an accepts… person accepts")
	extraTeams := fs.StringSlice("team", nil, "another team (sender account) besides \"sandbox\", as `name=key`; repeatable, or comma-separated")
	cfg.log.Register(fs)
	cliflags.Env(fs, "addr", "SANDBOX_ADDR")
	cliflags.Env(fs, "api-key", "SANDBOX_API_KEY")
	cliflags.Env(fs, "task-delay", "SANDBOX_TASK_DELAY")
	cliflags.Env(fs, "slow-delay", "SANDBOX_SLOW_DELAY")
	cliflags.Env(fs, "accept-delay", "SANDBOX_ACCEPT_DELAY")
	cliflags.Env(fs, "team", "SANDBOX_TEAMS")
	if code, ok := cliflags.ParseCommand(fs, args, stderr); !ok {
		return cfg, code, false
	}
	var err error
	if cfg.opts.Teams, err = parseTeams(*key, *extraTeams); err != nil {
		fmt.Fprintf(stderr, "sandbox: %v (see --help)\n", err)
		return cfg, 2, false
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"task-delay", cfg.opts.TaskDelay}, {"slow-delay", cfg.opts.SlowDelay}, {"accept-delay", cfg.opts.AcceptDelay}} {
		if d.value <= 0 {
			fmt.Fprintf(stderr, "sandbox: --%s must be positive, got %s (see --help)\n", d.flag, d.value)
			return cfg, 2, false
		}
	}
	return cfg, 0, true
}

func run(args []string) int {
	cfg, code, ok := parseConfig(args, os.Stdout, os.Stderr)
	if !ok {
		return code
	}
	logger, err := cfg.log.New(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}

	sb := outxtest.New(cfg.opts)
	mux := http.NewServeMux()
	mux.Handle(outxtest.AdminPrefix, sb.AdminHandler())
	mux.Handle("/", logRequests(logger, sb))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logger.Error("cannot listen", zap.Error(err))
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("OutX sandbox listening", zap.String("url", "http://"+ln.Addr().String()),
		zap.Duration("task_delay", cfg.opts.TaskDelay), zap.Duration("accept_delay", cfg.opts.AcceptDelay),
		zap.Strings("teams", teamNames(cfg.opts.Teams)))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("sandbox stopped", zap.Error(err))
		return 1
	}
	logger.Info("sandbox stopped cleanly")
	return 0
}

// parseTeams returns the default team with defaultKey, the no-admin team,
// and the teams given as name=key. Errors name the team, never a key.
func parseTeams(defaultKey string, extra []string) ([]outxtest.Team, error) {
	if strings.TrimSpace(defaultKey) == "" {
		return nil, errors.New("--api-key must not be empty")
	}
	teams := []outxtest.Team{
		{Name: outxtest.DefaultTeam, APIKey: defaultKey},
		{Name: "no-admin", APIKey: outxtest.NoAdminAPIKey, NoAdmin: true},
	}
	for _, spec := range extra {
		name, key, ok := strings.Cut(strings.TrimSpace(spec), "=")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if !ok || name == "" || key == "" {
			return nil, fmt.Errorf("--team: want name=key, got %q", redactKey(spec))
		}
		for _, t := range teams {
			switch {
			case t.Name == name:
				return nil, fmt.Errorf("--team %s: the name is already taken", name)
			case t.APIKey == key:
				return nil, fmt.Errorf("--team %s: its key is already team %s's", name, t.Name)
			}
		}
		teams = append(teams, outxtest.Team{Name: name, APIKey: key})
	}
	return teams, nil
}

// redactKey shows a malformed name=key without what may be its key.
func redactKey(spec string) string {
	if name, _, ok := strings.Cut(spec, "="); ok {
		return name + "=…"
	}
	return spec
}

func teamNames(teams []outxtest.Team) []string {
	names := make([]string, len(teams))
	for i, t := range teams {
		names[i] = t.Name
	}
	return names
}

// logRequests logs one line per OutX request. Headers are not logged: they
// carry the API key.
func logRequests(logger *zap.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			logger.Info("request", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("status", sw.status))
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
