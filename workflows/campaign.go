package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// Error types a campaign fails with.
const (
	// ErrInvalidCampaign: the input breaks a rule; nothing was sent.
	ErrInvalidCampaign = "InvalidCampaign"
	// ErrCampaignStopped: OutX refused the account (401, no admin); every
	// further send would fail the same way, so the campaign stops.
	ErrCampaignStopped = "CampaignStopped"
)

// Campaign sends a personalized message (or runs a sequence of steps) for
// each recipient, one after another:
//
//   - each recipient gets one child run (SendMessage, or a Sequence) whose
//     workflow id is the campaign id and the recipient's URN (or, with a
//     recipient_key, its pseudonym), started once (startOnce), so nobody is
//     messaged twice by a campaign: not when listed twice, not when the
//     campaign is restarted or started again under the same id; a run that
//     certainly made no OutX task does not block a later attempt;
//   - every message waits for its account's pacer, which applies the
//     campaign's own gaps (from the previous task's end), caps and sending
//     hours besides the account's: the campaign itself waits only for the
//     previous message and for its pause;
//   - pause, resume (signals), cancel (Temporal cancellation) and the progress
//     query work at any time, across continue-as-new; its status is derived
//     from its state whenever it is read;
//   - it continues as new between pages of recipients (and while it waits
//     for its sequences), carrying only its cursor and counters, so its
//     history stays bounded.
func Campaign(ctx workflow.Context, in CampaignInput) (CampaignProgress, error) {
	c, err := startCampaign(ctx, in)
	if err != nil {
		return CampaignProgress{}, err
	}
	return c.run(ctx)
}

// campaign is one run of a Campaign workflow.
type campaign struct {
	in     CampaignInput
	id     string
	policy pacing.Policy
	secret []byte // the recipient_key; nil: recipients are named by their URNs
	st     CampaignState
	// current is the recipient being handled; doing is what the step that
	// blocks now is doing, set by it and cleared when it returns; the
	// status is derived from these and the state whenever it is read
	// (progress), never remembered from an earlier step.
	current string
	doing   doing
	// childWait is what the message in flight last reported: OutX refusing
	// its send, or its account holding it (a cap, the hours).
	childWait *RecipientWait
	// final is set when the run ends: finished, cancelled or stopped.
	final *doing
	// allStarted: every recipient's sequence has started.
	allStarted bool
	// unstarted: the campaign has not reached its scheduled start (or
	// was cancelled before its first step).
	unstarted           bool
	details             string // the current details last set
	logger              log.Logger
	pause, resume, wait workflow.ReceiveChannel
	events              workflow.ReceiveChannel // SequenceEvents from the campaign's sequences
	stopReq             workflow.ReceiveChannel // stop-recipient sent as a signal
	cancelled           bool
	pacerReq            slotRequester
	// refused is set when a message reports that OutX refuses the account
	// (401, no admin): the campaign stops.
	refused *RecipientWait
	// outxHeld: OutX holds the message in flight (see noteHold).
	outxHeld bool
}

