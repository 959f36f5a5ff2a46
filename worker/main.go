// Command worker hosts outpace's workflows and activities on a Temporal task
// queue. It holds the OutX API key: the key lives in this process's
// configuration only, never in a workflow's input, history or logs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // sending windows name time zones; a slim image may have no zoneinfo

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
	"github.com/outpacehq/outpace/internal/metrics"
	"github.com/outpacehq/outpace/internal/temporalclient"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

const usage = `worker hosts outpace's workflows (SendMessage, Campaign, Sequence,
SendConnectionRequest and each sender account's SenderPacer) and their activities.

Usage:
  worker [flags]
  worker migrate [--contacts-db DSN]   run the contacts store's migrations and exit

The OutX API key is read from OUTX_API_KEY, or from the file named by
--outx-api-key-file. It is never accepted as a flag, so that it does not show
in process listings or shell history. That key is the sender "default".

More LinkedIn accounts (senders), each with its own key and limits, are read
from the YAML or JSON file named by --senders-file; OUTX_API_KEY still
supplies "default" when the file has none. Workflows name a sender, never a
key.

At start-up, before taking any work, the worker asks OutX whether it accepts
each sender's key, with a read of a task that cannot exist: no LinkedIn
action. It refuses to start when OutX answers 401, naming the sender; when
OutX cannot be reached or answers 5xx, it warns and starts. --skip-key-check
skips this, for offline use.

The contacts store (the ledger of every LinkedIn action, the do-not-contact
list, the claims that keep one person out of two campaigns) is the SQLite file
or the postgres:// URL named by --contacts-db (OUTPACE_CONTACTS_DB; default
outpace-contacts.db in the working directory). The worker opens it at start-up,
running its migrations, and refuses to start when it cannot.

With --webhooks-file (OUTPACE_WEBHOOKS_FILE), the worker writes outpace's
events to an outbox in that store and delivers them, signed, to the file's
endpoints (docs/webhooks.md); it starts one deliverer workflow per endpoint,
webhooks/<task queue>/<endpoint>. Without it no event is written.

Temporal connection settings are read as Temporal's own tools read them:
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and the
temporal.toml profile (TEMPORAL_PROFILE).

Flags:
`

