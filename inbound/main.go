// Command inbound serves outpace's inbound HTTP API: stop a person (in a
// campaign, an account, or everywhere), keep the do-not-contact list, read a
// person's status. It is its own binary, not a worker flag: the worker holds
// the OutX keys and serves no HTTP; inbound needs only a Temporal client and
// the contacts store. See docs/inbound.md.
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
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/inbound/server"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
	"github.com/outpacehq/outpace/internal/temporalclient"
	"github.com/outpacehq/outpace/stops"
	"github.com/outpacehq/outpace/workflows"
)

const usage = `inbound serves outpace's inbound HTTP API, for a team's other tools (a CRM,
an inbox tool, a webhook receiver):

  POST   /v1/stops            stop a person: in a campaign, an account, or everywhere
  POST   /v1/dnc              put a person on the do-not-contact list
  DELETE /v1/dnc/{person}     take them off it
  GET    /v1/people/{person}  their status: on the list or not, the ledger, runs
  GET    /v1/openapi.yaml     the API's OpenAPI document;  GET /healthz

Usage:
  inbound --tokens-file FILE [flags]

Every call but the last two needs "Authorization: Bearer <token>", a token of
the tokens file: lines "name token" (make one with openssl rand -hex 32). The
file is re-read when it changes: delete a line to revoke its token. Calls are
logged with the token's name, never the token.

It listens on 127.0.0.1 by default: expose it through a reverse proxy with TLS
(docs/inbound.md). It holds no OutX key: it needs only Temporal and the
contacts store.

Flags:
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	addr, tokensFile, contactsDB, taskQueue string
	temporal                                temporalclient.Flags
	log                                     logging.Flags
}

func parseConfig(args []string, stdout, stderr io.Writer) (cfg config, code int, ok bool) {
	fs := pflag.NewFlagSet("inbound", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cliflags.Help(fs, usage, stdout)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8089", "host:port to listen on (0.0.0.0:8089 only behind a reverse proxy with TLS, or in a container)")
	fs.StringVar(&cfg.tokensFile, "tokens-file", "", "the bearer tokens, lines \"name token\"; required")
	fs.StringVar(&cfg.contactsDB, "contacts-db", contacts.DefaultDB, "the contacts store: a SQLite file path or a postgres:// URL (the worker's)")
	fs.StringVar(&cfg.taskQueue, "task-queue", workflows.TaskQueue, "Temporal task queue of the outpace worker (where the account pacers run)")
	cfg.temporal.Register(fs)
	cfg.log.Register(fs)
	cliflags.Env(fs, "addr", "OUTPACE_INBOUND_ADDR")
	cliflags.Env(fs, "tokens-file", "OUTPACE_INBOUND_TOKENS_FILE")
	cliflags.Env(fs, "contacts-db", contacts.EnvDB)
	cliflags.Env(fs, "task-queue", "OUTPACE_TASK_QUEUE")
	if code, ok := cliflags.ParseCommand(fs, args, stderr); !ok {
		return cfg, code, false
	}
	if cfg.tokensFile == "" {
		fmt.Fprintln(stderr, "inbound: --tokens-file (or OUTPACE_INBOUND_TOKENS_FILE) is required: no call is served without tokens (see --help)")
		return cfg, 2, false
	}
	return cfg, 0, true
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := parseConfig(args, stdout, stderr)
	if !ok {
		return code
	}
	logger, err := cfg.log.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "inbound:", err)
		return 2
	}
	tokens, err := server.LoadTokens(cfg.tokensFile)
	if err != nil {
		fmt.Fprintln(stderr, "inbound:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c, opts, err := cfg.temporal.Dial(logging.Temporal(logger))
	if err != nil {
		fmt.Fprintln(stderr, "inbound:", err)
		return 1
	}
	defer c.Close()
	keys, _ := cfg.temporal.Keys() // loaded without error by Dial
	dc := opts.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	store, err := contacts.Open(ctx, cfg.contactsDB)
	if err != nil {
		fmt.Fprintln(stderr, "inbound: the contacts store:", err)
		return 1
	}
	defer store.Close()

	srv := &server.Server{
		Stopper: &stops.Stopper{Client: c, TaskQueue: cfg.taskQueue, DataConverter: dc, Encrypted: keys != nil},
		Store:   store, Tokens: tokens, Logger: logger,
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logger.Error("cannot listen", zap.Error(err))
		return 1
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      server.CallTimeout + 15*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(logger),
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	logger.Info("inbound listening", zap.String("url", "http://"+ln.Addr().String()),
		zap.String("tokens_file", tokens.Path()), zap.Int("tokens", tokens.Count()),
		zap.String("namespace", opts.Namespace), zap.String("task_queue", cfg.taskQueue))
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("inbound stopped", zap.Error(err))
		return 1
	}
	logger.Info("inbound stopped cleanly")
	return 0
}