func startCampaign(ctx workflow.Context, in CampaignInput) (*campaign, error) {
	info := workflow.GetInfo(ctx)
	c := &campaign{in: in, id: in.CampaignID, logger: workflow.GetLogger(ctx)}
	if c.id == "" {
		c.id = info.WorkflowExecution.ID
	}
	if in.State == nil {
		err := in.Validate()
		if in.CampaignID == "" {
			err = errors.Join(err, checkCampaignID("workflow id", c.id))
		}
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+err.Error(), ErrInvalidCampaign, nil)
		}
		c.st = CampaignState{Run: 1, StartedAt: workflow.Now(ctx), Variants: initialVariants(in)}
	} else {
		// The state is the campaign's own, but an input is anyone's: a
		// position outside the list would crash every attempt of the run.
		if err := in.State.check(in); err != nil {
			return nil, temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+err.Error(), ErrInvalidCampaign, nil)
		}
		c.st = *in.State
		c.st.Run++
	}
	var err error
	if c.policy, err = in.Policy(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+err.Error(), ErrInvalidCampaign, nil)
	}
	if c.secret, err = in.recipientSecret(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+err.Error(), ErrInvalidCampaign, nil)
	}
	c.doing = doing{status: StatusStarting}
	c.pause = workflow.GetSignalChannel(ctx, SignalPause)
	c.resume = workflow.GetSignalChannel(ctx, SignalResume)
	c.wait = workflow.GetSignalChannel(ctx, SignalRecipientWait)
	c.events = workflow.GetSignalChannel(ctx, SignalSequenceEvent)
	c.stopReq = workflow.GetSignalChannel(ctx, UpdateStopRecipient)
	c.pacerReq = slotRequester{sender: in.Sender, campaign: c.id, onWait: func(w *pacer.Wait) {
		if w == nil {
			c.doing = doing{status: StatusLookingUp, reason: "looking up a profile"}
		} else {
			c.doing = doing{status: waitStatus(w.Kind), reason: WaitText(c.in.Sender, *w, workflow.Now(ctx)) + " (profile look-up)", next: w.NextAt}
		}
		c.publish(ctx)
	}}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (CampaignProgress, error) {
		return c.progress(ctx), nil
	}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateStopRecipient,
		func(ctx workflow.Context, r StopRecipientRequest) (string, error) {
			return c.stopRecipient(ctx, r), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(r StopRecipientRequest) error { return checkStop(r) }},
	); err != nil {
		return nil, err
	}
	// Started by the CLI or the UI without the search attribute: set it, so
	// the campaign is found beside its messages.
	if v, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(CampaignIDAttribute); v != c.id {
		if err := workflow.UpsertTypedSearchAttributes(ctx, CampaignIDAttribute.ValueSet(c.id)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *campaign) run(ctx workflow.Context) (CampaignProgress, error) {
	if c.st.Run == 1 {
		if err := c.awaitStart(ctx); err != nil {
			return c.finish(ctx, err)
		}
		if err := c.inspect(ctx); err != nil {
			c.emitEnd(ctx)
			return c.progress(ctx), err
		}
		c.emit(ctx, webhooks.CampaignStarted, "", "")
		// Started again under the id of a campaign that was cancelled:
		// the account's pacer must no longer refuse it.
		c.tellPacer(ctx, pacer.CampaignPause{Paused: false}, false)
	}
	for {
		page, err := c.load(ctx)
		if err != nil {
			c.emitEnd(ctx)
			return c.progress(ctx), err
		}
		for i, r := range page.Recipients {
			if i < c.st.PageDone {
				continue // handled by an earlier run
			}
			if err := c.handle(ctx, r); errors.Is(err, errContinueAsNew) {
				return c.continueAsNew(ctx)
			} else if err != nil {
				return c.finish(ctx, err)
			}
			c.st.PageDone = i + 1
			if c.st.PageDone < len(page.Recipients) && c.historyFull(ctx) {
				return c.continueAsNew(ctx)
			}
		}
		c.st.Cursor, c.st.PageDone = page.Next, 0
		if page.Done {
			if c.sequences() {
				if err := c.waitSequences(ctx); errors.Is(err, errContinueAsNew) {
					return c.continueAsNew(ctx)
				} else if err != nil {
					return c.finish(ctx, err)
				}
			}
			return c.finish(ctx, nil)
		}
		if c.historyFull(ctx) {
			return c.continueAsNew(ctx)
		}
	}
}

// historyFull says when to continue as new: checked after every recipient,
// so a run ends within one recipient of the limit, whatever the page size.
func (c *campaign) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= c.maxRunEvents()
}

func (c *campaign) maxRunEvents() int {
	if c.in.MaxRunEvents > 0 {
		return c.in.MaxRunEvents
	}
	return DefaultRunEvents
}

// inspect counts the recipients, and for a file checks that it is the one
// the campaign was started with and that it parses.
func (c *campaign) inspect(ctx workflow.Context) error {
	// The account must be one the workers have: a campaign on an account
	// they lack would reach nobody.
	var a *activities.Activities
	var limits activities.SenderLimitsResult
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrUnknownSender}},
		Summary:             "check that the workers have LinkedIn account " + senders.Or(c.in.Sender),
	})
	if err := workflow.ExecuteActivity(sctx, a.SenderLimits, activities.SenderLimitsInput{Sender: c.in.Sender, Campaign: c.id}).Get(ctx, &limits); err != nil {
		c.final = &doing{status: StatusStopped, reason: "sender: " + rootMessage(err)}
		return temporal.NewNonRetryableApplicationError("campaign "+c.id+": sender: "+rootMessage(err)+"; nothing was sent", ErrInvalidCampaign, nil)
	}
	c.st.Events = limits.Events
	if c.in.RecipientsFile == nil {
		c.st.Total = len(c.in.Recipients)
		return nil
	}
	var res activities.InspectResult
	err := workflow.ExecuteActivity(c.fileCtx(ctx, "check the recipients file"), a.InspectRecipients, activities.InspectInput{
		File: c.in.RecipientsFile, Template: c.in.Template, Variants: c.in.Variants, Parts: c.parts(),
	}).Get(ctx, &res)
	if err != nil {
		c.final = &doing{status: StatusStopped, reason: rootMessage(err)}
		return temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+rootMessage(err), ErrInvalidCampaign, nil)
	}
	c.st.Total = res.Rows
	return nil
}

func (c *campaign) fileCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, MaximumInterval: time.Minute},
	})
}

