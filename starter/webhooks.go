package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
)

var webhooksCommand = command{
	name:    "webhooks",
	summary: "events sent to webhook endpoints: status, failed, replay",
	usage: `starter webhooks reads the webhooks outbox of outpace's contacts store: the
events the worker sends to the endpoints of its --webhooks-file, and how
their deliveries went. See docs/webhooks.md.

Usage:
  starter webhooks <subcommand> [flags]
`,
	subcommands: []command{webhooksStatusCommand, webhooksFailedCommand, webhooksReplayCommand},
}

var webhooksStatusCommand = command{
	name:    "status",
	summary: "per endpoint: pending, delivered, failed, and the oldest pending event",
	usage: `starter webhooks status sums up each endpoint's events: how many wait for
delivery, were delivered, or were given up after 24 hours; and the oldest
pending one, with its attempts and the last error, which says why it is
still there.

Usage:
  starter webhooks status [--json] [--contacts-db PATH|URL]

Exit status: 0 shown, 1 error.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		c := &webhooksCmd{common: o}
		c.db.register(fs)
		return c.status
	},
}

var webhooksFailedCommand = command{
	name:    "failed",
	summary: "the events given up after 24 hours of failed deliveries",
	usage: `starter webhooks failed lists the events whose delivery was given up, newest
first, with their attempts and last error. starter webhooks replay puts them
back.

Usage:
  starter webhooks failed [--endpoint NAME] [--limit N] [--json] [--contacts-db PATH|URL]

Exit status: 0 listed (also when none), 1 error.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		c := &webhooksCmd{common: o}
		c.db.register(fs)
		fs.StringVar(&c.endpoint, "endpoint", "", "only this endpoint's")
		fs.IntVar(&c.limit, "limit", 100, "at most this many")
		return c.failed
	},
}

var webhooksReplayCommand = command{
	name:    "replay",
	summary: "deliver events again: one by id, or every failed one",
	usage: `starter webhooks replay puts events back to pending, due now, with a new
24-hour window: the event --id (to every endpoint it was for, or --endpoint's
only), delivered or not; or --failed, every event given up. The worker's
deliverer sends them at its next look (within seconds). An event keeps its
id, so a receiver that had it already ignores it.

Usage:
  starter webhooks replay (--id EVENT_ID | --failed) [--endpoint NAME] [--contacts-db PATH|URL]

Exit status: 0 replayed, 1 error or no such event, 2 bad input.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		c := &webhooksCmd{common: o}
		c.db.register(fs)
		fs.StringVar(&c.endpoint, "endpoint", "", "only this endpoint's")
		fs.StringVar(&c.id, "id", "", "the event's id (evt_…), from webhooks failed or a receiver")
		fs.BoolVar(&c.allFailed, "failed", false, "every failed event")
		return c.replay
	},
}

type webhooksCmd struct {
	*common
	db        contactsDB
	endpoint  string
	id        string
	allFailed bool
	limit     int
}

func (c *webhooksCmd) outbox(ctx context.Context) (webhooks.Outbox, func(), error) {
	store, err := c.db.open(ctx, c.common, false)
	if err != nil {
		return nil, nil, err
	}
	ob, ok := contacts.OutboxOf(store)
	if !ok {
		store.Close()
		return nil, nil, fmt.Errorf("the contacts store %s has no webhooks outbox", c.db.where())
	}
	return ob, func() { store.Close() }, nil
}

func (c *webhooksCmd) status(ctx context.Context) error {
	ob, done, err := c.outbox(ctx)
	if err != nil {
		return err
	}
	defer done()
	st, err := ob.Status(ctx)
	if err != nil {
		return fmt.Errorf("reading the webhooks outbox of %s: %v", c.db.where(), err)
	}
	if c.json {
		for _, s := range st {
			printJSON(c.stdout, s)
		}
		return nil
	}
	if len(st) == 0 {
		fmt.Fprintf(c.stdout, "no webhook event in %s: the worker writes events only with --webhooks-file\n", c.db.where())
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tPENDING\tDELIVERED\tFAILED\tOLDEST PENDING")
	for _, s := range st {
		oldest := "-"
		if r := s.OldestPending; r != nil {
			oldest = fmt.Sprintf("%s %s, written %s ago, %d attempts", r.EventID, r.Type, time.Since(r.CreatedAt).Round(time.Second), r.Attempts)
			if r.Attempts > 0 {
				oldest += ", next " + r.NextAttemptAt.UTC().Format("15:04:05 UTC") + ", last error: " + oneLine(r.LastError)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", s.Endpoint, s.Pending, s.Delivered, s.Failed, oldest)
	}
	return tw.Flush()
}

func (c *webhooksCmd) failed(ctx context.Context) error {
	ob, done, err := c.outbox(ctx)
	if err != nil {
		return err
	}
	defer done()
	rows, err := ob.List(ctx, c.endpoint, webhooks.StatusFailed, c.limit)
	if err != nil {
		return fmt.Errorf("reading the webhooks outbox of %s: %v", c.db.where(), err)
	}
	if c.json {
		for _, r := range rows {
			printJSON(c.stdout, r)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tTYPE\tENDPOINT\tWRITTEN (UTC)\tATTEMPTS\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.EventID, r.Type, r.Endpoint, r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), r.Attempts, orDash(oneLine(r.LastError)))
	}
	_ = tw.Flush()
	fmt.Fprintf(c.stdout, "%d failed event(s); starter webhooks replay --failed delivers them again\n", len(rows))
	return nil
}

func (c *webhooksCmd) replay(ctx context.Context) error {
	if (c.id == "") == !c.allFailed {
		return usagef("webhooks replay: give --id EVENT_ID or --failed (see --help)")
	}
	ob, done, err := c.outbox(ctx)
	if err != nil {
		return err
	}
	defer done()
	n, err := ob.Replay(ctx, c.endpoint, c.id, time.Now())
	if err != nil {
		return fmt.Errorf("replaying in the webhooks outbox of %s: %v", c.db.where(), err)
	}
	if n == 0 && c.id != "" {
		return fmt.Errorf("no event %s in the webhooks outbox of %s", c.id, c.db.where())
	}
	fmt.Fprintf(c.stdout, "%d delivery(ies) pending again, due now; the worker's deliverer sends them within seconds\n", n)
	return nil
}