type config struct {
	temporal     temporalclient.Flags
	taskQueue    string
	baseURL      string
	keyFile      string
	sendersFile  string
	pollInterval time.Duration
	pollBurst    time.Duration
	log          logging.Flags
	stopTimeout  time.Duration
	metricsAddr  string
	skipKeyCheck bool
	contactsDB   string
	webhooksFile string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	migrate := len(args) > 0 && args[0] == "migrate"
	if migrate {
		args = args[1:]
	}
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	cliflags.Help(fs, usage, stdout)
	cfg.temporal.Register(fs)
	fs.StringVar(&cfg.taskQueue, "task-queue", workflows.TaskQueue, "Temporal task queue to serve")
	fs.StringVar(&cfg.baseURL, "outx-base-url", outx.DefaultBaseURL, "OutX API base URL")
	fs.StringVar(&cfg.keyFile, "outx-api-key-file", "", "file holding the OutX API key (default: the OUTX_API_KEY variable)")
	fs.StringVar(&cfg.sendersFile, "senders-file", "", "YAML or JSON file of sender accounts (names, key sources, limits); default: the one account of OUTX_API_KEY")
	fs.DurationVar(&cfg.pollInterval, "poll-interval", 5*time.Second, "time between task status reads while a task is expected soon")
	fs.DurationVar(&cfg.pollBurst, "poll-burst", 2*time.Minute, "how long the first poll attempt reads at --poll-interval before backing off to Temporal retries")
	cfg.log.Register(fs)
	fs.DurationVar(&cfg.stopTimeout, "shutdown-timeout", 35*time.Second, "on SIGINT/SIGTERM, how long running activities may take to finish (a send takes at most 30s)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR"+metrics.Path+", e.g. :9090 (default: off)")
	fs.BoolVar(&cfg.skipKeyCheck, "skip-key-check", false, "do not ask OutX at start-up whether it accepts each sender's API key (for offline use)")
	fs.StringVar(&cfg.contactsDB, "contacts-db", contacts.DefaultDB, "the contacts store: a SQLite file path or a postgres:// URL")
	cliflags.Env(fs, "task-queue", "OUTPACE_TASK_QUEUE")
	cliflags.Env(fs, "metrics-addr", "OUTPACE_METRICS_ADDR")
	cliflags.Env(fs, "outx-base-url", "OUTX_BASE_URL")
	cliflags.Env(fs, "outx-api-key-file", "OUTX_API_KEY_FILE")
	cliflags.Env(fs, "senders-file", "OUTPACE_SENDERS_FILE")
	cliflags.Env(fs, "poll-interval", "OUTPACE_POLL_INTERVAL")
	cliflags.Env(fs, "poll-burst", "OUTPACE_POLL_BURST")
	cliflags.Env(fs, "skip-key-check", "OUTPACE_SKIP_KEY_CHECK")
	cliflags.Env(fs, "contacts-db", contacts.EnvDB)
	fs.StringVar(&cfg.webhooksFile, "webhooks-file", "", "YAML or JSON file of webhook endpoints that receive outpace's events (docs/webhooks.md); default: none, no event is written")
	cliflags.Env(fs, "webhooks-file", webhooks.EnvFile)
	if code, ok := cliflags.ParseCommand(fs, args, stderr); !ok {
		return code
	}

	logger, err := cfg.log.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return 2
	}
	defer func() { _ = logger.Sync() }()
	if migrate {
		store, err := openContacts(cfg.contactsDB)
		if err != nil {
			fmt.Fprintln(stderr, "worker migrate:", err)
			return 1
		}
		if err := store.Close(); err != nil {
			fmt.Fprintln(stderr, "worker migrate:", redactErr(err, cfg.contactsDB))
			return 1
		}
		fmt.Fprintf(stdout, "the contacts store %s is migrated\n", redactDSN(cfg.contactsDB))
		return 0
	}
	if err := serve(cfg, logger); err != nil {
		logger.Error("worker stopped", zap.Error(err))
		return 1
	}
	return 0
}