// load reads the next page of recipients with their rendered messages.
func (c *campaign) load(ctx workflow.Context) (recipients.Page, error) {
	limit := c.in.PageSize
	if limit == 0 {
		limit = DefaultPageSize
	}
	in := activities.LoadInput{CampaignID: c.id, File: c.in.RecipientsFile, Template: c.in.Template, Variants: c.in.Variants,
		Parts: c.parts(), Cursor: c.st.Cursor, Limit: limit, Sender: c.in.Sender}
	if in.File == nil {
		from := int(c.st.Cursor.Offset)
		to := min(from+limit, len(c.in.Recipients))
		in.Inline, in.First = c.in.Recipients[from:to], from
		in.Cursor = recipients.Cursor{}
	}
	var a *activities.Activities
	var page recipients.Page
	summary := fmt.Sprintf("read recipients from line %d", max(c.st.Cursor.Line, 2))
	if in.File == nil {
		summary = fmt.Sprintf("render recipients %d to %d", in.First+1, in.First+len(in.Inline))
	}
	if err := workflow.ExecuteActivity(c.fileCtx(ctx, summary), a.LoadRecipients, in).Get(ctx, &page); err != nil {
		c.final = &doing{status: StatusStopped, reason: rootMessage(err)}
		return page, temporal.NewNonRetryableApplicationError("campaign "+c.id+": "+rootMessage(err), ErrInvalidCampaign, nil)
	}
	if in.File == nil {
		next := in.First + len(in.Inline)
		page.Next, page.Done = recipients.Cursor{Offset: int64(next), Line: next + 1}, next >= len(c.in.Recipients)
	}
	return page, nil
}

// handle takes one recipient to a final outcome.
func (c *campaign) handle(ctx workflow.Context, r recipients.Prepared) error {
	send := c.message
	if c.sequences() {
		send = c.sequence
	}
	if len(r.Problems) > 0 {
		return send(ctx, r, invalidKey(r), invalidKey(r), false)
	}
	if r.RecipientURN == "" {
		urn, problem, err := c.lookup(ctx, r)
		if err != nil {
			return err
		}
		if problem != "" {
			r.Problems = []string{problem}
			return send(ctx, r, invalidKey(r), invalidKey(r), false)
		}
		r.RecipientURN = urn
	}
	if !c.sequences() && slices.Contains(c.st.StoppedURNs, r.RecipientURN) {
		c.count(ctx, Stopped)
		c.noteUnrun(UnrunRow{Line: r.Line, Outcome: Stopped, RecipientURN: r.RecipientURN})
		return nil
	}
	return send(ctx, r, r.RecipientURN, c.recipientID(r.RecipientURN), true)
}

// recipientID names a recipient in workflow ids and search attributes,
// which the Temporal server reads in clear: the URN, or with a
// recipient_key its pseudonym. The URN itself then travels only in
// payloads (input, memo, summary), which are encrypted.
func (c *campaign) recipientID(urn string) string {
	if c.secret == nil || urn == "" {
		return urn
	}
	return RecipientPseudonym(c.secret, urn)
}

// invalidKey names an invalid row's child run by its line, never by its URN:
// the URN's own id stays free, so the person is still messaged when a later
// row, or the corrected list started again under the same campaign id, names
// them validly.
func invalidKey(r recipients.Prepared) string {
	return fmt.Sprintf("invalid-line-%d", r.Line)
}

