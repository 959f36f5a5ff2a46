package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

var accountCommand = command{
	name:    "account",
	summary: "a LinkedIn account's safety: status, pause, resume",
	usage: `starter account shows and controls one sender account (a name from the
worker's senders file) through its pacer, which every action of the account
waits for: its warm-up day and today's caps, the connection requests still
pending, and its pauses, whether a person paused it or outpace did after
OutX pushed back (LinkedIn's invitation limit, the extension offline).
`,
	subcommands: []command{accountStatusCommand, accountPauseCommand, accountResumeCommand},
}

var accountStatusCommand = command{
	name:    "status",
	summary: "warm-up day, today's caps, pending invitations, pauses",
	usage: `starter account status shows a sender account's safety and what waits.

Usage:
  starter account status NAME [--json]

Exit status: 0 shown, 1 error, 2 bad input.
`,
	arg: "NAME",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		a := &accountCmd{common: o}
		return a.status
	},
}

var accountPauseCommand = command{
	name:    "pause",
	summary: "pause every action of the account (or its connection requests)",
	usage: `starter account pause holds every LinkedIn action of the account, from every
campaign and single send, until resumed (or for --for). A task already at
OutX is not recalled. With --connect-only, only connection requests wait;
messages go on.

Usage:
  starter account pause NAME [--reason TEXT] [--for DURATION] [--connect-only]

Exit status: 0 paused, 1 error, 2 bad input: nothing was sent.
`,
	arg: "NAME",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		a := &accountCmd{common: o, pause: true}
		fs.StringVar(&a.reason, "reason", "", "why, shown to whoever waits")
		fs.DurationVar(&a.duration, "for", 0, "resume by itself after this long (default: until resumed)")
		fs.BoolVar(&a.connectOnly, "connect-only", false, "pause only connection requests")
		return a.control
	},
}

var accountResumeCommand = command{
	name:    "resume",
	summary: "lift the account's pause (a person's or outpace's)",
	usage: `starter account resume lets the account act again: it lifts its pause, whether a
person paused it or outpace did after OutX refused actions for want of an
extension (with --connect-only: the pause of connection requests, e.g. after
LinkedIn's invitation limit, if you know it has passed).

Usage:
  starter account resume NAME [--connect-only]

Exit status: 0 resumed, 1 error, 2 bad input.
`,
	arg: "NAME",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		a := &accountCmd{common: o}
		fs.BoolVar(&a.connectOnly, "connect-only", false, "resume only connection requests")
		return a.control
	},
}

type accountCmd struct {
	*common
	pause       bool
	reason      string
	duration    time.Duration
	connectOnly bool
}

// name reads the one argument, the sender account's name.
func (a *accountCmd) name() (string, error) {
	switch {
	case a.arg == "":
		return "", usagef("NAME: give the sender account's name (e.g. default)")
	case !senders.ValidName(a.arg):
		return "", usagef("NAME: %q is not a sender name: lower-case letters, digits, '-' and '_', at most 63", a.arg)
	}
	return a.arg, nil
}