func serve(cfg config, logger *zap.Logger) error {
	accounts, envIgnored, err := senderConfig(cfg)
	if err != nil {
		return err
	}
	clients, err := activities.Clients(accounts)
	if err != nil {
		return err
	}
	store, err := openContacts(cfg.contactsDB)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Warn("closing the contacts store", zap.Error(redactErr(err, cfg.contactsDB)))
		}
	}()
	hooks, err := loadWebhooks(cfg.webhooksFile, store)
	if err != nil {
		return err
	}
	if cfg.skipKeyCheck {
		logger.Info("not checking the senders' OutX API keys (--skip-key-check)")
	} else if err := checkKeys(cfg, accounts, clients, logger); err != nil {
		return err
	}
	ms, err := metrics.Listen(cfg.metricsAddr, logger)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: %w", cfg.metricsAddr, err)
	}
	defer func() { _ = ms.Close() }()
	if ms.Addr() != "" {
		logger.Info("serving metrics", zap.String("metrics_addr", ms.Addr()), zap.String("path", metrics.Path))
	}
	keys, _ := cfg.temporal.Keys() // read without error by Dial, or Dial fails
	tc, opts, err := cfg.temporal.Dial(logging.Temporal(logger), func(o *client.Options) {
		o.MetricsHandler = ms.Handler
		// The identity lists the senders, which starters read from the task
		// queue's pollers to refuse a sender no worker has, and says when
		// payloads are encrypted, so that a starter without the keys
		// refuses to start what it could not name.
		o.Identity = temporalclient.WorkerIdentity(accounts.Names(), keys != nil)
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := checkSearchAttributes(tc, opts.Namespace, logger); err != nil {
		return err
	}

	w := worker.New(tc, cfg.taskQueue, worker.Options{WorkerStopTimeout: cfg.stopTimeout})
	for _, wf := range workflows.All() {
		w.RegisterWorkflow(wf)
	}
	w.RegisterActivity(&activities.Activities{
		OutX:         clients[senders.Default], // nil when there is no default sender
		Accounts:     clients,
		Senders:      accounts,
		Temporal:     tc,
		TaskQueue:    cfg.taskQueue,
		PollInterval: cfg.pollInterval,
		PollBurst:    cfg.pollBurst,
		Contacts:     hooks.contacts(store),
		Events:       hooks.emitter,
	})
	hooks.register(w)

	fields := []zap.Field{
		zap.String("temporal_address", opts.HostPort),
		zap.String("namespace", opts.Namespace),
		zap.String("task_queue", cfg.taskQueue),
		zap.Strings("senders", accounts.Names()),
		zap.String("contacts_db", redactDSN(cfg.contactsDB)),
	}
	if def, ok := accounts.Get(senders.Default); ok {
		fields = append(fields, zap.String("outx_base_url", def.BaseURL), zap.String("outx_api_key", "set, from "+def.KeySource))
	}
	logger.Info("worker starting", fields...)
	logSenders(logger, accounts)
	if envIgnored != "" {
		logger.Info("the senders file defines the default sender: " + envIgnored + " is not used")
	}
	if err := hooks.start(context.Background(), tc, cfg.taskQueue, logger); err != nil {
		return err
	}
	// Run returns after SIGINT or SIGTERM, once running activities finished or
	// the shutdown timeout passed.
	if err := w.Run(worker.InterruptCh()); err != nil {
		return err
	}
	logger.Info("worker stopped cleanly")
	return nil
}

// senderConfig is the worker's sender accounts: those of --senders-file,
// plus "default" from OUTX_API_KEY (or --outx-api-key-file) unless the file
// defines it; without a file, that one account, as before senders existed.
// envIgnored names the key source a file's own "default" overrides.
func senderConfig(cfg config) (accounts senders.Config, envIgnored string, err error) {
	if cfg.sendersFile != "" {
		if accounts, err = senders.Load(cfg.sendersFile); err != nil {
			return senders.Config{}, "", fmt.Errorf("--senders-file: %w", err)
		}
	}
	key, source, keyErr := apiKey(cfg.keyFile)
	switch {
	case keyErr == nil:
		def := senders.FromEnv(key, cfg.baseURL).Accounts[0]
		def.KeySource = source
		var added bool
		if accounts, added = accounts.Add(def); !added {
			// Unless the file's own default reads that same variable.
			if own, _ := accounts.Get(senders.Default); own.KeySource != "$"+source {
				envIgnored = source
			}
		}
	case cfg.sendersFile == "" || cfg.keyFile != "":
		// Without a file the key is required; a key file named but
		// unreadable is a mistake either way.
		return senders.Config{}, "", keyErr
	}
	return accounts.WithBaseURL(cfg.baseURL), envIgnored, nil
}

// logSenders logs each sender's name, API address, key source and limits:
// what an operator checks at start-up. Never the key.
func logSenders(logger *zap.Logger, accounts senders.Config) {
	for _, name := range accounts.Names() {
		a, _ := accounts.Get(name)
		logger.Info("sender",
			zap.String("sender", a.Name),
			zap.String("outx_base_url", a.BaseURL),
			zap.String("api_key", "set, from "+a.KeySource),
			zap.String("limits", a.Limits.String()),
		)
	}
}

// apiKey reads the OutX key from a file or OUTX_API_KEY and says where it
// came from, for the start-up log; the key itself is never logged.
func apiKey(file string) (key, source string, err error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("--outx-api-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
		if key == "" {
			return "", "", fmt.Errorf("--outx-api-key-file %s is empty", file)
		}
		return key, file, nil
	}
	key = strings.TrimSpace(os.Getenv("OUTX_API_KEY"))
	if key == "" {
		return "", "", errors.New("no OutX API key: set OUTX_API_KEY or --outx-api-key-file (for the sandbox, OUTX_API_KEY=sandbox-key)")
	}
	return key, "OUTX_API_KEY", nil
}
