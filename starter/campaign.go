package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/campaignfile"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

var campaignCommand = command{
	name:    "campaign",
	summary: "run a paced campaign to many recipients (Campaign workflow)",
	usage: `starter campaign starts, previews, watches and controls Campaign workflows: one
personalized message to each recipient of a CSV file or an inline list, or,
from a campaign file (--file PATH, with steps), a sequence of steps for each
recipient (connect, wait for the acceptance, message, wait, follow up). Every
action is spaced by random gaps, under hourly and daily caps, inside a sending
window. The campaign file's format: docs/sequences.md.

Usage:
  starter campaign <subcommand> [flags]
`,
	subcommands: []command{
		campaignStartCommand, campaignPreviewCommand, campaignStatusCommand, campaignWatchCommand,
		campaignPauseCommand, campaignResumeCommand, campaignCancelCommand, campaignStopRecipientCommand, campaignReportCommand,
	},
}

// recipientsUsage is the part of start's and preview's help about the
// recipients and the template, which they share.
const recipientsUsage = `A campaign file (--file PATH, YAML or JSON) gives the sequence of steps applied
to each recipient (connect, wait_for_connection, message, wait), the sender,
the window, the pacing and the recipients' CSV; flags given override it. See
docs/sequences.md for its format, and examples/spring-launch.yaml. Without a
file, the campaign is one message.

Recipients: --csv PATH (a CSV file with a recipient_urn, profile_url or
profile_slug column; every other column is a template variable), or --to URN
(repeatable), or --recipients-json PATH (a JSON array of {"recipient_urn",
"profile_url", "profile_slug", "vars": {...}}, at most 1000).

The message is --template TEXT or --template-file PATH (- for standard input),
with {{variable}} placeholders filled from each recipient's columns and spintax
choices, {Hi|Hello|Hey} (nested allowed; \{ \} \| \\ for the characters
themselves), or variants for an A/B test, --variant NAME[:WEIGHT]=TEXT or
--variant-file NAME[:WEIGHT]=PATH (repeatable, two or more). Each recipient's
variant and choices are drawn from the campaign id, the recipient and the step,
the same on every preview, restart and start again under the same id.
`

