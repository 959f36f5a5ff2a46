package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/webhooks"
)

// maxStoppedInCampaign bounds the stops a campaign carries through
// continue-as-new.
const maxStoppedInCampaign = 5000

// sequences says whether the campaign runs a sequence per recipient.
func (c *campaign) sequences() bool { return len(c.in.Steps) > 0 }

// parts lists the texts to render per recipient (nil for a one-message
// campaign, which renders Template).
func (c *campaign) parts() []recipients.Part {
	if !c.sequences() {
		return nil
	}
	return StepParts(c.in.Steps)
}

// limits are the campaign's own pacing and window, which the account's
// pacer applies to its messages and steps (one place for every pacing
// rule: the campaign itself waits for nothing but its pause).
func (c *campaign) limits() *CampaignLimits {
	return &CampaignLimits{Pacing: c.in.Pacing, Window: c.in.Window}
}

// sequence starts the recipient's Sequence run, "<campaign id>/<name>", and
// returns once it has started: the run goes on by itself and tells the
// campaign when its first action is over and when it ends. The next
// recipient starts only after that first action, and at most
// MaxActiveSequences run at once.
func (c *campaign) sequence(ctx workflow.Context, r recipients.Prepared, key, name string, paced bool) error {
	c.current = key
	defer func() { c.current = "" }()
	if paced {
		ready := func() bool { return c.st.Paused == "" && c.st.AwaitFirst == "" && c.st.Active < MaxActiveSequences }
		if err := c.waitUntil(ctx, func() bool { return ready() || c.historyFull(ctx) }); err != nil {
			return err
		}
		if !ready() {
			// The wait grew the history (every sequence's events land
			// here): the next run takes this recipient.
			return errContinueAsNew
		}
	}
	in := SequenceInput{
		CampaignID: c.id, Sender: c.in.Sender, RecipientURN: r.RecipientURN, RecipientID: c.recipientID(r.RecipientURN),
		Line: r.Line, Steps: c.in.Steps, Texts: r.Texts, Variants: r.Variants, Problems: r.Problems, CampaignPacing: c.limits(),
		SendDeadline: c.in.SendDeadline, PollDeadline: c.in.PollDeadline, HideURN: c.secret != nil,
		CampaignRun: workflow.GetInfo(ctx).FirstRunID,
		ProfileSlug: r.ProfileSlug, ContactPolicy: c.in.ContactPolicy,
		Events: onlyEvents(c.st.Events, webhooks.SequenceFinished, webhooks.ConnectionNotAccepted, webhooks.MessageUnknown),
	}
	if !paced {
		in.RecipientID = ""
	}
	if r.RecipientURN != "" && slices.Contains(c.st.StoppedURNs, r.RecipientURN) {
		in.Problems = nil
		in.StoppedBefore = "stopped before the campaign reached them"
	}
	// The sequence outlives this run of the campaign (which continues as
	// new) and goes on if the campaign is cancelled; the account's pacer
	// then refuses its further steps.
	_, skipped, err := startOnce(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            c.id + "/" + name,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: childAttributes(c.id, in.RecipientID),
		Memo:                  c.childMemo(r),
		StaticSummary:         fmt.Sprintf("line %d: %s, %d steps", r.Line, key, len(c.in.Steps)),
	}, false, Sequence, in)
	switch {
	case err != nil:
		return err
	case skipped:
		c.logger.Info("Recipient skipped: this campaign already has their sequence", "WorkflowID", c.id+"/"+name)
		c.count(ctx, Skipped)
		c.noteUnrun(UnrunRow{Line: r.Line, Outcome: Skipped, RecipientURN: r.RecipientURN, WorkflowID: c.id + "/" + name})
		return nil
	}
	c.st.Active++
	if paced && in.StoppedBefore == "" {
		c.st.AwaitFirst = name
		c.variantsStarted(r.Variants)
	}
	c.publish(ctx)
	return nil
}

