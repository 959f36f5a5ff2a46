package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/outpacehq/outpace/contacts"
)

var dncCommand = command{
	name:    "dnc",
	summary: "the do-not-contact list: add, remove, import, list, export",
	usage: `starter dnc keeps the do-not-contact list of outpace's contacts store: people
outpace must never contact, from any campaign, account or single send. Every
message and connection request checks it at the moment it is taken, so a
person added while a campaign runs is not contacted by its next step: they
end "excluded", with the entry's reason. A task already at OutX is not
recalled. See docs/contacts.md.

A person is a URN (urn:li:person:<id>), a profile URL
(https://www.linkedin.com/in/<slug>) or a profile slug; one named by profile
is matched by the slug, and by the URN once an action on them tells outpace.

Usage:
  starter dnc <subcommand> [flags]
`,
	subcommands: []command{dncAddCommand, dncRemoveCommand, dncImportCommand, dncListCommand, dncExportCommand},
}

var dncAddCommand = command{
	name:    "add",
	summary: "put people on the list",
	usage: `starter dnc add puts people on the do-not-contact list, with a reason shown
wherever they are excluded. Every argument is checked first: one bad
argument adds nobody.

Usage:
  starter dnc add PERSON... [--reason TEXT] [--contacts-db PATH|URL]

Exit status: 0 added (or already listed), 1 error, 2 bad input: nothing added.
`,
	arg: "PERSON", many: true,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		d := &dncCmd{common: o}
		d.db.register(fs)
		fs.StringVar(&d.reason, "reason", "", "why, e.g. \"asked not to be contacted\" (shown when they are excluded)")
		return d.add
	},
}

var dncRemoveCommand = command{
	name:    "remove",
	summary: "take people off the list",
	usage: `starter dnc remove takes people off the do-not-contact list. A person named by
URN and listed by profile slug (or the other way round) is removed only by
the name they are listed under: starter dnc list shows it.

Usage:
  starter dnc remove PERSON... [--contacts-db PATH|URL]

Exit status: 0 done, 1 error, 2 bad input: nothing removed.
`,
	arg: "PERSON", many: true,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		d := &dncCmd{common: o}
		d.db.register(fs)
		return d.remove
	},
}

var dncImportCommand = command{
	name:    "import",
	summary: "add a file of people to the list, all or nothing",
	usage: `starter dnc import adds every person of a file to the do-not-contact list, in
one transaction: a file with any bad line adds nobody, and every bad line is
told with its number (exit 2).

The file is one person per line (a URN, a profile URL or a profile slug), or
CSV with a header naming a recipient_urn, profile_url, profile_slug or person
column and, optionally, a reason column (what dnc export writes). A UTF-8 BOM,
CRLF line ends and blank lines are fine; a person listed twice, or already on
the list, is counted as a duplicate. --reason is the reason of every entry
whose line gives none. - reads standard input.

Usage:
  starter dnc import FILE [--reason TEXT] [--contacts-db PATH|URL]

Exit status: 0 imported, 1 error, 2 bad lines or bad input: nothing imported.
`,
	arg: "FILE",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		d := &dncCmd{common: o}
		d.db.register(fs)
		fs.StringVar(&d.reason, "reason", "", "the reason of the entries whose line gives none")
		return d.importFile
	},
}

var dncListCommand = command{
	name:    "list",
	summary: "show the list",
	usage: `starter dnc list shows the do-not-contact list: each person, the reason and when
they were added (--json: JSON lines).

Usage:
  starter dnc list [--json] [--contacts-db PATH|URL]
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		d := &dncCmd{common: o}
		d.db.register(fs)
		return d.list
	},
}

var dncExportCommand = command{
	name:    "export",
	summary: "write the list as CSV (what import reads)",
	usage: `starter dnc export writes the do-not-contact list as CSV with the header
recipient_urn,profile_slug,reason,added_at: a format dnc import reads, to keep
a copy or move a list from one store to another.

Usage:
  starter dnc export [FILE] [--contacts-db PATH|URL]

Without FILE (or with -), to standard output.
`,
	arg: "FILE",
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		d := &dncCmd{common: o}
		d.db.register(fs)
		return d.export
	},
}

type dncCmd struct {
	*common
	db     contactsDB
	reason string
}

// dncAddOutput is what dnc add --json prints per person.
type dncAddOutput struct {
	Person       string `json:"person"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	ProfileSlug  string `json:"profile_slug,omitempty"`
	Added        bool   `json:"added"`
}