var campaignStartCommand = command{
	name:    "start",
	summary: "check the recipients and start a campaign",
	usage: `starter campaign start checks every recipient and starts a Campaign workflow.

Usage:
  starter campaign start --file PATH [--id ID] [--csv PATH] [--sender NAME] [--at TIME] [--watch]
  starter campaign start --id ID (--csv PATH | --to URN... | --recipients-json PATH)
      (--template TEXT | --template-file PATH | --variant NAME=TEXT...) [--sender NAME]
      [pacing and window flags] [--at TIME] [--watch]

` + recipientsUsage + `
Every row is rendered and checked before anything starts. Any invalid row
refuses the start (exit 2), listing the problems with their line numbers,
unless --allow-invalid is given: those recipients then end "invalid". A sender
that the task queue's workers lack refuses it too (exit 2).

The campaign id is the workflow id and names each recipient's own run
("<id>/<recipient URN>"), so nobody is messaged twice by one campaign. A
campaign that has ended may be started again under the same id: recipients it
already handled are skipped.

With payload encryption on, runs are named "<id>/r-<pseudonym>" instead, with
a random key kept in the campaign's encrypted input and reused when it is
started again under the same id (a start that cannot read it is refused);
"starter recipient-id --campaign ID --urn URN" finds a recipient's run.

The CSV file is read by the worker, from the same absolute path: it must see
the same file, unchanged (its SHA-256 is checked).

--at TIME schedules the start (Temporal's start delay: the run exists at once,
its first step comes at TIME): 2026-12-08T09:00 in the campaign's time zone
(--time-zone, else the campaign file's, else UTC), or with an offset
(2026-12-08T09:00+01:00). Status shows "scheduled to start at ..." until then,
and cancel works before it starts (nothing is sent). Every check is made now;
the CSV must stay unchanged until the start (its SHA-256 is checked then).

Exit status: 0 started (with --watch: finished), 1 error or already running
(with --watch: cancelled, stopped or failed), 2 bad input, nothing started.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignStart{common: o}
		fs.StringVar(&s.id, "id", "", "campaign id, also its workflow id (required, unless the campaign file has id:)")
		fs.StringVar(&s.at, "at", "", "schedule the start: 2026-12-08T09:00 in the campaign's time zone, or RFC 3339 with an offset")
		fs.StringVar(&s.name, "name", "", "a name for people, shown in status and the UI's memo")
		s.src.register(fs)
		fs.BoolVar(&s.allowInvalid, "allow-invalid", false, "start even if some recipients are invalid: they end invalid")
		fs.BoolVar(&s.watch, "watch", false, "after starting, follow its progress as campaign watch does")
		fs.DurationVar(&s.interval, "interval", 2*time.Second, "with --watch: how often to ask for progress")
		return s.run
	},
}

var campaignPreviewCommand = command{
	name:    "preview",
	summary: "render and check every recipient, send nothing",
	usage: `starter campaign preview renders and checks every recipient as start would, and
shows the first messages. It sends nothing and needs no Temporal server.

Usage:
  starter campaign preview --file PATH [--id ID] [--csv PATH] [--show N]
  starter campaign preview [--id ID] (--csv PATH | --to URN... | --recipients-json PATH)
      (--template TEXT | --template-file PATH | --variant NAME=TEXT...) [pacing and window flags] [--show N]

` + recipientsUsage + `
Variants and choices are drawn per campaign id: give the id that start will
have (--id, or the campaign file's) to see each recipient's text as it will be
sent; every row is checked with every choice and variant at its longest.

It also asks the contacts store (--contacts-db, the worker's; read-only) who
would be excluded (on the do-not-contact list) and who skipped (contacted by
another campaign under the campaign's contact_policy and sender), naming the
first few; the campaign checks each person again when their turn comes. A
store that cannot be opened is said, and the preview goes on.

Exit status: 0 every recipient is valid, 2 some are not (or bad input).
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		p := &campaignPreview{common: o}
		fs.StringVar(&p.id, "id", "", "the campaign id that start will have, which draws each recipient's variant and choices (default: the campaign file's)")
		p.src.register(fs)
		fs.IntVar(&p.show, "show", 3, "how many recipients' rendered messages to show")
		fs.IntVar(&p.limit, "limit", 3, "another name of --show, kept for scripts")
		p.db.register(fs)
		return p.run
	},
}

// campaignSource holds the flags that start and preview share, so that a
// preview checks exactly what a start with the same flags would send.
type campaignSource struct {
	fs           *pflag.FlagSet
	file, sender string
	// recipientsFrom names where the recipients file came from, for its
	// errors: "--csv", or the campaign file's line.
	recipientsFrom string
	// loaded is the campaign file read by input, nil without one: its
	// texts' problems are told at its lines.
	loaded                     *campaignfile.File
	needID                     bool // start's: the campaign needs an id
	csv, recipientsJSON        string
	to                         []string
	template, templateFile     string
	variants, variantFiles     []string
	minGap, maxGap             time.Duration
	hourlyCap, dailyCap        int
	timeZone, days, hours      string
	anytime                    bool
	sendDeadline, pollDeadline time.Duration
	pageSize, maxRunEvents     int
	contactPolicy              string
}

func (f *campaignSource) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.file, "file", "", "campaign file, YAML or JSON: steps, sender, window, pacing, recipients (flags given override it)")
	fs.StringVar(&f.sender, "sender", "", "the worker's sender account to act from (default: the file's, else env "+envSender+", else \"default\")")
	fs.StringVar(&f.csv, "csv", "", "CSV file of recipients, one per row after a header")
	fs.StringArrayVar(&f.to, "to", nil, "a recipient's URN, urn:li:person:<id> (repeatable; the template then has no variables)")
	fs.StringVar(&f.recipientsJSON, "recipients-json", "", "JSON file of inline recipients (- for standard input)")
	fs.StringVar(&f.template, "template", "", "message template, with {{variable}} placeholders")
	fs.StringVar(&f.templateFile, "template-file", "", "read the template from this file (- for standard input)")
	fs.StringArrayVar(&f.variants, "variant", nil, "a variant of the message for an A/B test, NAME[:WEIGHT]=TEXT (repeatable)")
	fs.StringArrayVar(&f.variantFiles, "variant-file", nil, "a variant read from a file, NAME[:WEIGHT]=PATH (repeatable)")
	// Defaults are shown for help, but only flags given on the command line
	// go into the input: the workflow's defaults stay the one truth.
	fs.DurationVar(&f.minGap, "min-gap", workflows.DefaultMinGap, "shortest gap between the end of one OutX task and the next send")
	fs.DurationVar(&f.maxGap, "max-gap", workflows.DefaultMaxGap, "longest such gap (each gap is drawn at random in between)")
	fs.IntVar(&f.hourlyCap, "hourly-cap", workflows.DefaultHourlyCap, "at most this many sends in any 60 minutes (0: no cap)")
	fs.IntVar(&f.dailyCap, "daily-cap", workflows.DefaultDailyCap, "at most this many sends a day in --time-zone (0: no cap)")
	fs.StringVar(&f.timeZone, "time-zone", workflows.DefaultTimeZone, "IANA time zone of the sending window, e.g. Europe/Berlin")
	fs.StringVar(&f.days, "days", workflows.DefaultDays, "sending days, e.g. mon-fri, mon,wed,fri, daily")
	fs.StringVar(&f.hours, "hours", workflows.DefaultHours, "sending hours, HH:MM-HH:MM (end up to 24:00)")
	fs.BoolVar(&f.anytime, "anytime", false, "send on any day at any hour (--days mon-sun --hours 00:00-24:00)")
	fs.DurationVar(&f.sendDeadline, "send-deadline", workflows.DefaultCampaignSendDeadline, "per message: how long to retry sends OutX certainly did not queue (403, 429, 503)")
	fs.DurationVar(&f.pollDeadline, "poll-deadline", workflows.DefaultPollDeadline, "per message: how long to wait for OutX to perform a queued message")
	fs.IntVar(&f.pageSize, "page-size", workflows.DefaultPageSize, "recipients read per page")
	_ = fs.MarkHidden("page-size")
	fs.StringVar(&f.contactPolicy, "contact-policy", "account:90d",
		"skip people another campaign contacted: account[:WINDOW] (of this sender), all[:WINDOW] (any account), or allow (no check); the do-not-contact list holds whatever it says")
	fs.IntVar(&f.maxRunEvents, "max-run-events", workflows.DefaultRunEvents, "history events after which a run continues as new")
	_ = fs.MarkHidden("max-run-events")
}