// message runs the recipient's child SendMessage, "<campaign id>/<name>";
// key names the recipient in progress and errors, which are payloads. paced
// is false for an invalid recipient: it makes no OutX task, so it waits for
// nothing.
func (c *campaign) message(ctx workflow.Context, r recipients.Prepared, key, name string, paced bool) error {
	c.current = key
	defer func() {
		c.current, c.doing, c.childWait = "", doing{}, nil
		c.endHold(ctx)
	}()
	if paced {
		if err := c.waitWhilePaused(ctx); err != nil {
			return err
		}
	}
	id := c.id + "/" + name
	// A child id is used once (startOnce), whatever became of it, unless
	// it certainly made no OutX task: this is what makes a restarted or
	// repeated campaign skip who it already messaged. Cancelling the
	// campaign must not cancel a message in flight, and a message whose
	// task is queued must still be confirmed if the campaign is cancelled
	// or terminated.
	fut, skipped, err := startOnce(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: childAttributes(c.id, c.recipientID(r.RecipientURN)),
		Memo:                  c.childMemo(r),
		StaticSummary:         fmt.Sprintf("line %d: %s", r.Line, key),
	}, true, SendMessage, SendMessageInput{
		RecipientURN: r.RecipientURN, Message: r.Message, Problems: r.Problems, CampaignID: c.id, Sender: c.in.Sender,
		CampaignPacing: c.limits(), ProfileSlug: r.ProfileSlug, ContactPolicy: c.in.ContactPolicy,
		SendDeadline: Duration(c.in.SendDeadline.Or(DefaultCampaignSendDeadline)), PollDeadline: c.in.PollDeadline,
		Events: onlyEvents(c.st.Events, webhooks.MessageUnknown),
	})
	switch {
	case err != nil:
		return err
	case skipped:
		c.logger.Info("Recipient skipped: this campaign already messaged them", "WorkflowID", id)
		c.count(ctx, Skipped)
		c.noteUnrun(UnrunRow{Line: r.Line, Outcome: Skipped, RecipientURN: r.RecipientURN, WorkflowID: id})
		return nil
	}
	c.variantsStarted([]string{r.Variant})
	c.doing = doing{status: StatusSending}
	c.publish(ctx)

	var res SendMessageResult
	done := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(fut, func(f workflow.Future) {
		done = true
		if err := f.Get(ctx, &res); err != nil {
			var ok bool
			if res, ok = ResultFromError(err); !ok {
				res = SendMessageResult{Outcome: Unknown, Reason: "the message's run ended without a result: " + rootMessage(err)}
			}
		}
	})
	c.addSignals(ctx, sel)
	for !done && !c.cancelled && c.refused == nil {
		sel.Select(ctx)
	}
	switch {
	case c.cancelled:
		// The child goes on by itself; its outcome is in the report.
		return temporal.NewCanceledError()
	case c.refused != nil:
		// OutX refuses the account itself: every further send would fail
		// the same way. The message goes on waiting, on its own, for the
		// account to be fixed.
		return c.stop(fmt.Sprintf("OutX refused the account while messaging %s: %s", key, c.refused.Reason))
	}

	c.count(ctx, res.Outcome)
	c.messageEnded(r.Variant, res)
	switch res.NotSentCode {
	case activities.ErrUnauthorized, activities.ErrNoAdmin:
		return c.stop(fmt.Sprintf("OutX refused the account while messaging %s: %s", key, res.Reason))
	case activities.ErrExtensionOffline, activities.ErrRateLimited, activities.ErrNotSent:
		// The child retried for its whole send deadline: hold the campaign
		// until a person looks, instead of burning through recipients.
		c.st.Paused = "OutX kept refusing sends for " + c.in.SendDeadline.Or(DefaultCampaignSendDeadline).String() + ": " + res.Reason
	}
	return nil
}

// childAttributes: recipient is the URN or its pseudonym (recipientID).
func childAttributes(campaignID, recipient string) temporal.SearchAttributes {
	if recipient == "" {
		return temporal.NewSearchAttributes(CampaignIDAttribute.ValueSet(campaignID))
	}
	return temporal.NewSearchAttributes(CampaignIDAttribute.ValueSet(campaignID), RecipientURNAttribute.ValueSet(recipient))
}

// childMemo is what the campaign's report reads of a message besides its
// outcome: the line, and when the search attribute holds a pseudonym, the
// URN (memos are payloads, encrypted with the rest).
func (c *campaign) childMemo(r recipients.Prepared) map[string]any {
	memo := map[string]any{MemoLine: r.Line}
	if c.secret != nil && r.RecipientURN != "" {
		memo[MemoRecipientURN] = r.RecipientURN
	}
	switch {
	case r.Variant != "":
		memo[MemoVariant] = r.Variant
	case r.Variants != nil:
		memo[MemoVariants] = r.Variants
	}
	return memo
}

