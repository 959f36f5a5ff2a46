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

The workflow id is derived from the recipient and the text, so running the
same command twice never sends the same message twice: the second run reports
(and with --wait, waits for) the first. Pass --id to send it again on purpose.
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
	WorkflowID string                       `json:"workflow_id"`
	RunID      string                       `json:"run_id"`
	URL        string                       `json:"url"`
	Existing   bool                         `json:"existing,omitempty"`
	Result     *workflows.SendMessageResult `json:"result,omitempty"`
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
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.RecipientURNAttribute.ValueSet(names[0].recipient)),
		StaticSummary:                            "Message to " + in.RecipientURN,
	}, workflows.SendMessageWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		out.Existing = true
		run = c.GetWorkflow(ctx, id, started.RunId)
	case err != nil:
		return fmt.Errorf("starting %s: %w%s", workflows.SendMessageWorkflow, err, searchAttributeHint(err))
	}
	out.RunID = run.GetRunID()
	out.URL = s.runURL(id, out.RunID)
	if !s.json {
		if out.Existing {
			fmt.Fprintf(s.stdout, "This message to this recipient was already started; not sending it again (pass --id to send it on purpose).\n")
		} else {
			fmt.Fprintf(s.stdout, "Started SendMessage\n")
		}
		fmt.Fprintf(s.stdout, "  workflow id: %s\n  run id:      %s\n  view:        %s\n", out.WorkflowID, out.RunID, out.URL)
	}
	if !s.wait {
		return s.print(out, nil)
	}

	if !s.json {
		fmt.Fprintln(s.stdout, "Waiting for the outcome (Ctrl-C stops waiting, not the workflow)...")
	}
	var res workflows.SendMessageResult
	err = run.Get(ctx, &res)
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