// applyEvent notes what a sequence reports.
func (c *campaign) applyEvent(ctx workflow.Context, ev SequenceEvent) {
	if ev.CampaignRun != "" && ev.CampaignRun != workflow.GetInfo(ctx).FirstRunID {
		// A sequence of an earlier execution under the same id (it was
		// cancelled or stopped, then started again): this one counted
		// that recipient as skipped.
		return
	}
	if ev.Key == c.st.AwaitFirst && (ev.FirstAction || ev.Final) {
		c.st.AwaitFirst = ""
	}
	if ev.Final {
		c.st.Active = max(0, c.st.Active-1)
		c.count(ctx, ev.Outcome)
	}
	if ev.StepEnded != nil {
		c.stepEnded(*ev.StepEnded)
	}
}

// waitSequences waits for every sequence started to end. The sequences'
// events grow the history meanwhile: when it is long, it returns
// errContinueAsNew, and the next run waits on.
func (c *campaign) waitSequences(ctx workflow.Context) error {
	c.allStarted = true
	c.publish(ctx)
	if err := c.waitUntil(ctx, func() bool { return c.st.Active == 0 || c.historyFull(ctx) }); err != nil {
		return err
	}
	if c.st.Active > 0 {
		return errContinueAsNew
	}
	return nil
}

// errContinueAsNew says a wait ended because the history is long: the run
// continues as new where it stands.
var errContinueAsNew = errors.New("continue as new")

// waitUntil blocks, applying signals, until ok holds or the campaign is
// cancelled.
func (c *campaign) waitUntil(ctx workflow.Context, ok func() bool) error {
	sel := workflow.NewSelector(ctx)
	c.addSignals(ctx, sel)
	c.doing = doing{status: StatusRunning}
	defer func() { c.doing = doing{} }()
	for !ok() && !c.cancelled {
		c.publish(ctx)
		sel.Select(ctx)
	}
	if c.cancelled {
		return temporal.NewCanceledError()
	}
	return nil
}

// stopRecipient stops one person in this campaign: the account's pacer
// refuses any further action for them in it, their sequence (if running)
// ends before its next step, and if the campaign has not reached them yet,
// it will not start them.
func (c *campaign) stopRecipient(ctx workflow.Context, r StopRecipientRequest) string {
	r.Campaign = c.id
	if !slices.Contains(c.st.StoppedURNs, r.RecipientURN) {
		c.st.StoppedURNs = append(c.st.StoppedURNs, r.RecipientURN)
		if n := len(c.st.StoppedURNs) - maxStoppedInCampaign; n > 0 {
			c.st.StoppedURNs = slices.Delete(c.st.StoppedURNs, 0, n)
		}
	}
	var done []string
	if err := workflow.SignalExternalWorkflow(ctx, pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, c.in.Sender), "", pacer.StopRecipient, r).Get(ctx, nil); err == nil {
		done = append(done, "the account's pacer refuses their further actions in this campaign")
	}
	if c.sequences() {
		id := c.id + "/" + c.recipientID(r.RecipientURN)
		if err := workflow.SignalExternalWorkflow(ctx, id, "", SignalStopSequence, r).Get(ctx, nil); err == nil {
			done = append(done, "their running sequence ends before its next step")
		}
	}
	done = append(done, "the campaign will not start them")
	c.logger.Info("Recipient stopped in the campaign")
	return "stopped: " + strings.Join(done, "; ")
}

// tellPacer passes the operator's pause, resume or cancel on to the
// account's pacer, which holds the campaign's sequences' steps. closing:
// the run ends next (continue-as-new, cancel), so the signal is waited for,
// since the server drops a signal whose sender has closed.
func (c *campaign) tellPacer(ctx workflow.Context, req pacer.CampaignPause, closing bool) {
	req.Campaign = c.id
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	f := workflow.SignalExternalWorkflow(dctx, pacer.WorkflowID(workflow.GetInfo(ctx).TaskQueueName, c.in.Sender), "", pacer.SignalCampaignPause, req)
	if closing {
		if err := f.Get(dctx, nil); err != nil {
			c.logger.Warn("Could not tell the account's pacer", "Error", err)
		}
	}
}