func (a *accountCmd) status(ctx context.Context) error {
	name, err := a.name()
	if err != nil {
		return err
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	id := pacer.WorkflowID(a.taskQueue, name)
	v, err := c.QueryWorkflow(ctx, id, "", pacer.QueryStatus)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// A normal state: the account has not acted yet.
		if a.json {
			printJSON(a.stdout, pacer.Status{Sender: name})
			return nil
		}
		fmt.Fprintf(a.stdout, "Account %s has taken no action through outpace on task queue %s yet: nothing pending, nothing paused.\n"+
			"Its pacer (%s) starts with its first action; its limits are the worker's senders file's.\n", name, a.taskQueue, id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("asking account %s's pacer (%s): %v", name, id, rootMessage(err))
	}
	var st pacer.Status
	if err := v.Get(&st); err != nil {
		return err
	}
	if a.json {
		printJSON(a.stdout, st)
		return nil
	}
	printAccount(a.stdout, id, st, time.Now())
	return nil
}

// printAccount writes an account's status for a person.
func printAccount(w io.Writer, pacerID string, st pacer.Status, now time.Time) {
	acct := st.Account
	fmt.Fprintf(w, "Account %s (its pacer: %s)\n", st.Sender, pacerID)
	if acct.RampDay > 0 {
		first := "no action yet"
		if !acct.FirstAction.IsZero() {
			first = "first action " + acct.FirstAction.UTC().Format("Mon 2 Jan 2006 15:04 MST")
		}
		fmt.Fprintf(w, "  warm-up:      day %d (%s)\n", acct.RampDay, first)
	}
	var caps []string
	for _, c := range acct.Caps {
		text := fmt.Sprintf("%s no daily cap", c.Action)
		if c.Today > 0 {
			text = fmt.Sprintf("%s %d a day", c.Action, c.Today)
		}
		if c.Step > 0 || c.Start > 0 {
			if c.Today < c.Cap {
				text += fmt.Sprintf(" (warming up from %d by %d a day to %d)", c.Start, c.Step, c.Cap)
			} else {
				text += " (warmed up)"
			}
		}
		caps = append(caps, text)
	}
	fmt.Fprintf(w, "  today's caps: %s\n", strings.Join(caps, ", "))
	ceiling := "no ceiling"
	if acct.Ceiling > 0 {
		ceiling = fmt.Sprintf("ceiling %d", acct.Ceiling)
	}
	fmt.Fprintf(w, "  pending invitations: %d (%s; OutX cannot withdraw one: do it in LinkedIn)\n", acct.Pending, ceiling)
	fmt.Fprintf(w, "  account:      %s\n", pauseText(acct.Paused, "acting"))
	fmt.Fprintf(w, "  connection requests: %s\n", pauseText(acct.ConnectPaused, "going out"))
	if h := st.Holder; h != nil {
		fmt.Fprintf(w, "  in flight:    %s for %s, since %s\n", h.Request.Action, h.Request.WorkflowID, h.GrantedAt.UTC().Format("15:04:05 MST"))
	}
	fmt.Fprintf(w, "  waiting:      %d\n", st.Queued)
	for _, q := range st.Waiting {
		fmt.Fprintf(w, "    %s for %s: %s\n", q.Action, q.WorkflowID, workflows.WaitText(st.Sender, q.Wait, now))
	}
}

func pauseText(p *pacer.Pause, running string) string {
	if p == nil {
		return running
	}
	who := "paused by a person"
	if p.By != "operator" {
		who = "paused by outpace"
	}
	until := "until resumed"
	if !p.Until.IsZero() {
		until = "until " + p.Until.UTC().Format("Mon 2 Jan 15:04 MST")
	}
	return fmt.Sprintf("%s %s: %s", who, until, p.Reason)
}

// control pauses or resumes the account; a pacer not running yet is
// started with the pause (signal-with-start), so a new account can be held
// before its first action.
func (a *accountCmd) control(ctx context.Context) error {
	name, err := a.name()
	if err != nil {
		return err
	}
	if a.duration < 0 {
		return usagef("--for: must be positive")
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	// An account the workers do not have is refused: pausing it would
	// start a pacer for nothing.
	if workers, err := awaitWorkers(ctx, c, a.taskQueue); err == nil {
		if err := workers.checkSender(name, "nothing was changed"); err != nil {
			return err
		}
	}
	req := pacer.AccountPause{Paused: a.pause, Reason: a.reason, Connect: a.connectOnly}
	if a.pause && a.duration > 0 {
		req.Until = time.Now().Add(a.duration)
	}
	id := pacer.WorkflowID(a.taskQueue, name)
	if err := c.SignalWorkflow(ctx, id, "", pacer.SignalAccountPause, req); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return fmt.Errorf("telling account %s's pacer (%s): %v", name, id, rootMessage(err))
		}
		if _, err := c.SignalWithStartWorkflow(ctx, id, pacer.SignalAccountPause, req,
			client.StartWorkflowOptions{ID: id, TaskQueue: a.taskQueue, StaticSummary: "pacer of LinkedIn account " + name},
			pacer.WorkflowType, pacer.Input{Sender: name}); err != nil {
			return fmt.Errorf("starting account %s's pacer (%s): %v", name, id, rootMessage(err))
		}
	}
	what := "every action of account " + name
	if a.connectOnly {
		what = "account " + name + "'s connection requests"
	}
	switch {
	case a.json:
		printJSON(a.stdout, map[string]any{"account": name, "pacer": id, "paused": a.pause, "connect_only": a.connectOnly, "until": req.Until})
	case a.pause && !req.Until.IsZero():
		fmt.Fprintf(a.stdout, "Paused %s until %s.\n", what, req.Until.UTC().Format("Mon 2 Jan 15:04 MST"))
	case a.pause:
		resume := "starter account resume " + name
		if a.taskQueue != workflows.TaskQueue {
			resume += " --task-queue " + a.taskQueue
		}
		if a.connectOnly {
			resume += " --connect-only"
		}
		fmt.Fprintf(a.stdout, "Paused %s until resumed (%s).\n", what, resume)
	default:
		fmt.Fprintf(a.stdout, "Resumed %s.\n", what)
	}
	return nil
}
