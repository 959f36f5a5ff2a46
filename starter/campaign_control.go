package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/workflows"
)

var campaignStatusCommand = command{
	name:    "status",
	summary: "show a campaign's progress",
	usage: `starter campaign status shows a campaign's progress: what it is doing, its
counts by outcome, its next send, its window and spacing, and why its actions
(messages, sequence steps) wait at its account's pacer, a line per reason. It
works on a campaign that has ended too.

Usage:
  starter campaign status --id ID
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignControl{common: o}
		s.registerID(fs)
		return s.status
	},
}

var campaignWatchCommand = command{
	name:    "watch",
	summary: "follow a campaign's progress until it ends",
	usage: `starter campaign watch shows a campaign's progress as it goes, until it ends.
On a terminal it redraws one line; otherwise it prints a line when something
changes. With --json it prints one progress object per line.

Usage:
  starter campaign watch --id ID [--interval 2s]

Exit status: 0 the campaign finished, 1 it was cancelled, stopped or failed
(or watching failed).
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignControl{common: o}
		s.registerID(fs)
		fs.DurationVar(&s.interval, "interval", 2*time.Second, "how often to ask for progress")
		return s.watch
	},
}

var campaignPauseCommand = command{
	name:    "pause",
	summary: "hold a campaign before its next send",
	usage: `starter campaign pause holds a campaign before its next send, until resumed. A
message already sent is still confirmed.

Usage:
  starter campaign pause --id ID [--reason TEXT]
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignControl{common: o}
		s.registerID(fs)
		fs.StringVar(&s.reason, "reason", "", "why, shown in the campaign's status")
		return s.pause
	},
}

var campaignResumeCommand = command{
	name:    "resume",
	summary: "let a paused campaign go on",
	usage: `starter campaign resume lets a paused campaign go on, within its pacing and window.

Usage:
  starter campaign resume --id ID
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignControl{common: o}
		s.registerID(fs)
		return s.resume
	},
}