func (d *dncCmd) add(ctx context.Context) error {
	if len(d.args) == 0 {
		return usagef("PERSON: give one or more people: URNs (urn:li:person:<id>), profile URLs or profile slugs")
	}
	people, err := parsePeople("PERSON", d.args)
	if err != nil {
		return usagef("%v\n  nothing was added", err)
	}
	store, err := d.db.open(ctx, d.common, true)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	added, already := 0, 0
	seen := map[string]bool{}
	for _, p := range people {
		out := dncAddOutput{Person: p.arg, RecipientURN: p.urn, ProfileSlug: p.slug}
		listed, err := dncOf(ctx, store, p)
		if err != nil {
			return fmt.Errorf("reading the do-not-contact list of %s (after %d added): %v", d.db.where(), added, err)
		}
		if listed == nil && !seen[p.key()] {
			if err := store.AddDNC(ctx, contacts.DNCEntry{RecipientURN: p.urn, ProfileSlug: p.slug, Reason: d.reason, AddedAt: now}); err != nil {
				return fmt.Errorf("adding %s to the do-not-contact list of %s (after %d added): %v", p, d.db.where(), added, err)
			}
			out.Added = true
			added++
		} else {
			already++
		}
		seen[p.key()] = true
		if d.json {
			printJSON(d.stdout, out)
		} else if out.Added {
			fmt.Fprintf(d.stdout, "added    %s\n", p)
		} else {
			fmt.Fprintf(d.stdout, "listed   %s (already on the list)\n", p)
		}
	}
	if !d.json {
		fmt.Fprintf(d.stdout, "Do-not-contact list of %s: %d added, %d already listed.\n", d.db.where(), added, already)
	}
	return nil
}

func (d *dncCmd) remove(ctx context.Context) error {
	if len(d.args) == 0 {
		return usagef("PERSON: give one or more people: URNs (urn:li:person:<id>), profile URLs or profile slugs")
	}
	people, err := parsePeople("PERSON", d.args)
	if err != nil {
		return usagef("%v\n  nothing was removed", err)
	}
	store, err := d.db.open(ctx, d.common, false)
	if err != nil {
		return err
	}
	defer store.Close()
	removed, absent := 0, 0
	for _, p := range people {
		ok, err := store.RemoveDNC(ctx, p.key())
		if err != nil {
			return fmt.Errorf("removing %s from the do-not-contact list of %s (after %d removed): %v", p, d.db.where(), removed, err)
		}
		if d.json {
			printJSON(d.stdout, map[string]any{"person": p.arg, "removed": ok})
		} else if ok {
			fmt.Fprintf(d.stdout, "removed  %s\n", p)
		} else {
			fmt.Fprintf(d.stdout, "absent   %s (not on the list under this name)\n", p)
		}
		if ok {
			removed++
		} else {
			absent++
		}
	}
	if !d.json {
		fmt.Fprintf(d.stdout, "Do-not-contact list of %s: %d removed, %d not on it.\n", d.db.where(), removed, absent)
	}
	return nil
}

// dncName is how an entry names its person: the URN, else the slug.
func dncName(e contacts.DNCEntry) string {
	if e.RecipientURN != "" {
		return e.RecipientURN
	}
	return e.ProfileSlug
}

// dncStdin is standard input, replaceable by tests.
var dncStdin io.Reader = os.Stdin

// dncImportOutput is what dnc import --json prints.
type dncImportOutput struct {
	File  string `json:"file"`
	Store string `json:"store"`
	contacts.ImportResult
}