// lookup resolves a profile to a URN with OutX's Fetch Profile: a LinkedIn
// action like a message, so it is paced and counted. problem is set when the
// profile cannot be resolved (the recipient is then invalid).
func (c *campaign) lookup(ctx workflow.Context, r recipients.Prepared) (urn, problem string, err error) {
	var a *activities.Activities
	backoff := lookupBackoffMin
	c.current = r.ProfileSlug
	defer func() { c.current, c.doing = "", doing{} }()
	for {
		if err := c.waitWhilePaused(ctx); err != nil {
			return "", "", err
		}
		c.doing = doing{status: StatusLookingUp, reason: "waiting for account " + senders.Or(c.in.Sender) + "'s pacer to look up profile " + r.ProfileSlug}
		c.publish(ctx)
		held, stopped, err := c.pacerReq.acquire(ctx, pacer.ActionLookup, "", c.in.PollDeadline.Or(DefaultPollDeadline)+time.Hour)
		if err != nil {
			return "", "", err
		}
		if stopped != "" {
			return "", "", c.stop("the account's pacer refuses this campaign: " + stopped)
		}
		c.doing = doing{status: StatusLookingUp, reason: "profile " + r.ProfileSlug}
		c.publish(ctx)
		start := workflow.Now(ctx)
		pollFor := c.in.PollDeadline.Or(DefaultPollDeadline)
		// As for a message's status: each attempt after the first reads the
		// task once, carrying its id in the heartbeat.
		lctx := workflow.WithActivityOptions(ctx, pollOptions(pollFor, "look up profile "+r.ProfileSlug,
			activities.ErrUnauthorized, activities.ErrNoAdmin, activities.ErrExtensionOffline, activities.ErrRateLimited,
			activities.ErrInvalidInput, activities.ErrProfileNotFound, activities.ErrTaskNotFound, activities.ErrUnknownSender))
		var res activities.LookupResult
		err = workflow.ExecuteActivity(lctx, a.LookupProfile, activities.LookupInput{ProfileSlug: r.ProfileSlug, Sender: c.in.Sender, CampaignID: c.id}).Get(ctx, &res)
		noTask := err != nil && noTaskCreated(err)
		held.release(ctx, pacer.Release{Counted: !noTask, Start: start, End: workflow.Now(ctx)})
		if temporal.IsCanceledError(err) {
			return "", "", err
		}
		if err == nil {
			return res.RecipientURN, "", nil
		}
		switch typ := errorType(err); {
		case typ == activities.ErrUnauthorized || typ == activities.ErrNoAdmin || typ == activities.ErrUnknownSender:
			return "", "", c.stop("OutX refused the account while looking up " + r.ProfileSlug + ": " + rootMessage(err))
		case typ == activities.ErrInvalidInput:
			return "", "profile_slug " + r.ProfileSlug + ": OutX refused it: " + rootMessage(err), nil
		case noTask:
			// Extension offline, rate limited, not sent: no task was
			// created; wait and try the same profile again.
			retry := workflow.Now(ctx).Add(backoff)
			c.doing = doing{status: StatusPaused, reason: "OutX: " + rootMessage(err) + "; retrying on its own", next: retry}
			c.publish(ctx)
			if err := c.sleepUntil(ctx, retry, "OutX refused the look-up; retrying"); err != nil {
				return "", "", err
			}
			backoff = min(2*backoff, lookupBackoffMax)
		default:
			// Not found, or the look-up failed for good: the task ended.
			return "", "could not look up profile " + r.ProfileSlug + ": " + rootMessage(err), nil
		}
	}
}

const (
	lookupBackoffMin = time.Minute
	lookupBackoffMax = 30 * time.Minute
)

// waitWhilePaused blocks while the operator's pause holds.
func (c *campaign) waitWhilePaused(ctx workflow.Context) error {
	if c.st.Paused == "" {
		return nil
	}
	sel := workflow.NewSelector(ctx)
	c.addSignals(ctx, sel)
	for c.st.Paused != "" && !c.cancelled {
		sel.Select(ctx)
	}
	if c.cancelled {
		return temporal.NewCanceledError()
	}
	return nil
}

// awaitStart holds a scheduled campaign until its start (StartAt): the
// run's first task comes then (Temporal's start delay), unless a signal or
// a cancellation woke it early. A campaign cancelled before it started
// ends without a step.
func (c *campaign) awaitStart(ctx workflow.Context) error {
	c.unstarted = true
	for c.in.StartAt.After(workflow.Now(ctx)) && ctx.Err() == nil {
		c.doing = doing{status: StatusScheduled, reason: "scheduled to start at " + c.in.StartAt.UTC().Format("Mon 2 Jan 2006 15:04:05 MST"), next: c.in.StartAt}
		c.publish(ctx)
		if err := c.sleepUntil(ctx, c.in.StartAt, "scheduled start"); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return temporal.NewCanceledError()
	}
	c.unstarted, c.doing = false, doing{status: StatusStarting}
	c.st.StartedAt = workflow.Now(ctx)
	return nil
}

// sleepUntil waits on a durable timer until at, or until a pause or resume
// arrives (the caller then re-evaluates), or the campaign is cancelled.
func (c *campaign) sleepUntil(ctx workflow.Context, at time.Time, summary string) error {
	tctx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(tctx, at.Sub(workflow.Now(ctx)), workflow.TimerOptions{Summary: summary})
	fired := false
	paused := c.st.Paused
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(workflow.Future) { fired = true })
	c.addSignals(ctx, sel)
	for !fired && !c.cancelled && c.st.Paused == paused {
		sel.Select(ctx)
	}
	if c.cancelled {
		return temporal.NewCanceledError()
	}
	return nil
}

