package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/recipients"
)

var contactsCommand = command{
	name:    "contacts",
	summary: "people: every action outpace took with a person (contacts show)",
	usage: `starter contacts reads outpace's contacts store, the ledger of every LinkedIn
action outpace took with each person, across campaigns, accounts and single
sends, kept after Temporal's retention has dropped the runs. See
docs/contacts.md.

Usage:
  starter contacts <subcommand> [flags]
`,
	subcommands: []command{contactsShowCommand},
}

var contactsShowCommand = command{
	name:    "show",
	summary: "every action outpace took with a person, and their do-not-contact entry",
	usage: `starter contacts show lists every action outpace took with a person, oldest first:
when, from which account, what (message, connect, lookup, check), in which
campaign and step, how it ended and why, OutX's task id and the run's workflow
id; and whether the person is on the do-not-contact list. An action without
an outcome is in flight.

PERSON is a URN (urn:li:person:<id>), a profile URL
(https://www.linkedin.com/in/<slug>) or a profile slug.

Usage:
  starter contacts show PERSON [--json] [--contacts-db PATH|URL]

--json prints JSON lines: first {"record":"person",...} with the
do-not-contact entry, then one {"record":"action",...} per action.

Exit status: 0 shown, 1 error (the store cannot be opened), 2 bad input.
`,
	arg: "PERSON",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		c := &contactsShow{common: o}
		c.db.register(fs)
		return c.run
	},
}

// contactsDB is the --contacts-db flag of the commands that use the
// contacts store: the worker's, by the same flag and variable.
type contactsDB struct{ dsn string }

func (d *contactsDB) register(fs *pflag.FlagSet) {
	fs.StringVar(&d.dsn, "contacts-db", contacts.DefaultDB,
		"the contacts store, the worker's: a SQLite file, or a postgres:// URL (its password from PGPASSWORD, or in the URL)")
	cliflags.Env(fs, "contacts-db", contacts.EnvDB)
}

// where names the store for a person: the SQLite file's absolute path, or
// the URL without its password.
func (d *contactsDB) where() string {
	if strings.Contains(d.dsn, "://") {
		return contacts.Redact(d.dsn)
	}
	if abs, err := filepath.Abs(d.dsn); err == nil {
		return "sqlite:" + abs
	}
	return "sqlite:" + d.dsn
}

// open opens the store. A command that only reads (create false) refuses a
// SQLite file that does not exist rather than create an empty store where
// the worker may not look; one that writes creates it, and says so.
func (d *contactsDB) open(ctx context.Context, o *common, create bool) (contacts.Store, error) {
	if d.dsn == "" {
		d.dsn = contacts.DefaultDB
	}
	fresh := false
	if !strings.Contains(d.dsn, "://") { // a file; a URL's errors are the store's to tell
		if _, err := os.Stat(d.dsn); errors.Is(err, os.ErrNotExist) {
			if !create {
				return nil, fmt.Errorf("no contacts store at %s: give the worker's, with --contacts-db or %s (docs/contacts.md)", d.where(), contacts.EnvDB)
			}
			fresh = true
		}
	}
	s, err := contacts.Open(ctx, d.dsn)
	switch {
	case errors.Is(err, contacts.ErrUnavailable) || errors.Is(err, contacts.ErrBadDSN):
		return nil, err // naming the store, without its password
	case err != nil:
		return nil, fmt.Errorf("opening the contacts store %s: %v", d.where(), err)
	}
	if fresh {
		o.warnf("created a new contacts store at %s: the worker must use the same (--contacts-db or %s)", d.where(), contacts.EnvDB)
	}
	return s, nil
}

// person is a person as a command's argument names them: by URN, or by
// profile slug (from a profile URL or given as such).
type person struct {
	arg, urn, slug string
}

// key is what the store knows the person by.
func (p person) key() string {
	if p.urn != "" {
		return p.urn
	}
	return p.slug
}

func (p person) String() string {
	if p.urn != "" {
		return p.urn
	}
	return "profile " + p.slug
}

// parsePerson reads a URN, a profile URL or a profile slug, by the rules of
// a campaign's recipient_urn, profile_url and profile_slug columns; its
// error names the argument and the rule.
func parsePerson(what, arg string) (person, error) {
	urn, slug, err := recipients.ParsePerson(arg)
	if err != nil {
		return person{}, usagef("%s %s: %v", what, quoteArg(arg), err)
	}
	return person{arg: arg, urn: urn, slug: slug}, nil
}

// quoteArg shows an argument in an error, shortened.
func quoteArg(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…", s[:80])
	}
	return fmt.Sprintf("%q", s)
}