func (d *dncCmd) importFile(ctx context.Context) error {
	if d.arg == "" {
		return usagef("FILE: give the file of people to import (- for standard input)")
	}
	var in io.Reader = dncStdin
	name := "standard input"
	if d.arg != "-" {
		f, err := os.Open(d.arg)
		if err != nil {
			return usagef("FILE: %v\n  nothing was imported", err)
		}
		defer f.Close()
		in, name = f, d.arg
	}
	store, err := d.db.open(ctx, d.common, true)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	res, err := store.ImportDNC(ctx, in, contacts.ImportOptions{Reason: d.reason})
	var bad *contacts.ImportError
	switch {
	case errors.As(err, &bad):
		return usagef("%s: %v", name, err)
	case err != nil:
		return fmt.Errorf("importing %s into %s: %v\n  nothing was imported", name, d.db.where(), err)
	}
	if d.json {
		printJSON(d.stdout, dncImportOutput{File: name, Store: d.db.where(), ImportResult: res})
		return nil
	}
	fmt.Fprintf(d.stdout, "Imported %s into the do-not-contact list of %s in %s:\n", name, d.db.where(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(d.stdout, "  people read  %d\n  added        %d\n  duplicates   %d (already on the list, or listed twice in the file)\n",
		res.Entries, res.Added, res.Duplicates)
	return nil
}

func (d *dncCmd) list(ctx context.Context) error {
	store, err := d.db.open(ctx, d.common, false)
	if err != nil {
		return err
	}
	defer store.Close()
	out := bufio.NewWriterSize(d.stdout, 64<<10)
	defer out.Flush()
	if d.json {
		enc := newJSONEncoder(out)
		if err := store.ListDNC(ctx, func(e contacts.DNCEntry) error { return enc.Encode(e) }); err != nil {
			return fmt.Errorf("reading the do-not-contact list of %s: %v", d.db.where(), err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSON\tADDED (UTC)\tREASON")
	n := 0
	err = store.ListDNC(ctx, func(e contacts.DNCEntry) error {
		n++
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", dncName(e), e.AddedAt.UTC().Format("2006-01-02 15:04"), orDash(oneLine(e.Reason))); err != nil {
			return err
		}
		if n%1000 == 0 { // a long list is printed as it is read, not held whole
			return tw.Flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the do-not-contact list of %s: %v", d.db.where(), err)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "%d on the do-not-contact list of %s\n", n, d.db.where())
	return nil
}

func (d *dncCmd) export(ctx context.Context) error {
	store, err := d.db.open(ctx, d.common, false)
	if err != nil {
		return err
	}
	defer store.Close()
	if d.arg == "" || d.arg == "-" {
		if err := store.ExportDNC(ctx, d.stdout); err != nil {
			return fmt.Errorf("exporting the do-not-contact list of %s: %v", d.db.where(), err)
		}
		return nil
	}
	// Written beside FILE and renamed onto it: a failed export leaves no
	// half a list where a whole one was.
	tmp, err := os.CreateTemp(filepath.Dir(d.arg), "."+filepath.Base(d.arg)+".*")
	if err != nil {
		return fmt.Errorf("FILE: %v", err)
	}
	defer os.Remove(tmp.Name())
	counter := &lineCounter{w: tmp}
	if err := store.ExportDNC(ctx, counter); err != nil {
		tmp.Close()
		return fmt.Errorf("exporting the do-not-contact list of %s: %v", d.db.where(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %v", d.arg, err)
	}
	if err := os.Rename(tmp.Name(), d.arg); err != nil {
		return fmt.Errorf("FILE: %v", err)
	}
	fmt.Fprintf(d.stderr, "exported %d entries of %s to %s\n", max(counter.lines-1, 0), d.db.where(), d.arg)
	return nil
}

// lineCounter counts the lines written through it. (A reason with a line
// break is quoted in CSV and counts twice: the count is for people to read.)
type lineCounter struct {
	w     io.Writer
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte("\n"))
	return c.w.Write(p)
}