// addSignals makes sel apply the campaign's signals and notice cancellation.
func (c *campaign) addSignals(ctx workflow.Context, sel workflow.Selector) {
	// Each payload is decoded into a fresh value (declared inside the
	// callback): a field one signal omits never keeps another's value.
	sel.AddReceive(c.pause, func(ch workflow.ReceiveChannel, _ bool) {
		var p PauseRequest
		ch.Receive(ctx, &p)
		c.applyPause(p)
		c.tellPacer(ctx, pacer.CampaignPause{Paused: true, Reason: c.st.Paused}, false)
		c.emit(ctx, webhooks.CampaignPaused, c.st.Paused, strconv.Itoa(c.st.Pauses))
		c.publish(ctx)
	})
	sel.AddReceive(c.resume, func(ch workflow.ReceiveChannel, _ bool) {
		ch.Receive(ctx, nil)
		if c.st.Paused != "" {
			c.emit(ctx, webhooks.CampaignResumed, "", strconv.Itoa(c.st.Pauses))
		}
		c.applyResume()
		c.tellPacer(ctx, pacer.CampaignPause{Paused: false}, false)
		c.publish(ctx)
	})
	sel.AddReceive(c.wait, func(ch workflow.ReceiveChannel, _ bool) {
		var w RecipientWait
		ch.Receive(ctx, &w)
		c.applyWait(ctx, w)
		c.publish(ctx)
	})
	sel.AddReceive(c.events, func(ch workflow.ReceiveChannel, _ bool) {
		var ev SequenceEvent
		ch.Receive(ctx, &ev)
		c.applyEvent(ctx, ev)
		c.publish(ctx)
	})
	sel.AddReceive(c.stopReq, func(ch workflow.ReceiveChannel, _ bool) {
		var r StopRecipientRequest
		ch.Receive(ctx, &r)
		if checkStop(r) == nil {
			c.stopRecipient(ctx, r)
		}
		c.publish(ctx)
	})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { c.cancelled = true })
}

func (c *campaign) applyPause(p PauseRequest) {
	reason := "paused by operator"
	if p.Reason != "" {
		reason += ": " + p.Reason
	}
	if c.st.Paused == "" {
		c.st.Pauses++
	}
	c.st.Paused = reason
	c.logger.Info("Campaign paused", "Reason", reason)
}

func (c *campaign) applyResume() {
	if c.st.Paused != "" {
		c.logger.Info("Campaign resumed")
	}
	c.st.Paused = ""
}

func (c *campaign) applyWait(ctx workflow.Context, w RecipientWait) {
	was, _ := c.hold()
	defer c.noteHold(ctx, was)
	switch {
	case w.Code == activities.ErrUnauthorized || w.Code == activities.ErrNoAdmin:
		c.refused = &w
	case w.Code == "":
		c.childWait = nil
	default:
		c.childWait = &w
	}
}

// doing is what the campaign's current step does, for its status.
type doing struct {
	status CampaignStatus
	reason string
	next   time.Time
}

// status derives what the campaign does now from its state: ended, paused,
// the step in progress, the message in flight and what it reported, the
// sequences it waits for. Nothing here is remembered from an earlier step,
// so a resume or a step's end shows at once.
func (c *campaign) status() doing {
	if c.final != nil {
		return *c.final
	}
	d := c.doing
	if d.status == StatusSending && c.childWait != nil {
		w := c.childWait
		switch w.Code {
		case WaitForAccount:
			d = doing{status: waitStatus(w.Kind), reason: w.Reason, next: w.RetryAt}
		case activities.ErrContactsUnavailable:
			d = doing{status: StatusPaused, next: w.RetryAt,
				reason: fmt.Sprintf("%s; the message to %s waits for it, retrying on its own", w.Reason, w.RecipientURN)}
		default:
			d = doing{status: StatusPaused, next: w.RetryAt,
				reason: fmt.Sprintf("OutX refused the send to %s without creating a task (%s); retrying on its own", w.RecipientURN, w.Reason)}
		}
	}
	if c.st.Paused != "" {
		if d.status == StatusSending || d.status == StatusLookingUp {
			return doing{status: d.status, reason: "pausing once this OutX task ends (" + c.st.Paused + ")"}
		}
		return doing{status: StatusPaused, reason: c.st.Paused}
	}
	if c.sequences() && (d.status == "" || d.status == StatusRunning) {
		switch {
		case c.st.AwaitFirst != "":
			return doing{status: StatusRunning, reason: "waiting for " + c.st.AwaitFirst + "'s first step before starting the next recipient"}
		case c.st.Active >= MaxActiveSequences:
			return doing{status: StatusRunning, reason: fmt.Sprintf("%d sequences in progress, the most at once; the next recipient starts when one ends", c.st.Active)}
		case c.allStarted:
			return doing{status: StatusRunning, reason: "every recipient has started; waiting for their sequences to end"}
		}
		return doing{status: StatusRunning}
	}
	if d.status == "" {
		d.status = StatusSending // between two recipients
	}
	return d
}

// noteUnrun remembers a row that ended without a run of its own, for the
// report (at most MaxUnrunRows; the rest are counted).
func (c *campaign) noteUnrun(u UnrunRow) {
	if len(c.st.Unrun) >= MaxUnrunRows {
		c.st.UnrunMore++
		return
	}
	c.st.Unrun = append(c.st.Unrun, u)
}

