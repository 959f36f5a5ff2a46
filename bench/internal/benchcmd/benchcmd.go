// Package benchcmd is what every benchmark command shares around its
// measurement: the flags that say which Temporal CLI and worker to run
// (--temporal, --worker-bin, --keep, --server-arg), parsing them, a context
// that Ctrl-C cancels, starting and stopping the stack, and the exit codes
// (0 done, 1 failed, 2 bad usage, 130 interrupted).
package benchcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/outpacehq/outpace/bench/internal/stack"
)

// Help holds the texts of the shared flags; an empty one is the usual text.
type Help struct {
	Temporal  string
	WorkerBin string
	Keep      string
	ServerArg string
	// NoServerArg leaves --server-arg out.
	NoServerArg bool
}

// The usual texts of the shared flags.
const (
	HelpTemporal  = "the temporal CLI (default: $OUTPACE_TEMPORAL_CLI, else .tools/bin/temporal)"
	HelpWorkerBin = "a worker binary (default: go build ./worker)"
	HelpKeep      = "keep the temporary directory (logs)"
	HelpServerArg = "an extra argument for `temporal server start-dev` (repeatable)"
)

// Flags are the values of the shared flags.
type Flags struct {
	TemporalCLI string
	WorkerBin   string
	Keep        bool
	ServerArgs  Strings
}

// Register defines the shared flags on fs.
func (f *Flags) Register(fs *flag.FlagSet, h Help) {
	fs.StringVar(&f.TemporalCLI, "temporal", "", or(h.Temporal, HelpTemporal))
	fs.StringVar(&f.WorkerBin, "worker-bin", "", or(h.WorkerBin, HelpWorkerBin))
	fs.BoolVar(&f.Keep, "keep", false, or(h.Keep, HelpKeep))
	if !h.NoServerArg {
		fs.Var(&f.ServerArgs, "server-arg", or(h.ServerArg, HelpServerArg))
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Strings is a repeatable string flag.
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, " ") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// Program is one benchmark command.
type Program struct {
	// Name names the command in its messages (and its flag set).
	Name string
	// FlagSet holds the shared flags; the command adds its own.
	FlagSet *flag.FlagSet
	Flags   Flags
	// Started is when Run began, before the stack started: the report's date.
	Started time.Time
}

// New makes a program whose --help prints intro, then the flags.
func New(name, intro string, h Help) *Program {
	p := &Program{Name: name, FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	p.FlagSet.Usage = func() {
		fmt.Fprint(p.FlagSet.Output(), intro)
		p.FlagSet.PrintDefaults()
	}
	p.Flags.Register(p.FlagSet, h)
	return p
}

// Parse parses args. When it returns false the command should exit with the
// code: 0 after --help, 2 after a bad flag (flag has said which).
func (p *Program) Parse(args []string) (code int, ok bool) {
	if err := p.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// Usage writes "<name>: <want>" to standard error and returns 2, for flag
// values out of range.
func (p *Program) Usage(want string) int {
	fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, want)
	return 2
}

// Bench is a command's measurement on a running stack; it returns how to
// write its report.
type Bench func(ctx context.Context, st *stack.Stack) (report func(w io.Writer), err error)

// Run starts the stack (opts, with the shared flags' CLI, worker binary,
// --keep and --server-arg appended to opts.ServerArgs), runs bench, writes
// its report to standard output and stops everything, also on Ctrl-C. It
// returns the exit code.
func (p *Program) Run(opts stack.Options, bench Bench) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A reader of our output that went away (tee killed by Ctrl-C) must not
	// kill us before we stopped what we started: writes then fail instead.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	p.Started = time.Now()
	opts.TemporalCLI, opts.WorkerBin, opts.Keep = p.Flags.TemporalCLI, p.Flags.WorkerBin, p.Flags.Keep
	opts.ServerArgs = append(append([]string(nil), opts.ServerArgs...), p.Flags.ServerArgs...)
	st, err := stack.Start(ctx, opts)
	if st != nil { // a stack that failed part way still stops what it started
		defer st.Close()
	}
	var report func(io.Writer)
	if err == nil {
		report, err = bench(ctx, st)
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(os.Stderr, "%s: interrupted; stopping everything it started\n", p.Name)
			return 130
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		if st.Worker != nil {
			fmt.Fprintf(os.Stderr, "last lines of the worker's log (%s):\n%s\n", st.Worker.Log, stack.Tail(st.Worker.Log, 30))
		}
		return 1
	}
	report(os.Stdout)
	return 0
}
