// Command sandbox serves the OutX sandbox (package outx/outxtest) on a port:
// the OutX API as published, for the demo and for trying outpace without an
// OutX account.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
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
--api-key. Tasks are performed --task-delay after they are queued.

Special recipients (any suffix may follow, e.g. urn:li:person:notconnected-7):
  urn:li:person:notconnected…  the task fails: not a 1st-degree connection
  urn:li:person:unsent…        the task completes with {"sent": false}
  urn:li:person:slow…          the task stays pending for --slow-delay
  urn:li:person:stuck…         the task stays pending forever
  urn:li:person:ratelimited…   the first send is answered 429
  urn:li:person:unavailable…   the first send is answered 503
  urn:li:person:lostanswer…    the first send's task is created, its answer lost
Every other valid URN is delivered.

Control and inspect it over HTTP:
  GET  /_sandbox/tasks       every task created      GET /_sandbox/requests
  POST /_sandbox/faults      {"path": "/linkedin-agent/send-message", "status": 429, "times": 3}
                             {"lose_answer": true, "times": 1}  {"latency_ms": 5000}
  DELETE /_sandbox/faults    PUT /_sandbox/extension {"online": false}

Flags:
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := pflag.NewFlagSet("sandbox", pflag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stdout, usage+fs.FlagUsages()) }
	addr := fs.String("addr", "127.0.0.1:8787", "host:port to listen on")
	key := fs.String("api-key", outxtest.DefaultAPIKey, "the API key the sandbox accepts")
	taskDelay := fs.Duration("task-delay", 2*time.Second, "time from a task's creation to its final status")
	slowDelay := fs.Duration("slow-delay", time.Minute, "how long tasks of slow… recipients stay pending")
	var logFlags logging.Flags
	logFlags.Register(fs)
	cliflags.Env(fs, "addr", "SANDBOX_ADDR")
	cliflags.Env(fs, "api-key", "SANDBOX_API_KEY")
	cliflags.Env(fs, "task-delay", "SANDBOX_TASK_DELAY")
	cliflags.Env(fs, "slow-delay", "SANDBOX_SLOW_DELAY")
	if code, ok := cliflags.ParseCommand(fs, args, os.Stderr); !ok {
		return code
	}
	logger, err := logFlags.New(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}

	sb := outxtest.New(outxtest.Options{
		Teams: []outxtest.Team{
			{Name: "sandbox", APIKey: *key},
			{Name: "no-admin", APIKey: outxtest.NoAdminAPIKey, NoAdmin: true},
		},
		TaskDelay: *taskDelay,
		SlowDelay: *slowDelay,
	})
	mux := http.NewServeMux()
	mux.Handle(outxtest.AdminPrefix, sb.AdminHandler())
	mux.Handle("/", logRequests(logger, sb))

	ln, err := net.Listen("tcp", *addr)
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
		zap.Duration("task_delay", *taskDelay))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("sandbox stopped", zap.Error(err))
		return 1
	}
	logger.Info("sandbox stopped cleanly")
	return 0
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