// parsePeople reads every argument, reporting every bad one at once.
func parsePeople(what string, args []string) ([]person, error) {
	var ps []person
	var errs []string
	for _, a := range args {
		p, err := parsePerson(what, a)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		ps = append(ps, p)
	}
	if len(errs) == 1 {
		return nil, usagef("%s", errs[0])
	}
	if len(errs) > 1 {
		return nil, usagef("%d bad arguments:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return ps, nil
}

type contactsShow struct {
	*common
	db contactsDB
}

// contactsPerson is the first line of contacts show --json.
type contactsPerson struct {
	Record       string `json:"record"` // "person"
	Person       string `json:"person"` // as given
	RecipientURN string `json:"recipient_urn,omitempty"`
	ProfileSlug  string `json:"profile_slug,omitempty"`
	DoNotContact bool   `json:"do_not_contact"`
	DNCReason    string `json:"dnc_reason,omitempty"`
	Actions      int    `json:"actions"`
}

// contactsAction is each further line.
type contactsAction struct {
	Record string `json:"record"` // "action"
	contacts.Entry
}

func (c *contactsShow) run(ctx context.Context) error {
	if c.arg == "" {
		return usagef("PERSON: give a URN (urn:li:person:<id>), a profile URL or a profile slug")
	}
	p, err := parsePerson("PERSON", c.arg)
	if err != nil {
		return err
	}
	store, err := c.db.open(ctx, c.common, false)
	if err != nil {
		return err
	}
	defer store.Close()
	entries, err := store.History(ctx, p.key())
	if err != nil {
		return fmt.Errorf("reading %s's actions from the contacts store %s: %v", p, c.db.where(), err)
	}
	dnc, err := dncOf(ctx, store, p)
	if err != nil {
		return fmt.Errorf("reading the do-not-contact list of the contacts store %s: %v", c.db.where(), err)
	}
	if c.json {
		head := contactsPerson{Record: "person", Person: c.arg, RecipientURN: p.urn, ProfileSlug: p.slug, Actions: len(entries)}
		if dnc != nil {
			head.DoNotContact, head.DNCReason = true, dnc.Reason
		}
		printJSON(c.stdout, head)
		for _, e := range entries {
			printJSON(c.stdout, contactsAction{Record: "action", Entry: e})
		}
		return nil
	}
	printHistory(c.stdout, p, dnc, entries)
	return nil
}

// checkerID names the starter's read-only checks to the store, which asks
// every claim for the run taking it.
const checkerID = "starter (read-only check)"

// dncOf is the person's do-not-contact entry, nil if they have none: what
// the store's check answers before any action. A person named only by
// profile slug is looked for among the entries by slug.
func dncOf(ctx context.Context, store contacts.Store, p person) (*contacts.DNCEntry, error) {
	if p.urn == "" {
		slugs, err := dncBySlug(ctx, store, map[string]bool{strings.ToLower(p.slug): true})
		return slugs[strings.ToLower(p.slug)], err
	}
	v, err := store.Check(ctx, contacts.Claim{RecipientURN: p.urn, ProfileSlug: p.slug, Action: contacts.ActionMessage,
		WorkflowID: checkerID, Policy: contacts.Policy{Scope: contacts.ScopeAllow}, At: time.Now().UTC()})
	switch {
	case err != nil || !v.Excluded:
		return nil, err
	case v.DNC != nil:
		return v.DNC, nil
	}
	return &contacts.DNCEntry{RecipientURN: p.urn, ProfileSlug: p.slug, Reason: v.Reason}, nil
}

// dncBySlug finds the entries of the slugs wanted (lower-case), in one
// pass over the list.
func dncBySlug(ctx context.Context, store contacts.Store, wanted map[string]bool) (map[string]*contacts.DNCEntry, error) {
	found := map[string]*contacts.DNCEntry{}
	err := store.ListDNC(ctx, func(e contacts.DNCEntry) error {
		if k := strings.ToLower(e.ProfileSlug); k != "" && wanted[k] {
			found[k] = &e
		}
		return nil
	})
	return found, err
}

// printHistory writes a person's actions as a table.
func printHistory(w io.Writer, p person, dnc *contacts.DNCEntry, entries []contacts.Entry) {
	fmt.Fprintf(w, "%s\n", p)
	if dnc != nil {
		since := ""
		if !dnc.AddedAt.IsZero() {
			since = ", since " + dnc.AddedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		fmt.Fprintf(w, "do-not-contact: yes%s (%s): no message or connection request goes to them\n", since, orDash(dnc.Reason))
	} else {
		fmt.Fprintf(w, "do-not-contact: no\n")
	}
	if len(entries) == 0 {
		fmt.Fprintf(w, "actions: none: outpace has taken no action with this person\n")
		return
	}
	fmt.Fprintf(w, "actions: %d\n\n", len(entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACCOUNT\tACTION\tCAMPAIGN\tSTEP\tOUTCOME\tREASON\tTASK ID\tWORKFLOW ID")
	for _, e := range entries {
		outcome := e.Outcome
		if outcome == "" {
			outcome = "in flight"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ClaimedAt.UTC().Format("2006-01-02 15:04:05"), orDash(e.Account),
			e.Action, orDash(e.CampaignID), orDash(e.Step), outcome, orDash(oneLine(e.Reason)), orDash(e.TaskID), e.WorkflowID)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "(times UTC, when outpace claimed the action)\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table's cell on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
