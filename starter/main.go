// Command starter starts, watches and controls outpace's workflows.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // sending windows name time zones, checked here as the worker checks them

	"github.com/spf13/pflag"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
	"github.com/outpacehq/outpace/internal/temporalclient"
	"github.com/outpacehq/outpace/workflows"
)

const usage = `starter starts, watches and controls outpace's workflows.

Usage:
  starter <command> [flags]

Commands:
%s
Run "starter <command> --help" for a command's flags.

Exit status: 0 done (send --wait: delivered; campaign watch: finished),
1 error (or a campaign cancelled or stopped), 2 bad input (nothing was sent),
3 not delivered, 4 outcome unknown.
`

// command is one subcommand of the starter.
type command struct {
	name, summary, usage string
	flags                func(fs *pflag.FlagSet, o *common) func(ctx context.Context) error
	// subcommands make the command a group ("starter campaign start"): the
	// next argument names one of them, and flags is not used.
	subcommands []command
	// arg names the one argument the command takes besides its flags
	// ("NAME"); empty: none. With many, the command takes any number of
	// them ("PERSON..."), in common.args.
	arg  string
	many bool
}

var commands = []command{sendCommand, campaignCommand, accountCommand, contactsCommand, dncCommand, webhooksCommand, recipientIDCommand}

func main() {
	// Ctrl-C stops the starter's waiting, never the workflow it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return exitStatus(stderr, dispatch(ctx, "starter", "command", commands, mainUsage(), args, stdout, stderr))
}

// dispatch runs the command of list that args[0] names (or prints usage
// for help): the starter's commands, or a group's subcommands.
func dispatch(ctx context.Context, path, noun string, list []command, usage string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1 {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return shown(usagef("%s: no %s given", path, noun))
		}
		return nil
	}
	name := args[0]
	if name == "help" {
		name, args = args[1], []string{args[1], "--help"}
	}
	for _, c := range list {
		if c.name == name {
			return runCommand(ctx, path+" "+c.name, c, args[1:], stdout, stderr)
		}
	}
	// Named by its path ("starter campaign: ..."), with the usage after.
	fmt.Fprintf(stderr, "%s: unknown %s %q\n\n%s", path, noun, name, usage)
	return shown(usagef("%s: unknown %s %q", path, noun, name))
}

// runCommand parses a command's flags and runs it; path is how the user
// typed it, e.g. "starter campaign start".
func runCommand(ctx context.Context, path string, c command, args []string, stdout, stderr io.Writer) error {
	if c.subcommands != nil {
		return dispatch(ctx, path, "subcommand", c.subcommands, groupUsage(path, c), args, stdout, stderr)
	}
	fs := pflag.NewFlagSet(path, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	o := &common{stdout: stdout, stderr: stderr}
	exec := c.flags(fs, o)
	o.register(fs)
	fs.Usage = func() { fmt.Fprint(stdout, c.usage+"\nFlags:\n"+fs.FlagUsages()) }
	if c.arg != "" {
		// The command's argument, wherever it stands among the flags.
		var rest []string
		for i := 0; i < len(args); i++ {
			if a := args[i]; a == "--" || strings.HasPrefix(a, "-") && a != "-" {
				rest = append(rest, a)
				if f := fs.Lookup(strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")); f != nil && !strings.Contains(a, "=") &&
					f.NoOptDefVal == "" && i+1 < len(args) {
					i++
					rest = append(rest, args[i]) // the flag's value
				}
				continue
			}
			if o.arg != "" && !c.many {
				return usagef("%s: one %s only, got %q and %q (see --help)", path, c.arg, o.arg, args[i])
			}
			o.arg = args[i]
			o.args = append(o.args, args[i])
		}
		args = rest
	}
	if code, ok := cliflags.ParseCommand(fs, args, stderr); !ok {
		if code == exitOK { // --help
			return nil
		}
		return shown(usagef("%s: bad flags", path)) // told by ParseCommand
	}
	return exec(ctx)
}

func groupUsage(path string, g command) string {
	var list strings.Builder
	for _, c := range g.subcommands {
		fmt.Fprintf(&list, "  %-14s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf("%s\nSubcommands:\n%s\nRun \"%s <subcommand> --help\" for a subcommand's flags.\n", g.usage, list.String(), path)
}

// mainUsage lists the commands with their summaries.
func mainUsage() string {
	var list strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&list, "  %-12s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(usage, list.String())
}

// common holds the settings every command shares.
type common struct {
	// arg is the command's argument (command.arg), if it takes one; args
	// are all of them, for a command that takes many.
	arg       string
	args      []string
	temporal  temporalclient.Flags
	taskQueue string
	uiURL     string
	json      bool
	stdout    io.Writer
	stderr    io.Writer
	namespace string // resolved at dial time
	// dataConverter reads payloads the client does not (memos in visibility
	// records): it decrypts them when payload encryption is on.
	dataConverter converter.DataConverter
	// keys are the payload keys, nil when encryption is off: recipients are
	// then named by pseudonyms in workflow ids and search attributes.
	keys *codec.Keyring
}

func (o *common) register(fs *pflag.FlagSet) {
	o.temporal.Register(fs)
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "Temporal task queue of the outpace worker")
	fs.StringVar(&o.uiURL, "ui-url", "http://localhost:8233", "Temporal UI address, for links")
	fs.BoolVar(&o.json, "json", false, "print JSON for scripts instead of text")
	cliflags.Env(fs, "task-queue", "OUTPACE_TASK_QUEUE")
	cliflags.Env(fs, "ui-url", "OUTPACE_UI_URL")
}

// dialFake, when set (by tests), is dialled instead of Temporal.
var dialFake func() client.Client

// dial connects to Temporal; the SDK's own logging stays quiet unless it
// has something to warn about.
func (o *common) dial() (client.Client, error) {
	if dialFake != nil {
		o.namespace, o.dataConverter = client.DefaultNamespace, converter.GetDefaultDataConverter()
		return dialFake(), nil
	}
	z, err := logging.New(o.stderr, "console", "warn")
	if err != nil {
		return nil, err
	}
	c, opts, err := o.temporal.Dial(logging.Temporal(z))
	if err != nil {
		return nil, err
	}
	o.namespace = opts.Namespace
	o.keys, _ = o.temporal.Keys() // loaded without error by Dial
	o.dataConverter = opts.DataConverter
	if o.dataConverter == nil {
		o.dataConverter = converter.GetDefaultDataConverter()
	}
	return c, nil
}

// runURL links to a run in the Temporal UI.
func (o *common) runURL(workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(o.uiURL, "/"),
		url.PathEscape(o.namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// warnf tells the user of something that does not stop the command.
func (o *common) warnf(format string, args ...any) {
	fmt.Fprintf(o.stderr, "starter: "+format+"\n", args...)
}

// describe reads a run's description as the server gives it.
func describe(ctx context.Context, c client.Client, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}
