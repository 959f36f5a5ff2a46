package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/stops"
	"github.com/outpacehq/outpace/workflows"
)

var campaignStopRecipientCommand = command{
	name:    "stop-recipient",
	summary: "stop one person's sequence (they replied)",
	usage: `starter campaign stop-recipient stops one person's sequence in a campaign: no
further step is taken for them, and they end "stopped". Use it when they
replied, or your CRM says to stop. A step already under way (a message queued
at OutX) is not recalled.

With --everywhere, the person is stopped in every campaign of the sender
account, now and in campaigns started later: the account's pacer refuses any
action for them. The sender is --sender, or the campaign's.

Usage:
  starter campaign stop-recipient --campaign ID (--urn URN | --recipient-id ID) [--reason TEXT]
  starter campaign stop-recipient --everywhere (--campaign ID | --sender NAME) --urn URN [--reason TEXT]

--recipient-id is the name of the recipient's run in the campaign
("<campaign>/<recipient id>"; a pseudonym with payload encryption on, see
starter recipient-id).

Exit status: 0 stopped, 1 error (the campaign is not running...), 2 bad input:
nothing was sent.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		s := &stopRecipient{common: o}
		fs.StringVar(&s.campaign, "campaign", "", "campaign id")
		fs.StringVar(&s.urn, "urn", "", "the person's URN, urn:li:person:<id>")
		fs.StringVar(&s.recipientID, "recipient-id", "", "the person's id in the campaign's run names, instead of --urn")
		fs.BoolVar(&s.everywhere, "everywhere", false, "stop them in every campaign of the sender account")
		fs.StringVar(&s.sender, "sender", "", "with --everywhere: the sender account (default: the campaign's)")
		fs.StringVar(&s.reason, "reason", "", "why, e.g. \"replied\"; kept with the stop")
		return s.run
	},
}

type stopRecipient struct {
	*common
	campaign, urn, recipientID, sender, reason string
	everywhere                                 bool
}

// stopOutput is what stop-recipient --json prints.
type stopOutput struct {
	RecipientURN string `json:"recipient_urn"`
	CampaignID   string `json:"campaign_id,omitempty"`
	Sender       string `json:"sender,omitempty"`        // with --everywhere
	WorkflowID   string `json:"workflow_id"`             // the run told: the campaign, or the sender's pacer
	Result       string `json:"result,omitempty"`        // what the workflow answered
	StartedPacer bool   `json:"started_pacer,omitempty"` // the pacer was not running: the stop started it
}

// check validates the flags before anything is dialled or sent.
func (s *stopRecipient) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s.urn, s.recipientID = strings.TrimSpace(s.urn), strings.TrimSpace(s.recipientID)
	switch {
	case s.urn != "" && s.recipientID != "":
		bad("--urn, --recipient-id: give one, not both")
	case s.urn == "" && s.recipientID == "":
		bad("--urn or --recipient-id: one is required")
	case s.urn != "":
		if err := outx.ValidateRecipientURN(s.urn); err != nil {
			bad("--urn: %v", err)
		}
	case s.campaign == "":
		bad("--recipient-id: needs --campaign, whose runs it names")
	}
	switch {
	case s.sender != "" && !s.everywhere:
		bad("--sender: only with --everywhere (a campaign's own stop goes to the campaign)")
	case s.sender != "" && !senders.ValidName(s.sender):
		bad("--sender: %q is not a sender name: lower-case letters, digits, '-' and '_', at most 63", s.sender)
	case s.campaign == "" && !s.everywhere:
		bad("--campaign: is required (or --everywhere with --sender)")
	case s.campaign == "" && s.sender == "":
		bad("--campaign or --sender: one is required with --everywhere, to name the sender account")
	}
	return errors.Join(errs...)
}

func (s *stopRecipient) run(ctx context.Context) error {
	if err := s.check(); err != nil {
		return usagef("nothing was sent:\n%s", indent(err))
	}
	c, err := s.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	var v campaignView
	if s.campaign != "" {
		if v, err = s.describeCampaign(ctx, c, s.campaign); err != nil {
			return fmt.Errorf("%v; nothing was sent", err)
		}
		if v.closed() && !s.everywhere {
			return fmt.Errorf("campaign %s is not running (%s): its sequences are over, nothing was sent", s.campaign, v.WorkflowStatus)
		}
	}
	if s.urn == "" {
		if s.urn, err = s.urnOf(ctx, c); err != nil {
			return fmt.Errorf("%v; nothing was sent", err)
		}
	}
	out := stopOutput{RecipientURN: s.urn, CampaignID: s.campaign}
	st := s.stopper(c)
	var told stops.Told
	if !s.everywhere {
		if told, err = st.InCampaign(ctx, s.campaign, s.urn, s.reason); err != nil {
			return fmt.Errorf("stopping %s in campaign %s: %v", s.urn, s.campaign, rootMessage(err))
		}
	} else {
		if s.sender == "" {
			if s.sender, err = st.CampaignSender(ctx, s.campaign, v.RunID); err != nil {
				return fmt.Errorf("%v; nothing was sent (give --sender)", err)
			}
		}
		if told, err = st.InAccount(ctx, s.sender, s.urn, s.reason); err != nil {
			return fmt.Errorf("stopping %s for sender %s: %v", s.urn, s.sender, rootMessage(err))
		}
		out.Sender = told.Account
	}
	out.WorkflowID, out.Result, out.StartedPacer = told.WorkflowID, told.Result, told.StartedPacer
	if s.json {
		printJSON(s.stdout, out)
		return nil
	}
	w := s.stdout
	if s.everywhere {
		fmt.Fprintf(w, "Stopped %s in every campaign of sender %s.\n", s.urn, s.sender)
		if out.StartedPacer {
			fmt.Fprintf(w, "  The sender's pacer was not running: it was started with the stop, which it keeps.\n")
		}
	} else {
		fmt.Fprintf(w, "Stopped %s in campaign %s.\n", s.urn, s.campaign)
	}
	if out.Result != "" {
		fmt.Fprintf(w, "  %s\n", out.Result)
	}
	fmt.Fprintf(w, "  told: %s\n", out.WorkflowID)
	return nil
}

// stopper sends the stops: the rule is the stops package's, shared with
// the inbound server.
func (s *stopRecipient) stopper(c client.Client) *stops.Stopper {
	return &stops.Stopper{Client: c, TaskQueue: s.taskQueue, DataConverter: s.dataConverter, Encrypted: s.keys != nil}
}

// urnOf finds the URN of --recipient-id from the memo of its run in the
// campaign, where the campaign wrote it (encrypted, when payloads are).
func (s *stopRecipient) urnOf(ctx context.Context, c client.Client) (string, error) {
	id := s.campaign + "/" + s.recipientID
	d, err := describe(ctx, c, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return "", fmt.Errorf("--recipient-id: campaign %s has no run %s (starter recipient-id --campaign %s --urn URN names a recipient's)", s.campaign, id, s.campaign)
	case err != nil:
		return "", fmt.Errorf("--recipient-id: %s: %w", id, err)
	}
	var urn string
	decode(s.dataConverter, d.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoRecipientURN], &urn)
	if urn == "" {
		decodeKeyword(d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.RecipientURNAttribute.GetName()], &urn)
	}
	if outx.ValidateRecipientURN(urn) != nil {
		return "", fmt.Errorf("--recipient-id: run %s does not say whom it is for (no URN in its memo); use --urn", id)
	}
	return urn, nil
}
