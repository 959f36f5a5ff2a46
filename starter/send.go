package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

var sendCommand = command{
	name:    "send",
	summary: "send one LinkedIn message (SendMessage workflow)",
	usage: `starter send starts a SendMessage workflow: validate, send through OutX, and
confirm delivery by polling.

Usage:
  starter send --to URN (--message TEXT | --message-file PATH) [--wait]

The input is checked before anything starts; a bad URN or message is reported
with the field and the rule, and nothing is sent.

The sender must be one the task queue's workers have (they list theirs): a
sender none has is refused before anything starts. With no worker polling the
task queue, send warns within seconds.

With --wait, it prints what the run does while it waits, such as why it waits
for its account (a cap, the sending hours) and until when.

The workflow id is derived from the recipient and the text, so running the
same command twice never sends the same message twice: the second run reports
(and with --wait, waits for) the first. Only when the first certainly made no
OutX task (refused: a bad key, a sender the worker lacked) is it sent again,
under the same id. Pass --id to send it again on purpose.
With payload encryption on, the id and the RecipientUrn search attribute name
the recipient by a keyed pseudonym (see "starter recipient-id"), never the URN.

Exit status: 0 started (with --wait: delivered), 1 error, 2 bad input,
3 not delivered, 4 outcome unknown.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &sendFlags{common: o, fs: fs}
		fs.StringVar(&s.to, "to", "", "recipient's LinkedIn person URN, urn:li:person:<id>")
		fs.StringVar(&s.message, "message", "", "message text")
		fs.StringVar(&s.messageFile, "message-file", "", "read the message text from this file (- for standard input)")
		fs.BoolVar(&s.wait, "wait", false, "wait for the outcome and print it")
		fs.StringVar(&s.id, "id", "", "workflow id (default: derived from the recipient and the text)")
		fs.StringVar(&s.sender, "sender", "", "the worker's sender account to send from (default: env "+envSender+", else \"default\"); its pacer spaces every action of the account")
		fs.DurationVar(&s.sendDeadline, "send-deadline", workflows.DefaultSendDeadline, "how long to keep retrying a send that OutX certainly did not queue (429, 403, 503)")
		fs.DurationVar(&s.pollDeadline, "poll-deadline", workflows.DefaultPollDeadline, "how long to wait for OutX to perform a queued message")
		return s.run
	},
}

type sendFlags struct {
	*common
	fs                           *pflag.FlagSet
	to, message, messageFile, id string
	sender                       string
	wait                         bool
	sendDeadline, pollDeadline   time.Duration
}

// sendOutput is what --json prints.
type sendOutput struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	URL        string `json:"url"`
	Existing   bool   `json:"existing,omitempty"`
	// SentAgain: the earlier run under this id made no OutX task, so the
	// message was started again; Earlier is that run's result.
	SentAgain bool                         `json:"sent_again,omitempty"`
	Earlier   *workflows.SendMessageResult `json:"earlier,omitempty"`
	// Progress is the last the run said of what it did while waited for
	// (with --wait): why it waited for its account, and until when.
	Progress *workflows.TaskProgress      `json:"progress,omitempty"`
	Result   *workflows.SendMessageResult `json:"result,omitempty"`

	ended bool // the run is one that has ended: nothing to ask it while waiting
}

func (s *sendFlags) run(ctx context.Context) error {
	in, err := s.input()
	if err != nil {
		return usagef("invalid input, nothing was sent:\n%s", indent(err))
	}
	c, err := s.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	// The workers say which senders they have: a sender none has is
	// refused before anything starts. An error describing the queue only
	// skips the check; starting will say what is wrong.
	workers, describeErr := awaitWorkers(ctx, c, s.taskQueue)
	if describeErr == nil {
		if err := workers.checkSender(in.Sender, "nothing was sent"); err != nil {
			return err
		}
		if err := workers.checkKeys(s.keys != nil, "nothing was sent"); err != nil {
			return err
		}
	}

	// With payload encryption on, the id and the search attribute name the
	// recipient by a pseudonym (the starter's summary is encrypted).
	names := sendIdentities(s.keys, in.RecipientURN, in.Message)
	id := s.id
	if id == "" {
		id = names[0].workflowID
		// The same message under an earlier key, or from before encryption,
		// has another id: find it rather than send it again.
		earlier, err := findEarlierSend(ctx, c, names[1:])
		if err != nil {
			return fmt.Errorf("%w; nothing was sent", err)
		}
		if earlier != "" {
			id = earlier
		}
	}
	out := sendOutput{WorkflowID: id}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.RecipientURNAttribute.ValueSet(names[0].recipient)),
		StaticSummary:                            "Message to " + in.RecipientURN,
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.SendMessageWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		if run, err = s.again(ctx, c, opts, in, started.RunId, &out); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("starting %s: %w%s", workflows.SendMessageWorkflow, err, searchAttributeHint(err))
	}
	out.RunID = run.GetRunID()
	out.URL = s.runURL(id, out.RunID)
	if !s.json {
		switch {
		case out.Existing:
			fmt.Fprintf(s.stdout, "This message to this recipient was already started; not sending it again (pass --id to send it on purpose).\n")
		case out.SentAgain:
			fmt.Fprintf(s.stdout, "The earlier run made no OutX task (%s%s); sending again.\n", out.Earlier.Outcome, finishText(out.Earlier.Reason))
			fmt.Fprintf(s.stdout, "Started SendMessage\n")
		default:
			fmt.Fprintf(s.stdout, "Started SendMessage\n")
		}
		fmt.Fprintf(s.stdout, "  workflow id: %s\n  run id:      %s\n  view:        %s\n", out.WorkflowID, out.RunID, out.URL)
	}
	watch := &workerWatch{o: s.common, c: c, queue: s.taskQueue, what: "the message"}
	if describeErr == nil && !out.Existing {
		watch.afterStart(ctx, workers)
	}
	if !s.wait {
		return s.print(out, nil)
	}

	if !s.json {
		fmt.Fprintln(s.stdout, "Waiting for the outcome (Ctrl-C stops waiting, not the workflow)...")
	}
	res, err := s.await(ctx, c, run, watch, &out)
	if err != nil {
		var ok bool
		if res, ok = workflows.ResultFromError(err); !ok {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped waiting; the workflow goes on: %s", out.URL)
			}
			return fmt.Errorf("waiting for %s: %w", id, err)
		}
	}
	out.Result = &res
	if !s.json {
		printResult(s.stdout, res)
	}
	return s.print(out, outcomeErr(res.Outcome))
}

// again decides about a message whose id is taken: a run still going is
// attached to; an ended run that certainly made no OutX task (refused
// without a task: a bad key, a sender the worker lacked) is started again
// under the same id, since "never twice" must not become "never once"; one
// that made a task, or may have (unknown), is attached to, never resent.
func (s *sendFlags) again(ctx context.Context, c client.Client, opts client.StartWorkflowOptions, in workflows.SendMessageInput,
	runID string, out *sendOutput) (client.WorkflowRun, error) {
	existing := func() (client.WorkflowRun, error) {
		out.Existing = true
		return c.GetWorkflow(ctx, opts.ID, runID), nil
	}
	d, err := describe(ctx, c, opts.ID, runID)
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return existing()
	}
	out.ended = true
	// An ended run's Get returns at once: its result, or its failure,
	// which carries the result of a message that was not delivered.
	var res workflows.SendMessageResult
	err = c.GetWorkflow(ctx, opts.ID, runID).Get(ctx, &res)
	earlier, ok := workflows.ResultFromError(err)
	if err == nil || !ok || !earlier.NoTask() {
		return existing()
	}
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.SendMessageWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		// Another starter sent it again a moment ago: that run is the one.
		runID, out.ended = started.RunId, false
		return existing()
	case err != nil:
		return nil, fmt.Errorf("starting %s again: %w%s", workflows.SendMessageWorkflow, err, searchAttributeHint(err))
	}
	out.SentAgain, out.Earlier, out.ended = true, &earlier, false
	return run, nil
}

// progressInterval is how often send --wait asks the run why it waits.
var progressInterval = 2 * time.Second

// pacerWait is why the account's pacer holds the run's request, if it is
// queued there.
func pacerWait(ctx context.Context, c client.Client, queue, sender, workflowID string) (pacer.Wait, bool) {
	v, err := c.QueryWorkflow(ctx, pacer.WorkflowID(queue, sender), "", pacer.QueryStatus)
	if err != nil {
		return pacer.Wait{}, false
	}
	var st pacer.Status
	if v.Get(&st) != nil {
		return pacer.Wait{}, false
	}
	for _, q := range st.Waiting {
		if q.WorkflowID == workflowID && q.Wait.Kind != "" {
			return q.Wait, true
		}
	}
	return pacer.Wait{}, false
}

// senderName is the account the message is sent from.
func (s *sendFlags) senderName() string { return pacer.Or(cmp.Or(s.sender, os.Getenv(envSender))) }

// queryTaskTimeout bounds one progress query: a query waits for a worker.
const queryTaskTimeout = 5 * time.Second

// await waits for the run's outcome. Meanwhile it asks the run every few
// seconds what it does (workflows.QueryTask) and prints each new answer,
// such as why it waits for its account, and warns once if no worker
// serves the task queue: a query fails then, and the run waits for one.
func (s *sendFlags) await(ctx context.Context, c client.Client, run client.WorkflowRun, watch *workerWatch, out *sendOutput) (workflows.SendMessageResult, error) {
	type outcome struct {
		res workflows.SendMessageResult
		err error
	}
	type answer struct {
		p   workflows.TaskProgress
		err error
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan outcome, 1)
	go func() {
		var res workflows.SendMessageResult
		err := run.Get(ctx, &res)
		done <- outcome{res, err}
	}()
	answers := make(chan answer, 1)
	asking := false
	ask := func() {
		if out.ended { // it has its outcome: Get returns at once
			return
		}
		asking = true
		go func() {
			actx, cancel := context.WithTimeout(qctx, queryTaskTimeout)
			defer cancel()
			var p workflows.TaskProgress
			v, err := c.QueryWorkflow(actx, run.GetID(), run.GetRunID(), workflows.QueryTask)
			if err == nil {
				err = v.Get(&p)
			}
			if err == nil && p.Status == "waiting" && p.Wait == nil {
				// Its acquire is still open at the pacer (it lingers for a
				// slot that is near): the pacer says why.
				if w, ok := pacerWait(actx, c, s.taskQueue, s.senderName(), run.GetID()); ok {
					p.Wait, p.Text = &w, workflows.WaitText(s.senderName(), w, time.Now())
				}
			}
			answers <- answer{p, err}
		}()
	}
	ask()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	last := ""
	for {
		select {
		case o := <-done:
			return o.res, o.err
		case a := <-answers:
			asking = false
			switch {
			case a.err != nil:
				// No worker, or one from before the query: only the
				// first says something the user must know.
				if qctx.Err() == nil {
					watch.check(qctx)
				}
			case a.p.Status != "finished" && a.p.Text != "" && a.p.Text != last:
				last = a.p.Text
				p := a.p
				out.Progress = &p
				if !s.json {
					fmt.Fprintf(s.stdout, "  %s\n", p.Text)
				}
			}
		case <-tick.C:
			if !asking {
				ask()
			}
		}
	}
}

// print prints the --json output, and returns err.
func (s *sendFlags) print(out sendOutput, err error) error {
	if s.json {
		enc := json.NewEncoder(s.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	}
	return err
}

// input builds and validates the workflow input from the flags.
func (s *sendFlags) input() (workflows.SendMessageInput, error) {
	msg := s.message
	switch {
	case s.message != "" && s.messageFile != "":
		return workflows.SendMessageInput{}, errors.New("give either --message or --message-file, not both")
	case s.messageFile == "-":
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return workflows.SendMessageInput{}, fmt.Errorf("--message-file -: %w", err)
		}
		msg = string(b)
	case s.messageFile != "":
		f, err := os.Open(s.messageFile)
		if err != nil {
			return workflows.SendMessageInput{}, fmt.Errorf("--message-file: %w", err)
		}
		// Read at most a little past the limit: the path may be a device
		// or a pipe that never ends (its size says nothing).
		b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
		f.Close()
		switch {
		case err != nil:
			return workflows.SendMessageInput{}, fmt.Errorf("--message-file %s: %w", s.messageFile, err)
		case len(b) > 1<<20:
			return workflows.SendMessageInput{}, fmt.Errorf("--message-file %s: more than 1 MiB, far over the %d-character limit", s.messageFile, outx.MaxMessageLength)
		}
		msg = string(b)
	}
	if s.messageFile != "" {
		// Editors end files with a newline the author did not mean to send.
		msg = strings.TrimRight(msg, "\r\n")
	}
	in := workflows.SendMessageInput{
		RecipientURN: s.to,
		Message:      msg,
		SendDeadline: workflows.Duration(s.sendDeadline),
		PollDeadline: workflows.Duration(s.pollDeadline),
		Sender:       cmp.Or(s.sender, os.Getenv(envSender)),
	}
	if in.Sender != "" && !senders.ValidName(in.Sender) {
		return in, fmt.Errorf("--sender: %q is not a sender name: lower-case letters, digits, '-' and '_', at most 63", in.Sender)
	}
	if s.to == "" {
		return in, errors.New("--to: is required (a LinkedIn person URN, urn:li:person:<id>)")
	}
	if !s.fs.Changed("message") && s.messageFile == "" {
		return in, errors.New("--message or --message-file: one is required")
	}
	if err := outx.ValidateSendMessage(outx.SendMessageRequest{RecipientURN: in.RecipientURN, Message: in.Message}); err != nil {
		return in, err
	}
	if s.sendDeadline <= 0 || s.pollDeadline <= 0 {
		return in, errors.New("--send-deadline and --poll-deadline: must be positive")
	}
	return in, nil
}

// sendWorkflowID names a run after what it does: "send-<recipient id>-<hash
// of the text>". The same text to the same person gets the same id. With
// payload encryption on, sendIdentities names it by pseudonyms instead.
func sendWorkflowID(urn, message string) string {
	sum := sha256.Sum256([]byte(message))
	return "send-" + strings.TrimPrefix(urn, "urn:li:person:") + "-" + hex.EncodeToString(sum[:])[:12]
}

func finishText(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func printResult(w io.Writer, r workflows.SendMessageResult) {
	fmt.Fprintf(w, "Outcome: %s\n", r.Outcome)
	if r.TaskID != "" {
		fmt.Fprintf(w, "  OutX task:   %s\n", r.TaskID)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason:      %s\n", r.Reason)
	}
	fmt.Fprintf(w, "  attempts:    %d send(s), %d status poll(s)\n", r.SendAttempts, r.Polls)
	if r.TimeToQueue > 0 || r.TimeToConfirm > 0 {
		fmt.Fprintf(w, "  timings:     queued after %s, confirmed %s later\n", round(r.TimeToQueue), round(r.TimeToConfirm))
	}
}

func round(d workflows.Duration) time.Duration {
	return time.Duration(d).Round(time.Millisecond)
}

// searchAttributeHint explains the fix when the namespace lacks outpace's
// search attributes.
func searchAttributeHint(err error) string {
	if !strings.Contains(err.Error(), "search attribute") {
		return ""
	}
	return "\n  outpace's search attributes are not registered in this namespace; register them with:\n" +
		"    temporal operator search-attribute create --name RecipientUrn --type Keyword\n" +
		"    temporal operator search-attribute create --name CampaignId --type Keyword"
}

func indent(err error) string {
	lines := strings.Split(err.Error(), "\n")
	return "  " + strings.Join(lines, "\n  ")
}