// waitStatus is the campaign status of a wait for the account's pacer.
func waitStatus(kind string) CampaignStatus {
	switch kind {
	case pacer.WaitHourlyCap:
		return StatusHourlyCap
	case pacer.WaitDailyCap, pacer.WaitWeeklyCap:
		return StatusDailyCap
	case pacer.WaitWindow:
		return StatusOutsideWindow
	case pacer.WaitPaused, pacer.WaitAccountPaused, pacer.WaitInvitationLimit, pacer.WaitPendingInvitations:
		return StatusPaused
	case pacer.WaitSpacing:
		return StatusSpacing
	}
	return StatusSending
}

// publish keeps the campaign's current details in the Temporal UI in step
// with its progress.
func (c *campaign) publish(ctx workflow.Context) {
	p := c.progress(ctx)
	text := fmt.Sprintf("**%s**", p.Status)
	if p.Reason != "" {
		text += ": " + p.Reason
	}
	if p.Current != "" {
		text += "\n\nCurrent: " + p.Current
	}
	if !p.NextSendAt.IsZero() {
		text += "\n\nNext: " + p.NextSendAt.UTC().Format("Mon 2 Jan 15:04 MST")
	}
	text += fmt.Sprintf("\n\n%d of %d done (%d delivered", p.Counts.Done(), p.Total, p.Counts.Delivered)
	if p.Counts.Skipped > 0 {
		text += fmt.Sprintf(", %d skipped", p.Counts.Skipped)
	}
	if p.Counts.Excluded > 0 {
		text += fmt.Sprintf(", %d excluded", p.Counts.Excluded)
	}
	text += ")"
	if p.Active > 0 {
		text += fmt.Sprintf(", %d sequences in progress", p.Active)
	}
	if text != c.details {
		c.details = text
		workflow.SetCurrentDetails(ctx, text)
	}
}

func (c *campaign) progress(ctx workflow.Context) CampaignProgress {
	d := c.status()
	p := CampaignProgress{Status: d.status, Reason: d.reason, NextSendAt: d.next, Current: c.current}
	if c.final != nil {
		p.Current = ""
	}
	p.CampaignID, p.Name, p.Run, p.StartedAt = c.id, c.in.Name, c.st.Run, c.st.StartedAt
	p.Counts, p.Total, p.Active, p.Sender = c.st.Counts, c.st.Total, c.st.Active, senders.Or(c.in.Sender)
	p.Unrun, p.UnrunMore = c.st.Unrun, c.st.UnrunMore
	p.Variants, p.ScheduledAt = c.st.Variants, c.in.StartAt
	p.Pending = max(0, p.Total-p.Counts.Done())
	p.UpdatedAt = workflow.Now(ctx)
	p.Window = c.policy.Window.String()
	p.Spacing = fmt.Sprintf("%s–%s after each task", c.policy.MinGap, c.policy.MaxGap)
	if c.policy.HourlyCap > 0 {
		p.Spacing += fmt.Sprintf(", at most %d an hour", c.policy.HourlyCap)
	}
	if c.policy.DailyCap > 0 {
		p.Spacing += fmt.Sprintf(", %d a day", c.policy.DailyCap)
	}
	return p
}

func (c *campaign) stop(reason string) error {
	c.final = &doing{status: StatusStopped, reason: reason}
	return temporal.NewNonRetryableApplicationError("campaign "+c.id+" stopped: "+reason+
		"; fix it, then start the campaign again with the same id: recipients already handled are skipped",
		ErrCampaignStopped, nil)
}

// finish ends the run: completed, cancelled or stopped, and says so to
// the webhooks.
func (c *campaign) finish(ctx workflow.Context, err error) (CampaignProgress, error) {
	p, err := c.end(ctx, err)
	c.emitEnd(ctx)
	return p, err
}

func (c *campaign) end(ctx workflow.Context, err error) (CampaignProgress, error) {
	switch {
	case err == nil:
		c.final = &doing{status: StatusFinished}
		c.logger.Info("Campaign finished", "Counts", c.st.Counts)
		return c.progress(ctx), nil
	case temporal.IsCanceledError(err) && c.unstarted:
		// Nothing was sent, nothing asked of the account's pacer.
		c.final = &doing{status: StatusCancelled, reason: "cancelled before its scheduled start; nothing was sent"}
		p := c.progress(ctx)
		return p, temporal.NewCanceledError(p)
	case temporal.IsCanceledError(err):
		c.tellPacer(ctx, pacer.CampaignPause{Cancelled: true}, true)
		c.final = &doing{status: StatusCancelled, reason: "cancelled; the message in flight, if any, is still confirmed"}
		p := c.progress(ctx)
		return p, temporal.NewCanceledError(p)
	default:
		if c.final == nil {
			c.final = &doing{status: StatusStopped, reason: rootMessage(err)}
		}
		return c.progress(ctx), err
	}
}