// input builds the workflow input from the flags. It reports every problem
// of the flags at once, so that one run shows everything to fix; rules of
// the input itself are CampaignInput.Validate's.
func (f *campaignSource) input(id, name string) (workflows.CampaignInput, error) {
	in := workflows.CampaignInput{CampaignID: id, Name: name}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	stdinUsed := false
	var file *campaignfile.File
	variants := len(f.variants) + len(f.variantFiles)
	switch {
	case f.file != "" && (f.fs.Changed("template") || f.templateFile != "" || variants > 0):
		bad("--file, --template/--template-file/--variant: give one; a campaign file's steps hold its messages and their variants")
	case variants > 0 && (f.fs.Changed("template") || f.templateFile != ""):
		bad("--template/--template-file, --variant/--variant-file: give the message or its variants, not both")
	case variants > 0:
		in.Variants = []workflows.Variant{}
		for _, v := range f.variants {
			vv, err := parseVariantFlag("--variant", v, func(text string) (string, error) { return text, nil })
			if err != nil {
				errs = append(errs, err)
			}
			in.Variants = append(in.Variants, vv)
		}
		for _, v := range f.variantFiles {
			vv, err := parseVariantFlag("--variant-file", v, func(path string) (string, error) {
				text, err := readInputFile("--variant-file", path)
				stdinUsed = stdinUsed || path == "-"
				return strings.TrimRight(text, "\r\n"), err
			})
			if err != nil {
				errs = append(errs, err)
			}
			in.Variants = append(in.Variants, vv)
		}
	case f.file != "":
		cf, err := campaignfile.Load(f.file)
		if err != nil {
			errs = append(errs, err) // *campaignfile.Errors names each line
			break
		}
		file, f.loaded = &cf, &cf
		in = cf.Input
		// Flags override the file.
		in.CampaignID, in.Name = cmp.Or(id, cf.ID), cmp.Or(name, cf.Input.Name)
	case f.template != "" && f.templateFile != "":
		bad("--template, --template-file: give one, not both")
	case f.templateFile != "":
		text, err := readInputFile("--template-file", f.templateFile)
		if err != nil {
			errs = append(errs, err)
		}
		stdinUsed = f.templateFile == "-"
		// Editors end files with a newline the author did not mean to send.
		in.Template = strings.TrimRight(text, "\r\n")
	case f.fs.Changed("template"):
		in.Template = f.template
	default:
		bad("--template, --template-file or --variant: one is required")
	}

	given := 0
	for _, g := range []bool{f.csv != "", len(f.to) > 0, f.recipientsJSON != ""} {
		if g {
			given++
		}
	}
	f.recipientsFrom = "--csv"
	switch {
	case given == 0 && file != nil && file.Recipients != "":
		in.RecipientsFile = &activities.RecipientsFile{Path: file.Recipients}
		f.recipientsFrom = fmt.Sprintf("%s:%d: recipients", f.file, file.Line("recipients"))
	case given == 0 && f.file != "":
		if file != nil { // else the file's own errors say what is wrong
			bad("--csv, --to or --recipients-json: one is required, or recipients: in the campaign file")
		}
	case given == 0:
		bad("--csv, --to or --recipients-json: one is required")
	case given > 1:
		bad("--csv, --to, --recipients-json: give one of them")
	case f.csv != "":
		// The worker opens the file itself, maybe from another directory.
		abs, err := filepath.Abs(f.csv)
		if err != nil {
			bad("--csv %s: %v", f.csv, err)
		}
		in.RecipientsFile = &activities.RecipientsFile{Path: abs}
	case len(f.to) > 0:
		for _, urn := range f.to {
			in.Recipients = append(in.Recipients, recipients.Recipient{RecipientURN: urn})
		}
	case f.recipientsJSON == "-" && stdinUsed:
		bad("--recipients-json -, --template-file -: only one can read standard input")
	default:
		rs, err := readRecipientsJSON(f.recipientsJSON)
		if err != nil {
			errs = append(errs, err)
		}
		in.Recipients = rs
	}

	switch {
	case f.fs.Changed("sender"):
		in.Sender = f.sender
	case in.Sender == "":
		in.Sender = os.Getenv(envSender) // below the file's: a file names its account on purpose
	}
	if f.fs.Changed("min-gap") {
		in.Pacing.MinGap = ptr(workflows.Duration(f.minGap))
	}
	if f.fs.Changed("max-gap") {
		in.Pacing.MaxGap = ptr(workflows.Duration(f.maxGap))
	}
	if f.fs.Changed("hourly-cap") {
		in.Pacing.HourlyCap = ptr(f.hourlyCap)
	}
	if f.fs.Changed("daily-cap") {
		in.Pacing.DailyCap = ptr(f.dailyCap)
	}
	if f.fs.Changed("time-zone") {
		in.Window.TimeZone = f.timeZone
	}
	if f.anytime {
		if f.fs.Changed("days") || f.fs.Changed("hours") {
			bad("--anytime: give it or --days/--hours, not both")
		}
		in.Window.Days, in.Window.Hours = "mon-sun", "00:00-24:00"
	} else {
		if f.fs.Changed("days") {
			in.Window.Days = f.days
		}
		if f.fs.Changed("hours") {
			in.Window.Hours = f.hours
		}
	}
	if f.fs.Changed("send-deadline") {
		if f.sendDeadline <= 0 {
			bad("--send-deadline: must be positive")
		}
		in.SendDeadline = workflows.Duration(f.sendDeadline)
	}
	if f.fs.Changed("poll-deadline") {
		if f.pollDeadline <= 0 {
			bad("--poll-deadline: must be positive")
		}
		in.PollDeadline = workflows.Duration(f.pollDeadline)
	}
	if f.fs.Changed("page-size") {
		in.PageSize = f.pageSize
	}
	if f.fs.Changed("max-run-events") {
		in.MaxRunEvents = f.maxRunEvents
	}
	if f.fs.Changed("contact-policy") {
		scope, window, _ := strings.Cut(f.contactPolicy, ":")
		cp := &workflows.ContactPolicy{Scope: strings.TrimSpace(scope), Window: strings.TrimSpace(window)}
		if _, err := cp.Policy(); err != nil {
			bad("--contact-policy %q: want account[:WINDOW], all[:WINDOW] or allow, e.g. all:30d (%v)", f.contactPolicy, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		in.ContactPolicy = cp
	}
	// A campaign file that did not load may well name the id: its own
	// errors say what to fix.
	if f.needID && in.CampaignID == "" && (f.file == "" || file != nil) {
		bad("--id: is required (it names the campaign and its workflow), or id: in the campaign file")
	}
	return in, errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }

// parseVariantFlag reads NAME[:WEIGHT]=VALUE; text turns the value into the
// variant's text (the value itself, or a file's content).
func parseVariantFlag(flag, arg string, text func(string) (string, error)) (workflows.Variant, error) {
	head, value, ok := strings.Cut(arg, "=")
	name, weight, weighted := strings.Cut(head, ":")
	v := workflows.Variant{Name: strings.TrimSpace(name)}
	if !ok || v.Name == "" {
		return v, fmt.Errorf("%s %q: want NAME[:WEIGHT]=%s, e.g. %s 'A:2=Hi {{first_name}}'", flag, arg, map[bool]string{true: "PATH", false: "TEXT"}[flag == "--variant-file"], flag)
	}
	if weighted {
		n, err := strconv.Atoi(weight)
		if err != nil || n < 1 {
			return v, fmt.Errorf("%s %s: the weight %q must be a whole number from 1", flag, v.Name, weight)
		}
		v.Weight = n
	}
	t, err := text(value)
	v.Text = t
	return v, err
}

// envSender names the sender when neither --sender nor the campaign file does.
const envSender = "OUTPACE_SENDER"

// campaignStdin is standard input, replaceable by tests.
var campaignStdin io.Reader = os.Stdin

// maxInputFile bounds what is read from a template or recipients file: far
// more than any message (10,000 characters) or 1,000 inline recipients need.
const maxInputFile = 8 << 20

func readInputFile(flag, path string) (string, error) {
	var r io.Reader = campaignStdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("%s %s: %w", flag, path, err)
	case len(b) > maxInputFile:
		return "", fmt.Errorf("%s %s: larger than %d MB", flag, path, maxInputFile>>20)
	}
	return string(b), nil
}

func readRecipientsJSON(path string) ([]recipients.Recipient, error) {
	text, err := readInputFile("--recipients-json", path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	// A misplaced variable ({"first_name": …} beside the URN instead of in
	// "vars") would otherwise vanish and surface as a missing variable.
	dec.DisallowUnknownFields()
	var rs []recipients.Recipient
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("--recipients-json %s: want a JSON array of {\"recipient_urn\", \"profile_url\", \"profile_slug\", \"vars\": {...}}: %w", path, err)
	}
	return rs, nil
}

// check reads every recipient as the worker will and summarizes them, with
// the first preview rows prepared. For a file it also records the file's
// digest in the input, so the worker refuses a file changed since. Errors
// are the user's: a file that cannot be read or does not parse.
//
// A campaign of steps has every step's text rendered for every recipient
// (Prepared.Texts), as the worker will before its first send. from names
// where the file came from, for its errors.
//
// A variable that the recipients lack is told where the campaign file, when
// there is one, uses it (file's line, step, column).
func checkRecipients(in *workflows.CampaignInput, preview int, from string, file *campaignfile.File) (recipients.Summary, error) {
	t, err := parseTexts(*in)
	if err != nil {
		return recipients.Summary{}, err
	}
	// Drawn as the worker will: by the campaign id, the recipient and the
	// step.
	t = t.ForCampaign(in.CampaignID)
	if in.RecipientsFile == nil {
		if err := recipients.CheckInlineVars(in.Recipients, t); err != nil {
			return recipients.Summary{}, placeVariables(err, file, "", "")
		}
		return recipients.SummarizeInline(in.Recipients, t, preview), nil
	}
	f, err := os.Open(in.RecipientsFile.Path)
	if err != nil {
		return recipients.Summary{}, fmt.Errorf("%s: %w", cmp.Or(from, "--csv"), err)
	}
	defer f.Close()
	// A variable that no column fills makes every row invalid: it is told
	// once, with the nearest column, before the rows are read. A header
	// that does not read is left to Scan, which says why.
	if h, _, err := recipients.ReadHeader(f); err == nil {
		if err := recipients.CheckColumns(h.Columns, t); err != nil {
			return recipients.Summary{}, placeVariables(err, file, in.RecipientsFile.Path, in.RecipientsFile.Path+": ")
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return recipients.Summary{}, fmt.Errorf("%s: %w", in.RecipientsFile.Path, err)
	}
	sum, err := recipients.Scan(f, t, preview)
	if err != nil {
		return recipients.Summary{}, fmt.Errorf("%s: %w", in.RecipientsFile.Path, err)
	}
	in.RecipientsFile.SHA256 = sum.SHA256
	return sum, nil
}

// placeVariables tells each variable of err (*recipients.UnknownVariableError,
// joined) that the recipients lack where the campaign file uses it, one
// line per text, at the file's line, e.g. "spring.yaml:38: steps[2].message:
// column 32: template variable "frist_name" is not a column; did you mean
// "first_name"? (columns of /data/people.csv: ...)"; source names the
// recipients' file there. Without a campaign file, or a variable the file
// cannot place, each problem is told as it is, after prefix.
func placeVariables(err error, file *campaignfile.File, source, prefix string) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var placed []campaignfile.Problem
	var rest []error
	for _, e := range errs {
		var uv *recipients.UnknownVariableError
		if file != nil && errors.As(e, &uv) && len(uv.Uses) > 0 {
			told := *uv
			told.Source = source
			var ps []campaignfile.Problem
			for _, u := range uv.Uses {
				if p, ok := file.TextProblem(u.Field, u.Line, u.Column, told.Error()); ok {
					ps = append(ps, p)
				}
			}
			if len(ps) == len(uv.Uses) {
				placed = append(placed, ps...)
				continue
			}
		}
		rest = append(rest, fmt.Errorf("%s%w", prefix, e))
	}
	if placed != nil {
		slices.SortStableFunc(placed, func(a, b campaignfile.Problem) int { return cmp.Compare(a.Line, b.Line) })
		rest = append([]error{&campaignfile.Errors{File: file.Name, Problems: placed}}, rest...)
	}
	return errors.Join(rest...)
}

// checkedCampaign is an input that passed every check a start makes.
type checkedCampaign struct {
	in      workflows.CampaignInput
	summary recipients.Summary
	window  string
	spacing string
	draws   bool // some text has variants or choices
}

// check builds and checks a campaign from the flags; its errors are the
// user's (*usageError).
func (f *campaignSource) check(id, name string, preview int, consequence string) (checkedCampaign, error) {
	in, err := f.input(id, name)
	if err == nil {
		err = in.Validate()
	}
	if err != nil {
		return checkedCampaign{}, usagef("invalid campaign%s:\n%s", consequence, indent(err))
	}
	policy, err := in.Policy()
	if err != nil { // Validate has checked it; this is only for the compiler's sake
		return checkedCampaign{}, usagef("invalid campaign%s:\n%s", consequence, indent(err))
	}
	sum, err := checkRecipients(&in, preview, f.recipientsFrom, f.loaded)
	if err != nil {
		return checkedCampaign{}, usagef("invalid recipients%s:\n%s", consequence, indent(err))
	}
	return checkedCampaign{in: in, summary: sum, window: policy.Window.String(), spacing: spacingText(policy), draws: hasDraws(in)}, nil
}

// spacingText describes the pacing as the campaign's progress does.
func spacingText(p pacing.Policy) string {
	s := fmt.Sprintf("%s–%s after each task", p.MinGap, p.MaxGap)
	if p.HourlyCap > 0 {
		s += fmt.Sprintf(", at most %d an hour", p.HourlyCap)
	}
	if p.DailyCap > 0 {
		s += fmt.Sprintf(", %d a day", p.DailyCap)
	}
	return s
}

// campaignMetadata is what the Temporal UI shows of a campaign besides its
// input: a memo with its name and settings (carried across continue-as-new),
// a one-line summary and a details panel.
func campaignMetadata(name string, c checkedCampaign) (memo map[string]any, summary, details string) {
	sender := senders.Or(c.in.Sender)
	settings := map[string]any{
		"recipients": c.summary.Rows, "invalid": c.summary.Invalid, "source": c.source(),
		"spacing": c.spacing, "window": c.window, "sender": sender,
	}
	// The sender is also at the top, where stop-recipient --everywhere
	// finds the account whose pacer to tell.
	memo = map[string]any{"settings": settings, "sender": sender}
	if !c.in.StartAt.IsZero() {
		// Status reads it before the run can answer a query.
		memo["scheduled_at"] = c.in.StartAt
	}
	title := c.in.CampaignID
	if name != "" {
		memo["name"], title = name, name
	}
	what, runs := "message", "Each recipient's message is a child run `%s/<recipient>`"
	if len(c.in.Steps) > 0 {
		settings["steps"] = stepsOutline(c.in.Steps)
		what = stepsOutline(c.in.Steps)
		runs = "Each recipient's sequence is a child run `%s/<recipient>`, and each of its messages and connection requests a run under it"
	}
	summary = fmt.Sprintf("Campaign %s: %d recipients from %s, from %s", title, c.summary.Rows, filepath.Base(c.source()), sender)
	details = fmt.Sprintf("**Recipients:** %d (%d invalid) from `%s`\n\n**Sender:** %s\n\n**Steps:** %s\n\n**Spacing:** %s\n\n**Sending hours:** %s\n\n"+
		runs+"; filter them with `CampaignId = %q`.",
		c.summary.Rows, c.summary.Invalid, c.source(), sender, what, c.spacing, c.window, c.in.CampaignID, c.in.CampaignID)
	return memo, summary, details
}

func (c checkedCampaign) source() string {
	if c.in.RecipientsFile != nil {
		return c.in.RecipientsFile.Path
	}
	return "inline"
}

// --- preview ---

type campaignPreview struct {
	*common
	src         campaignSource
	db          contactsDB
	id          string
	show, limit int
}

// previewOutput is what preview --json prints.
type previewOutput struct {
	// CampaignID drew each previewed recipient's variant and choices.
	CampaignID string `json:"campaign_id,omitempty"`
	Source     string `json:"source"` // the CSV file's absolute path, or "inline"
	recipients.Summary
	Valid   int    `json:"valid"`
	Window  string `json:"window"`
	Spacing string `json:"spacing"`
	Sender  string `json:"sender"`
	// Steps are a sequence campaign's; each previewed recipient's texts
	// are aligned with them.
	Steps []workflows.Step `json:"steps,omitempty"`
	// Contacts is the contacts store's forecast: who would be excluded or
	// skipped.
	Contacts previewContacts `json:"contacts"`
}

func (p *campaignPreview) run(ctx context.Context) error {
	if p.src.fs.Changed("limit") {
		if p.src.fs.Changed("show") {
			return usagef("--show, --limit: give one (they are the same)")
		}
		p.show = p.limit
	}
	if p.show < 0 {
		return usagef("--show: must not be negative")
	}
	c, err := p.src.check(p.id, "", p.show, "")
	if err != nil {
		return err
	}
	s := c.summary
	// The preview lists the problems: only the status is left to give.
	var result error
	switch {
	case s.Rows == 0:
		result = shown(usagef("no recipients"))
	case s.Invalid > 0:
		result = shown(usagef("%d of %d recipients are invalid", s.Invalid, s.Rows))
	}
	held := checkContacts(ctx, &p.db, p.common, c.in)
	if p.json {
		printJSON(p.stdout, previewOutput{CampaignID: c.in.CampaignID, Source: c.source(), Summary: s, Valid: s.Rows - s.Invalid, Window: c.window, Spacing: c.spacing,
			Sender: senders.Or(c.in.Sender), Steps: c.in.Steps, Contacts: held})
		return result
	}
	w := p.stdout
	fmt.Fprintf(w, "Preview: nothing is sent\n")
	fmt.Fprintf(w, "recipients: %s\n", c.source())
	if len(s.Columns) > 0 {
		fmt.Fprintf(w, "columns: %s\n", strings.Join(s.Columns, ", "))
	}
	fmt.Fprintf(w, "rows %d  valid %d  invalid %d\n", s.Rows, s.Rows-s.Invalid, s.Invalid)
	fmt.Fprintf(w, "sender: %s\n", senders.Or(c.in.Sender))
	if len(c.in.Steps) > 0 {
		fmt.Fprintf(w, "steps: %s\n", stepsOutline(c.in.Steps))
	}
	if len(c.in.Variants) > 0 {
		fmt.Fprintf(w, "variants: %s\n", variantsOutline(c.in.Variants))
	}
	fmt.Fprintf(w, "window: %s\n", c.window)
	fmt.Fprintf(w, "spacing: %s\n", c.spacing)
	printPreviewContacts(w, c.in, held)
	if c.draws {
		if c.in.CampaignID == "" {
			fmt.Fprintf(w, "Variants and {a|b} choices are drawn per campaign id: none was given, so these are not what start will send; give --id.\n")
		} else {
			fmt.Fprintf(w, "Variants and {a|b} choices drawn for campaign %s, as start --id %s sends them.\n", c.in.CampaignID, c.in.CampaignID)
		}
	}
	if s.Rows == 0 {
		fmt.Fprintf(w, "No recipients: the file has a header and no rows.\n")
	}
	printProblems(w, s)
	if len(s.Preview) > 0 {
		fmt.Fprintf(w, "Messages (first %d):\n", len(s.Preview))
		for _, r := range s.Preview {
			variant := ""
			if r.Variant != "" {
				variant = "  variant " + r.Variant
			}
			fmt.Fprintf(w, "  %s  %s%s\n", rowLabel(c.in, r.Line), recipientName(r), variant)
			if len(r.Problems) > 0 {
				fmt.Fprintf(w, "    (invalid: %s)\n", strings.Join(r.Problems, "; "))
				continue
			}
			if len(c.in.Steps) > 0 {
				printStepTexts(w, c.in.Steps, r.Texts, r.Variants)
				continue
			}
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(r.Message, "\n", "\n    "))
		}
	}
	return result
}