var campaignCancelCommand = command{
	name:    "cancel",
	summary: "stop a campaign for good",
	usage: `starter campaign cancel stops a campaign: it starts no further send. The message
in flight, if any, is still confirmed, and its outcome is in the report.
Starting the campaign again under the same id skips whom it already handled.

Usage:
  starter campaign cancel --id ID
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &campaignControl{common: o}
		s.registerID(fs)
		return s.cancel
	},
}

// campaignControl holds the flags of the commands that act on a running or
// ended campaign.
type campaignControl struct {
	*common
	id       string
	reason   string
	interval time.Duration
}

func (s *campaignControl) registerID(fs *pflag.FlagSet) {
	fs.StringVar(&s.id, "id", "", "campaign id (required)")
}

// connect checks --id and dials.
func (s *campaignControl) connect() (client.Client, error) {
	if s.id == "" {
		return nil, usagef("--id: is required (the campaign id given to `campaign start`)")
	}
	return s.dial()
}

// errNoCampaign marks an id that names no campaign.
var errNoCampaign = errors.New("no such campaign")

// queryTimeout bounds a progress query: a query waits for a worker, and a
// stopped worker would otherwise hang the command.
const queryTimeout = 15 * time.Second

// campaignView is a campaign's progress, and where its latest run stands in
// Temporal, which the progress alone cannot say once the run has ended.
type campaignView struct {
	workflows.CampaignProgress
	WorkflowStatus string `json:"workflow_status"` // Temporal's: Running, Completed, Failed, Canceled, Terminated, TimedOut
	RunID          string `json:"run_id"`
	// Failure is how a run that failed, was terminated or timed out ended.
	Failure string `json:"failure,omitempty"`
	URL     string `json:"url"`
	RunsURL string `json:"runs_url"`
	// AccountWaits say why the campaign's actions wait for their account's
	// pacer, while it runs: one per distinct reason.
	AccountWaits []accountWait `json:"account_waits,omitempty"`

	status    enumspb.WorkflowExecutionStatus
	taskQueue string // the campaign's, where its account's pacer runs
	// started, executes and events are the run's start, when its first
	// task is due (later with a start delay: a scheduled campaign) and its
	// history's length; memo is what the starter put in its memo.
	started, executes time.Time
	events            int64
	memo              map[string]*commonpb.Payload
}

func (v campaignView) closed() bool { return v.status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING }

// scheduled says whether the run waits for its delayed start: its first
// task is not due yet, and nothing but its start is in its history.
func (v campaignView) scheduled() bool {
	return !v.closed() && v.executes.After(v.started) && v.events <= 1
}

// scheduledView is a scheduled campaign's progress before its run has
// done anything (it cannot answer a query yet): what the starter put in
// its memo, and when it starts.
func (v *campaignView) scheduledView(dc converter.DataConverter) {
	v.Status, v.ScheduledAt = workflows.StatusScheduled, v.executes
	// The time asked for; the run's first task is due at about then.
	decode(dc, v.memo["scheduled_at"], &v.ScheduledAt)
	v.NextSendAt = v.ScheduledAt
	v.Reason = "scheduled to start at " + v.ScheduledAt.UTC().Format("Mon 2 Jan 2006 15:04:05 MST")
	var settings struct {
		Recipients int    `json:"recipients"`
		Window     string `json:"window"`
		Spacing    string `json:"spacing"`
	}
	decode(dc, v.memo["name"], &v.Name)
	decode(dc, v.memo["sender"], &v.Sender)
	decode(dc, v.memo["settings"], &settings)
	v.Total, v.Pending, v.Window, v.Spacing = settings.Recipients, settings.Recipients, settings.Window, settings.Spacing
}

// describeCampaign finds the campaign's latest run.
func (o *common) describeCampaign(ctx context.Context, c client.Client, id string) (campaignView, error) {
	v := campaignView{RunsURL: o.campaignRunsURL(id)}
	v.CampaignID = id
	d, err := describe(ctx, c, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return v, fmt.Errorf("campaign %s: not found in namespace %s: %w", id, o.namespace, errNoCampaign)
	case err != nil:
		return v, fmt.Errorf("campaign %s: %w", id, err)
	}
	info := d.GetWorkflowExecutionInfo()
	if t := info.GetType().GetName(); t != workflows.CampaignWorkflow {
		return v, fmt.Errorf("%s is a %s workflow, not a campaign: %w", id, t, errNoCampaign)
	}
	v.status = info.GetStatus()
	v.WorkflowStatus = v.status.String()
	v.started, v.executes, v.events = info.GetStartTime().AsTime(), info.GetExecutionTime().AsTime(), info.GetHistoryLength()
	v.memo = info.GetMemo().GetFields()
	v.taskQueue = cmp.Or(info.GetTaskQueue(), o.taskQueue)
	v.RunID = info.GetExecution().GetRunId()
	v.URL = o.runURL(id, v.RunID)
	return v, nil
}

// fetchCampaign reads a campaign's progress. A running campaign answers the
// progress query; an ended one is read from its result (or the progress its
// cancellation carries), which needs no worker, and only a failed one is
// asked, since its failure holds no counts.
func (o *common) fetchCampaign(ctx context.Context, c client.Client, id string) (campaignView, error) {
	v, err := o.describeCampaign(ctx, c, id)
	if err != nil {
		return v, err
	}
	if v.scheduled() {
		v.scheduledView(o.dataConverter)
		return v, nil
	}
	if !v.closed() {
		p, err := queryProgress(ctx, c, id, "", queryTimeout)
		if err != nil {
			if w, derr := describeWorkers(ctx, c, v.taskQueue); derr == nil && !w.running() {
				return v, fmt.Errorf("asking campaign %s for its progress: %s", id, noPollerText(v.taskQueue))
			}
			return v, fmt.Errorf("asking campaign %s for its progress: %w (is the worker running?)", id, err)
		}
		v.CampaignProgress = p
		v.AccountWaits = accountWaits(ctx, c, v.taskQueue, p.Sender, id, time.Now())
		return v, nil
	}
	err = c.GetWorkflow(ctx, id, v.RunID).Get(ctx, &v.CampaignProgress)
	var cancelled *temporal.CanceledError
	switch {
	case err == nil:
		return v, nil
	case ctx.Err() != nil:
		return v, ctx.Err()
	case errors.As(err, &cancelled) && cancelled.HasDetails() && cancelled.Details(&v.CampaignProgress) == nil:
		return v, nil
	}
	v.Failure = rootMessage(err)
	if p, qerr := queryProgress(ctx, c, id, v.RunID, 5*time.Second); qerr == nil {
		v.CampaignProgress = p
	}
	v.CampaignID = id
	switch {
	case v.status == enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		v.Status = workflows.StatusCancelled
	case v.Status != workflows.StatusStopped && v.Status != workflows.StatusCancelled && v.Status != workflows.StatusFinished:
		// Terminated or timed out: the replayed progress shows what it was
		// doing when it was killed, which it no longer does.
		v.Status, v.Reason, v.Current, v.NextSendAt = workflows.StatusStopped, v.Failure, "", time.Time{}
	}
	if v.Reason == "" {
		v.Reason = v.Failure
	}
	return v, nil
}

func queryProgress(ctx context.Context, c client.Client, id, runID string, timeout time.Duration) (workflows.CampaignProgress, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var p workflows.CampaignProgress
	val, err := c.QueryWorkflow(ctx, id, runID, workflows.QueryProgress)
	if err != nil {
		return p, err
	}
	return p, val.Get(&p)
}

// rootMessage is the part of a workflow's failure a person wants to read.
func rootMessage(err error) string {
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	var terminated *temporal.TerminatedError
	switch {
	case errors.As(err, &app):
		return app.Message()
	case errors.As(err, &timeout):
		return "timed out: " + timeout.Message()
	case errors.As(err, &terminated):
		return "terminated"
	}
	return err.Error()
}

// --- status ---

func (s *campaignControl) status(ctx context.Context) error {
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := s.fetchCampaign(ctx, c, s.id)
	if err != nil {
		return err
	}
	if s.json {
		printJSON(s.stdout, v)
	} else {
		printCampaign(s.stdout, v, time.Now())
	}
	return nil
}

// printCampaign prints a campaign's status, a field per line, each starting
// with its name so that scripts can grep it.
func printCampaign(w io.Writer, v campaignView, now time.Time) {
	name := ""
	if v.Name != "" {
		name = " (" + v.Name + ")"
	}
	fmt.Fprintf(w, "campaign: %s%s\n", v.CampaignID, name)
	fmt.Fprintf(w, "status: %s\n", v.Status)
	scheduled := v.Status == workflows.StatusScheduled && !v.ScheduledAt.IsZero() && !v.closed()
	if scheduled {
		fmt.Fprintf(w, "scheduled to start at %s (%s)\n", v.ScheduledAt.Local().Format("2006-01-02 15:04:05 MST"), relative(v.ScheduledAt, now))
	}
	if v.Reason != "" && !(scheduled && strings.HasPrefix(v.Reason, "scheduled to start at")) {
		fmt.Fprintf(w, "reason: %s\n", v.Reason)
	}
	if v.Failure != "" && !strings.Contains(v.Failure, strings.TrimSuffix(v.Reason, ")")) {
		fmt.Fprintf(w, "failure: %s\n", v.Failure)
	}
	fmt.Fprintln(w, countsLine(v.Counts, v.Pending))
	printVariants(w, "variant: ", v.Variants)
	if v.Active > 0 {
		fmt.Fprintf(w, "active: %d (recipients in their sequence now)\n", v.Active)
	}
	fmt.Fprintf(w, "total: %d\n", v.Total)
	if v.Current != "" && !v.closed() {
		fmt.Fprintf(w, "current: %s\n", v.Current)
	}
	if !v.NextSendAt.IsZero() && !v.closed() && !scheduled {
		fmt.Fprintf(w, "next send: %s (%s)\n", v.NextSendAt.Local().Format("2006-01-02 15:04:05 MST"), relative(v.NextSendAt, now))
	}
	for _, aw := range v.AccountWaits {
		fmt.Fprintln(w, waitLine(aw))
	}
	fmt.Fprintf(w, "run: %d\n", v.Run)
	fmt.Fprintf(w, "workflow: %s\n", v.WorkflowStatus)
	if !v.StartedAt.IsZero() {
		fmt.Fprintf(w, "started: %s\n", v.StartedAt.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if v.Window != "" {
		fmt.Fprintf(w, "window: %s\n", v.Window)
	}
	if v.Spacing != "" {
		fmt.Fprintf(w, "spacing: %s\n", v.Spacing)
	}
	fmt.Fprintf(w, "view: %s\n", v.URL)
	fmt.Fprintf(w, "all runs: %s\n", v.RunsURL)
}

// countsLine lists the counts by outcome; a sequence's own outcomes
// (not_connected, stopped) only once a recipient has one, so that a
// one-message campaign's line stays as it was.
func countsLine(c workflows.Counts, pending int) string {
	s := fmt.Sprintf("delivered %d  failed %d  unknown %d  invalid %d  skipped %d  excluded %d", c.Delivered, c.Failed, c.Unknown, c.Invalid, c.Skipped, c.Excluded)
	if c.NotConnected > 0 || c.Stopped > 0 {
		s += fmt.Sprintf("  not_connected %d  stopped %d", c.NotConnected, c.Stopped)
	}
	return s + fmt.Sprintf("  pending %d", pending)
}

// relative says when t is from now, e.g. "in 1m12s" or "3s ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}

// --- watch ---

func (s *campaignControl) watch(ctx context.Context) error {
	if s.interval <= 0 {
		return usagef("--interval: must be positive")
	}
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	return s.watchCampaign(ctx, c, s.id, s.interval)
}

// watchCampaign polls the campaign's progress until it ends. Errors that may
// pass (a worker restarting, a network blip) are reported once and polling
// goes on; only a missing campaign or Ctrl-C stops it.
func (o *common) watchCampaign(ctx context.Context, c client.Client, id string, interval time.Duration) error {
	tty := !o.json && isTerminal(o.stdout)
	var lastKey, lastErr, lastWaits string
	var lastJSON []byte
	drawn := false // a progress line is on the terminal without its newline
	endLine := func() {
		if drawn {
			fmt.Fprintln(o.stdout)
			drawn = false
		}
	}
	stopped := func() error {
		endLine()
		return fmt.Errorf("stopped watching; the campaign goes on: starter campaign status --id %s", id)
	}
	for {
		v, err := o.fetchCampaign(ctx, c, id)
		switch {
		case ctx.Err() != nil:
			return stopped()
		case errors.Is(err, errNoCampaign):
			endLine()
			return err
		case err != nil:
			if err.Error() != lastErr {
				endLine()
				o.warnf("%v; still trying", err)
				lastErr = err.Error()
			}
		default:
			lastErr = ""
			if o.json {
				var b bytes.Buffer
				_ = newJSONEncoder(&b).Encode(v)
				if !bytes.Equal(b.Bytes(), lastJSON) {
					_, _ = o.stdout.Write(b.Bytes())
					lastJSON = b.Bytes()
				}
			} else {
				line, key := progressLine(v, time.Now())
				switch {
				case tty:
					fmt.Fprintf(o.stdout, "\r%s\x1b[K", fitTerminal(line))
					drawn = true
				case key != lastKey:
					fmt.Fprintln(o.stdout, line)
				}
				lastKey = key
				// Why the campaign's actions wait for their account, under
				// the progress line, whenever that changes.
				if wk := waitsKey(v.AccountWaits); wk != lastWaits {
					lastWaits = wk
					endLine()
					for _, aw := range v.AccountWaits {
						fmt.Fprintf(o.stdout, "  %s\n", waitLine(aw))
					}
				}
			}
			if v.closed() {
				endLine()
				if !o.json {
					printCampaign(o.stdout, v, time.Now())
				}
				if v.status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
					return nil
				}
				// Its status, just printed, says how it ended.
				return shown(fmt.Errorf("campaign %s ended %s", id, v.WorkflowStatus))
			}
		}
		select {
		case <-ctx.Done():
			return stopped()
		case <-time.After(interval):
		}
	}
}

// progressLine draws the campaign as one line. key is the line without its
// countdown, which changes at every poll: a log gets a line only when key
// changes.
func progressLine(v campaignView, now time.Time) (line, key string) {
	const width = 20
	done, total := v.Counts.Done(), v.Total
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	c := v.Counts
	seq := ""
	if c.NotConnected > 0 || c.Stopped > 0 {
		seq = fmt.Sprintf(" not_connected %d stopped %d", c.NotConnected, c.Stopped)
	}
	if v.Active > 0 {
		seq += fmt.Sprintf(" active %d", v.Active)
	}
	key = fmt.Sprintf("[%s%s] %d/%d  delivered %d failed %d invalid %d skipped %d excluded %d unknown %d%s | %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total,
		c.Delivered, c.Failed, c.Invalid, c.Skipped, c.Excluded, c.Unknown, seq, doing(v))
	line = key
	if !v.closed() && v.NextSendAt.After(now) {
		line += " (next send " + relative(v.NextSendAt, now) + ")"
	}
	return line, key
}

// doing says in a few words what the campaign is doing.
func doing(v campaignView) string {
	switch {
	case v.Status == workflows.StatusSending && v.Current != "":
		return "sending to " + v.Current
	case v.Status == workflows.StatusLookingUp && v.Reason != "":
		return "looking up " + v.Reason
	case v.Reason != "":
		return v.Reason
	}
	return strings.ReplaceAll(string(v.Status), "_", " ")
}

// fitTerminal cuts a line to the terminal's width when the shell tells it
// ($COLUMNS): a line that wraps cannot be redrawn in place with "\r".
func fitTerminal(line string) string {
	cols, err := strconv.Atoi(os.Getenv("COLUMNS"))
	if err != nil || cols < 20 {
		return line
	}
	if r := []rune(line); len(r) >= cols {
		return string(r[:cols-2]) + "…"
	}
	return line
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// --- pause, resume, cancel ---

func (s *campaignControl) pause(ctx context.Context) error {
	return s.signal(ctx, workflows.SignalPause, workflows.PauseRequest{Reason: s.reason}, "Paused",
		func(v campaignView) bool { return v.Status == workflows.StatusPaused })
}

func (s *campaignControl) resume(ctx context.Context) error {
	return s.signal(ctx, workflows.SignalResume, nil, "Resumed", func(v campaignView) bool {
		// Still paused only if by a pause that resume lifts; OutX's own
		// refusals keep it waiting, and are retried by the campaign itself.
		return v.Status != workflows.StatusPaused ||
			!strings.HasPrefix(v.Reason, "paused by operator") && !strings.HasPrefix(v.Reason, "OutX kept refusing")
	})
}

// signal sends a control signal to the campaign's latest run and shows the
// status that results. A signal is applied by the worker, so the status is
// read again for a few seconds until it shows the signal's effect (settled).
func (s *campaignControl) signal(ctx context.Context, name string, arg any, done string, settled func(campaignView) bool) error {
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := s.mustBeRunning(ctx, c, name); err != nil {
		return err
	}
	if err := c.SignalWorkflow(ctx, s.id, "", name, arg); err != nil {
		return fmt.Errorf("%s campaign %s: %w", name, s.id, err)
	}
	var v campaignView
	for deadline := time.Now().Add(5 * time.Second); ; {
		v, err = s.fetchCampaign(ctx, c, s.id)
		if err == nil && (settled(v) || v.closed()) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("%s campaign %s, but could not read its status: %w", strings.ToLower(done), s.id, err)
	}
	if s.json {
		printJSON(s.stdout, v)
		return nil
	}
	fmt.Fprintf(s.stdout, "%s campaign %s\n", done, s.id)
	printCampaign(s.stdout, v, time.Now())
	return nil
}

// mustBeRunning refuses to act on a campaign that has ended, with a clearer
// word than Temporal's "workflow execution already completed".
func (s *campaignControl) mustBeRunning(ctx context.Context, c client.Client, what string) error {
	v, err := s.describeCampaign(ctx, c, s.id)
	switch {
	case err != nil:
		return err
	case v.closed():
		return fmt.Errorf("campaign %s has ended (%s); nothing to %s", s.id, v.WorkflowStatus, what)
	}
	return nil
}

// cancelOutput is what cancel --json prints.
type cancelOutput struct {
	CampaignID      string `json:"campaign_id"`
	CancelRequested bool   `json:"cancel_requested"`
	// BeforeStart: the campaign had not reached its scheduled start; it
	// ends without a step.
	BeforeStart bool   `json:"before_start,omitempty"`
	URL         string `json:"url"`
}

func (s *campaignControl) cancel(ctx context.Context) error {
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := s.describeCampaign(ctx, c, s.id)
	switch {
	case err != nil:
		return err
	case v.closed():
		return fmt.Errorf("campaign %s has ended (%s); nothing to cancel", s.id, v.WorkflowStatus)
	}
	// A scheduled campaign's run starts at once to be cancelled (the
	// server hands it its first task); it ends at its first step, having
	// sent nothing.
	beforeStart := v.scheduled()
	if err := c.CancelWorkflow(ctx, s.id, ""); err != nil {
		return fmt.Errorf("cancel campaign %s: %w", s.id, err)
	}
	if s.json {
		printJSON(s.stdout, cancelOutput{CampaignID: s.id, CancelRequested: true, BeforeStart: beforeStart, URL: v.URL})
		return nil
	}
	if beforeStart {
		fmt.Fprintf(s.stdout, "Cancelled campaign %s before its scheduled start (%s): nothing was sent.\n", s.id, v.executes.Local().Format("2006-01-02 15:04:05 MST"))
		fmt.Fprintf(s.stdout, "  view: %s\n", v.URL)
		return nil
	}
	fmt.Fprintf(s.stdout, "Cancelled campaign %s: it starts no further send.\n", s.id)
	fmt.Fprintf(s.stdout, "  The message in flight, if any, is still confirmed; its outcome will be in `starter campaign report --id %s`.\n", s.id)
	fmt.Fprintf(s.stdout, "  view: %s\n", v.URL)
	return nil
}