// continueAsNew starts the next run with the cursor, counters, pacing state
// and any signal not yet applied.
func (c *campaign) continueAsNew(ctx workflow.Context) (CampaignProgress, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return c.finish(ctx, err)
	}
	for {
		// Fresh values each time round: nothing carries over.
		var p PauseRequest
		var ev SequenceEvent
		var sr StopRecipientRequest
		switch {
		case c.events.ReceiveAsync(&ev):
			c.applyEvent(ctx, ev)
		case c.stopReq.ReceiveAsync(&sr):
			if checkStop(sr) == nil {
				c.stopRecipient(ctx, sr)
			}
		case c.pause.ReceiveAsync(&p):
			c.applyPause(p)
			c.tellPacer(ctx, pacer.CampaignPause{Paused: true, Reason: c.st.Paused}, true)
		case c.resume.ReceiveAsync(nil):
			c.applyResume()
			c.tellPacer(ctx, pacer.CampaignPause{Paused: false}, true)
		case c.wait.ReceiveAsync(nil):
		default:
			next := c.in
			st := c.st
			next.State = &st
			c.logger.Info("Campaign continues as new", "Run", c.st.Run, "Cursor", c.st.Cursor)
			return CampaignProgress{}, workflow.NewContinueAsNewError(ctx, Campaign, next)
		}
	}
}

// emit writes one of the campaign's own events, if the worker's endpoints
// take it (see emitEvent).
func (c *campaign) emit(ctx workflow.Context, typ, reason, part string) {
	emitEvent(ctx, c.st.Events, webhooks.Event{Type: typ, Account: senders.Or(c.in.Sender), Campaign: c.id, Reason: reason},
		campaignEventData{Total: c.st.Total, Counts: c.st.Counts}, part)
}

// emitEnd writes campaign.finished, or campaign.stopped with the reason
// (cancelled too).
func (c *campaign) emitEnd(ctx workflow.Context) {
	switch {
	case c.final == nil:
	case c.final.status == StatusFinished:
		c.emit(ctx, webhooks.CampaignFinished, "", "")
	default:
		c.emit(ctx, webhooks.CampaignStopped, string(c.final.status)+": "+c.final.reason, "")
	}
}

// campaignEventData is the data of a campaign's events.
type campaignEventData struct {
	Total  int    `json:"total"`
	Counts Counts `json:"counts"`
}

// hold is what holds the message in flight, as the webhooks tell it:
// holdOutX when OutX refused its send without a task or its account's
// pacer paused the account (OutX's push-back, or a person), holdLimit
// when the account waits for a limit (a cap, its hours, its pending
// invitations), "" otherwise.
func (c *campaign) hold() (kind string, w *RecipientWait) {
	w = c.childWait
	switch {
	case w == nil || w.Code == activities.ErrContactsUnavailable:
		return "", nil
	case w.Code != WaitForAccount, w.Kind == pacer.WaitAccountPaused, w.Kind == pacer.WaitInvitationLimit:
		return holdOutX, w
	case w.Kind == pacer.WaitHourlyCap, w.Kind == pacer.WaitDailyCap, w.Kind == pacer.WaitWeeklyCap,
		w.Kind == pacer.WaitWindow, w.Kind == pacer.WaitPendingInvitations:
		return holdLimit + ":" + w.Kind, w
	}
	return "", nil
}

const (
	holdOutX  = "outx"
	holdLimit = "limit"
)

// noteHold writes the webhook events of a change of hold (was: the hold
// before the change): campaign.paused when OutX starts holding the
// message in flight (outxHeld then stays set until that message ends: its
// waits alternate with retries), account.waiting when a limit starts
// holding it.
func (c *campaign) noteHold(ctx workflow.Context, was string) {
	now, w := c.hold()
	if now == was {
		return
	}
	switch {
	case now == holdOutX && !c.outxHeld:
		c.outxHeld = true
		c.st.OutXPauses++
		reason := w.Reason
		if w.Code != WaitForAccount {
			reason = "OutX refused the send to " + w.RecipientURN + " without creating a task (" + w.Reason + "); retrying on its own"
		}
		c.emit(ctx, webhooks.CampaignPaused, reason, "outx-"+strconv.Itoa(c.st.OutXPauses))
	case len(now) > len(holdLimit) && now[:len(holdLimit)] == holdLimit:
		c.st.Waits++
		c.emit(ctx, webhooks.AccountWaiting, w.Reason, "wait-"+strconv.Itoa(c.st.Waits))
	}
}

// endHold is the end of the message in flight: OutX's hold, if any, is
// over (the message was sent, or ended otherwise and the campaign goes on).
func (c *campaign) endHold(ctx workflow.Context) {
	if c.outxHeld {
		c.outxHeld = false
		c.emit(ctx, webhooks.CampaignResumed, "the message OutX held has ended; the campaign goes on", "outx-"+strconv.Itoa(c.st.OutXPauses))
	}
}