// printProblems lists the first row problems under a header line.
func printProblems(w io.Writer, s recipients.Summary) {
	if len(s.Problems) == 0 {
		return
	}
	more := ""
	if len(s.Problems) >= recipients.MaxSummaryProblems {
		more = fmt.Sprintf(", the first %d", recipients.MaxSummaryProblems)
	}
	fmt.Fprintf(w, "Problems (%d invalid of %d%s):\n", s.Invalid, s.Rows, more)
	for _, pr := range s.Problems {
		fmt.Fprintf(w, "  %s\n", pr)
	}
}

func rowLabel(in workflows.CampaignInput, line int) string {
	if in.RecipientsFile == nil {
		return fmt.Sprintf("recipient %d", line)
	}
	return fmt.Sprintf("line %d", line)
}

func recipientName(r recipients.Prepared) string {
	switch {
	case r.RecipientURN != "":
		return r.RecipientURN
	case r.ProfileSlug != "":
		return "profile " + r.ProfileSlug + " (URN looked up when sending)"
	}
	return "(no recipient)"
}

// --- start ---

type campaignStart struct {
	*common
	src          campaignSource
	id, name     string
	at           string
	allowInvalid bool
	watch        bool
	interval     time.Duration
}

// campaignStartOutput is what start --json prints (one line).
type campaignStartOutput struct {
	CampaignID     string `json:"campaign_id"`
	RunID          string `json:"run_id,omitempty"`
	URL            string `json:"url,omitempty"`
	RunsURL        string `json:"runs_url"`
	Recipients     int    `json:"recipients"`
	Invalid        int    `json:"invalid"`
	Source         string `json:"source"`
	Window         string `json:"window"`
	Spacing        string `json:"spacing"`
	Sender         string `json:"sender"`
	Steps          string `json:"steps,omitempty"`           // a sequence campaign's, outlined
	Variants       string `json:"variants,omitempty"`        // a one-message campaign's, outlined
	ContactPolicy  string `json:"contact_policy"`            // in words: whom another campaign's contact makes it skip
	ScheduledAt    string `json:"scheduled_at,omitempty"`    // with --at: when it starts (RFC 3339)
	StartedAgain   bool   `json:"started_again,omitempty"`   // earlier runs exist: whom they handled is skipped
	AlreadyRunning bool   `json:"already_running,omitempty"` // nothing was started
	// RecipientIDs says how the messages' workflow ids and RecipientUrn
	// search attribute name recipients: "urns", or "pseudonyms" (payload
	// encryption on; see starter recipient-id).
	RecipientIDs string `json:"recipient_ids"`
}

func (s *campaignStart) run(ctx context.Context) error {
	if s.watch && s.interval <= 0 {
		return usagef("--interval: must be positive")
	}
	s.src.needID = true
	c, err := s.src.check(s.id, s.name, 0, ", nothing was started")
	if err != nil {
		return err
	}
	s.id, s.name = c.in.CampaignID, c.in.Name // maybe from the campaign file
	sum := c.summary
	startAt, err := parseAt(s.at, c.in.Window.TimeZone, time.Now())
	if err != nil {
		return err
	}
	c.in.StartAt = startAt
	if sum.Rows == 0 {
		return usagef("invalid recipients, nothing was started:\n  %s: no recipients (a header and no rows)", c.source())
	}
	if sum.Invalid > 0 && !s.allowInvalid {
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d recipients are invalid, nothing was started; fix them, or pass --allow-invalid to start anyway (they end invalid):", sum.Invalid, sum.Rows)
		for _, pr := range sum.Problems {
			fmt.Fprintf(&b, "\n  %s", pr)
		}
		if n := len(sum.Problems); n >= recipients.MaxSummaryProblems {
			fmt.Fprintf(&b, "\n  (the first %d problems; `starter campaign preview` with the same flags shows them too)", n)
		}
		return &usageError{msg: b.String()}
	}

	tc, err := s.dial()
	if err != nil {
		return err
	}
	defer tc.Close()
	// A sender that no worker has is refused before anything starts: every
	// recipient would fail for want of the account.
	workers, describeErr := awaitWorkers(ctx, tc, s.taskQueue)
	if describeErr == nil {
		if err := workers.checkSender(c.in.Sender, "nothing was started"); err != nil {
			return err
		}
		if err := workers.checkKeys(s.keys != nil, "nothing was started"); err != nil {
			return err
		}
	}

	out := campaignStartOutput{
		CampaignID: s.id, RunsURL: s.campaignRunsURL(s.id), Recipients: sum.Rows, Invalid: sum.Invalid,
		Source: c.source(), Window: c.window, Spacing: c.spacing, Sender: senders.Or(c.in.Sender), Steps: stepsOutline(c.in.Steps),
		Variants: variantsOutline(c.in.Variants), ContactPolicy: contactPolicyText(c.in.ContactPolicy),
	}
	if !startAt.IsZero() {
		out.ScheduledAt = startAt.Format(time.RFC3339)
	}
	// An earlier, closed campaign under this id is no obstacle (the default
	// reuse policy allows it); the user should know that whom it handled is
	// skipped. That holds only if this run names recipients as the earlier
	// one did: by URN, or by pseudonym with the same recipient key.
	prev, err := readPreviousCampaign(ctx, tc, s.dataConverter, s.keys != nil, s.id)
	if err != nil {
		return fmt.Errorf("%w\n  nothing was started: a run must name its recipients as the campaign's earlier runs did, or it would message them again", err)
	}
	out.StartedAgain = prev.exists && !prev.running
	if prev.exists {
		c.in.RecipientKey = prev.key
	} else {
		found, pseudonyms, err := earlierMessages(ctx, tc, s.namespace, s.id)
		switch {
		case err != nil:
			return err
		case pseudonyms:
			return fmt.Errorf("campaign %s's own runs are gone (past the namespace's retention), but some of its messages remain, naming recipients by pseudonyms whose key went with the campaign;\n"+
				"  nothing was started: a new run could not skip them; start it under a new campaign id", s.id)
		case found:
			out.StartedAgain = true // by URN, as its remaining messages are named
		case s.keys != nil:
			if c.in.RecipientKey, err = newRecipientKey(); err != nil {
				return err
			}
		}
	}
	out.RecipientIDs = "urns"
	if c.in.RecipientKey != "" {
		out.RecipientIDs = "pseudonyms"
	}
	opts := client.StartWorkflowOptions{
		ID:                                       s.id,
		TaskQueue:                                s.taskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.CampaignIDAttribute.ValueSet(s.id)),
	}
	if !startAt.IsZero() {
		// Temporal holds the run's first task until then; the run also
		// knows the time (StartAt), should a signal wake it earlier.
		opts.StartDelay = max(time.Until(startAt), time.Second)
	}
	opts.Memo, opts.StaticSummary, opts.StaticDetails = campaignMetadata(s.name, c)
	run, err := tc.ExecuteWorkflow(ctx, opts, workflows.CampaignWorkflow, c.in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		out.AlreadyRunning, out.RunID, out.URL, out.StartedAgain = true, started.RunId, s.runURL(s.id, started.RunId), false
		if s.json {
			printJSON(s.stdout, out)
		} else {
			fmt.Fprintf(s.stdout, "Campaign %s is already running; nothing was started.\n", s.id)
			fmt.Fprintf(s.stdout, "  view:        %s\n  status:      starter campaign status --id %s\n", out.URL, s.id)
		}
		return shown(fmt.Errorf("campaign %s is already running", s.id))
	case err != nil:
		return fmt.Errorf("starting campaign %s: %w%s", s.id, err, searchAttributeHint(err))
	}
	out.RunID = run.GetRunID()
	out.URL = s.runURL(s.id, out.RunID)
	if s.json {
		printJSON(s.stdout, out)
	} else {
		w := s.stdout
		if startAt.IsZero() {
			fmt.Fprintf(w, "Started campaign %s\n", s.id)
		} else {
			fmt.Fprintf(w, "Scheduled campaign %s to start at %s (%s)\n", s.id, atText(startAt, c.in.Window.TimeZone), relative(startAt, time.Now()))
		}
		if out.StartedAgain {
			fmt.Fprintf(w, "  Campaign %s ran before: recipients already handled will be skipped.\n", s.id)
		}
		switch {
		case c.in.RecipientKey != "":
			fmt.Fprintf(w, "  Recipients are named by pseudonyms in workflow ids and search attributes (starter recipient-id --campaign %s --urn URN finds one).\n", s.id)
		case s.keys != nil:
			fmt.Fprintf(w, "  Recipients are named by their URNs in workflow ids and search attributes, as in this campaign's earlier runs without encryption:\n"+
				"  keeping them is what skips whom it already messaged (a new campaign id gets pseudonyms).\n")
		}
		if s.name != "" {
			fmt.Fprintf(w, "  name:        %s\n", s.name)
		}
		fmt.Fprintf(w, "  sender:      %s\n", out.Sender)
		if len(c.in.Steps) > 0 {
			fmt.Fprintf(w, "  steps:       %s\n", out.Steps)
		}
		if out.Variants != "" {
			fmt.Fprintf(w, "  variants:    %s\n", out.Variants)
		}
		fmt.Fprintf(w, "  recipients:  %d from %s\n", sum.Rows, out.Source)
		if sum.Invalid > 0 {
			fmt.Fprintf(w, "  invalid:     %d (they end invalid, nothing is sent to them)\n", sum.Invalid)
		}
		fmt.Fprintf(w, "  window:      %s\n", c.window)
		fmt.Fprintf(w, "  spacing:     %s\n", c.spacing)
		fmt.Fprintf(w, "  contacts:    contact policy %s; the do-not-contact list applies\n", out.ContactPolicy)
		fmt.Fprintf(w, "  run id:      %s\n", out.RunID)
		fmt.Fprintf(w, "  view:        %s\n", out.URL)
		fmt.Fprintf(w, "  all runs:    %s\n", out.RunsURL)
		if c.in.RecipientsFile != nil {
			fmt.Fprintf(w, "  The worker reads %s: it must see the same file, unchanged.\n", c.in.RecipientsFile.Path)
		}
	}
	if describeErr == nil {
		(&workerWatch{o: s.common, c: tc, queue: s.taskQueue, what: "the campaign"}).afterStart(ctx, workers)
	}
	if !s.watch {
		return nil
	}
	return s.watchCampaign(ctx, tc, s.id, s.interval)
}

// campaignRunsURL lists a campaign and all its messages in the Temporal UI.
func (o *common) campaignRunsURL(id string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", strings.TrimRight(o.uiURL, "/"),
		url.PathEscape(o.namespace), url.QueryEscape("CampaignId="+visibilityString(id)))
}

// visibilityString quotes s for a Temporal visibility query.
func visibilityString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// printJSON prints v on one line, so that a stream of them is JSON lines.
func printJSON(w io.Writer, v any) {
	_ = newJSONEncoder(w).Encode(v)
}

// newJSONEncoder writes JSON as scripts read it: "<id>" rather than
// "\u003cid\u003e" (the default escapes HTML).
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
