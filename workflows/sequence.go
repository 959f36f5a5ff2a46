package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/webhooks"
)

// SequenceInput is the input of a Sequence run: one recipient of a
// campaign, the campaign's steps and each step's text already rendered.
type SequenceInput struct {
	CampaignID   string `json:"campaign_id"`
	Sender       string `json:"sender,omitempty"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	// RecipientID names the recipient in the step runs' workflow ids and
	// search attributes: the URN, or with a recipient_key its pseudonym.
	RecipientID string `json:"recipient_id,omitempty"`
	Line        int    `json:"line,omitempty"`
	Steps       []Step `json:"steps"`
	// Texts holds each step's rendered text, aligned with Steps ("" for a
	// step without one).
	Texts []string `json:"texts,omitempty"`
	// Variants names the variant of each step's text drawn for this
	// recipient, aligned with Steps ("" for a step without variants); nil
	// when no step has variants.
	Variants []string `json:"variants,omitempty"`
	// Problems make the recipient invalid: no step runs.
	Problems []string `json:"problems,omitempty"`
	// StoppedBefore: the recipient was stopped before the campaign reached
	// them; the sequence ends stopped at once.
	StoppedBefore  string          `json:"stopped_before,omitempty"`
	CampaignPacing *CampaignLimits `json:"campaign_pacing,omitempty"`
	SendDeadline   Duration        `json:"send_deadline,omitzero"`
	PollDeadline   Duration        `json:"poll_deadline,omitzero"`
	// HideURN: the URN must not appear in step runs' ids or summaries
	// (payload encryption is on), only in their encrypted payloads.
	HideURN bool `json:"hide_urn,omitempty"`
	// CampaignRun is the first run id of the campaign's chain of runs;
	// the sequence's events carry it, so that a campaign started again
	// under the same id ignores the sequences of its earlier execution.
	CampaignRun string `json:"campaign_run,omitempty"`
	// ProfileSlug is the recipient's slug when the campaign looked them
	// up; ContactPolicy is the campaign's. Both go to every step's claim
	// in the contacts store.
	ProfileSlug   string         `json:"profile_slug,omitempty"`
	ContactPolicy *ContactPolicy `json:"contact_policy,omitempty"`
	// Events are the webhook event types the worker's endpoints take for
	// the campaign (see emitEvent).
	Events []string `json:"events,omitempty"`
}

// SequenceResult is a Sequence run's result.
type SequenceResult struct {
	RecipientURN string       `json:"recipient_urn,omitempty"`
	Outcome      Outcome      `json:"outcome"`
	Reason       string       `json:"reason,omitempty"`
	Reached      int          `json:"reached"` // the last step started, 1-based (0: none)
	Steps        []StepResult `json:"steps"`
	StartedAt    time.Time    `json:"started_at"`
	FinishedAt   time.Time    `json:"finished_at"`
}

// SequenceEvent is what a Sequence tells its campaign.
type SequenceEvent struct {
	Key string `json:"key"` // the sequence's name in the campaign (its workflow id's last part)
	// FirstAction: the first step that acts on LinkedIn is over; the
	// campaign may start the next recipient.
	FirstAction bool `json:"first_action,omitempty"`
	// Final: the sequence ended with Outcome.
	Final       bool    `json:"final,omitempty"`
	Outcome     Outcome `json:"outcome,omitempty"`
	CampaignRun string  `json:"campaign_run,omitempty"`
	// StepEnded: a step the campaign counts by variant ended (told only
	// by a sequence with variants).
	StepEnded *StepEnded `json:"step_ended,omitempty"`
}

// StepEnded is a step of a sequence with variants that ended: a message or
// connection request, or a wait for the connection.
type StepEnded struct {
	Step    int      `json:"step"` // 1-based
	Type    StepType `json:"type"`
	Outcome Outcome  `json:"outcome"`
	// Sent: the step made its OutX task, or may have.
	Sent bool `json:"sent,omitempty"`
	// Variants are the sequence's (SequenceInput.Variants).
	Variants []string `json:"variants"`
}

// SequenceProgress answers QuerySequence.
type SequenceProgress struct {
	Step    int          `json:"step"` // the step in progress, 1-based
	Of      int          `json:"of"`
	Status  string       `json:"status"`
	Until   time.Time    `json:"until,omitzero"`
	Stopped string       `json:"stopped,omitempty"`
	Steps   []StepResult `json:"steps"`
}

// Sequence takes one recipient of a campaign through the campaign's steps,
// in order: each message or connection request is a child run (paced by the
// account's pacer, named "<sequence id>/<n>-<type>" and started once, so a
// step is never sent twice), waits are durable timers, and a connection is
// awaited by paced checks. A step runs only if the ones before it
// succeeded. A stop (SignalStopSequence) ends it before its next step.
func Sequence(ctx workflow.Context, in SequenceInput) (SequenceResult, error) {
	s, err := newSequence(ctx, in)
	if err != nil {
		return SequenceResult{}, err
	}
	res, err := s.run(ctx)
	if err != nil && !s.toldFinal {
		// Failed or cancelled before its end was told: the campaign must
		// not wait for it forever.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		s.tell(dctx, SequenceEvent{Final: true, Outcome: Unknown})
	}
	return res, err
}

func newSequence(ctx workflow.Context, in SequenceInput) (*sequence, error) {
	// The run's id, as the campaign named it; from the input, so that a
	// replay (which may not know the id) names the step runs the same.
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if in.CampaignID != "" && in.RecipientID != "" {
		id = in.CampaignID + "/" + in.RecipientID
	}
	s := &sequence{in: in, id: id,
		res:  SequenceResult{RecipientURN: in.RecipientURN, StartedAt: workflow.Now(ctx), Steps: []StepResult{}},
		stop: workflow.GetSignalChannel(ctx, SignalStopSequence)}
	s.req = slotRequester{sender: in.Sender, campaign: in.CampaignID}
	return s, workflow.SetQueryHandler(ctx, QuerySequence, func() (SequenceProgress, error) {
		p := s.now
		p.Of, p.Steps, p.Stopped = len(in.Steps), s.res.Steps, s.stopped
		return p, nil
	})
}

// run takes the recipient through the steps, in order.
func (s *sequence) run(ctx workflow.Context) (SequenceResult, error) {
	in := s.in
	switch {
	case len(in.Problems) > 0:
		return s.finish(ctx, Invalid, strings.Join(in.Problems, "; "))
	case in.StoppedBefore != "":
		return s.finish(ctx, Stopped, in.StoppedBefore)
	case len(in.Steps) == 0 || (len(in.Texts) > 0 && len(in.Texts) != len(in.Steps)):
		return s.finish(ctx, Invalid, "steps: the sequence has no steps, or its texts do not match them")
	}
	for i, step := range in.Steps {
		s.pollStop()
		if s.stopped != "" {
			return s.finish(ctx, Stopped, s.stopped)
		}
		s.res.Reached = i + 1
		s.now = SequenceProgress{Step: i + 1, Status: string(step.Type)}
		if !s.toldFirst && (step.Type == StepWait || step.Type == StepWaitForConnection) {
			// Nothing to pace before a wait: the campaign need not hold
			// its next recipient for it.
			s.toldFirst = true
			s.tell(ctx, SequenceEvent{FirstAction: true})
		}
		r, err := s.step(ctx, i, step)
		if err != nil {
			return s.res, err
		}
		r.Step, r.Type, r.Name, r.At = i+1, step.Type, step.Name, workflow.Now(ctx)
		s.res.Steps = append(s.res.Steps, r)
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoSteps: s.res.Steps}); err != nil {
			return s.res, err
		}
		if !s.toldFirst && (step.Type == StepMessage || step.Type == StepConnect) {
			s.toldFirst = true
			s.tell(ctx, SequenceEvent{FirstAction: true})
		}
		s.tellVariants(ctx, i, step, r)
		if !r.Outcome.succeeded() {
			return s.finish(ctx, r.Outcome, fmt.Sprintf("step %d (%s): %s", i+1, stepLabel(step, i), r.Reason))
		}
	}
	return s.finish(ctx, Delivered, "")
}

type sequence struct {
	in        SequenceInput
	id        string
	res       SequenceResult
	now       SequenceProgress
	req       slotRequester
	stop      workflow.ReceiveChannel
	stopped   string
	toldFirst bool
	toldFinal bool
	// alreadyConnected: a connect step found the person a connection.
	alreadyConnected bool
}

func stepLabel(step Step, i int) string {
	if step.Name != "" {
		return step.Name
	}
	return string(step.Type)
}

func (s *sequence) step(ctx workflow.Context, i int, step Step) (StepResult, error) {
	switch step.Type {
	case StepMessage, StepConnect:
		return s.action(ctx, i, step)
	case StepWait:
		until := s.waitEnd(workflow.Now(ctx), step)
		s.now.Until = until
		if err := s.sleepUntil(ctx, until, fmt.Sprintf("step %d: wait %s", i+1, waitText(step))); err != nil {
			return StepResult{}, err
		}
		if s.stopped != "" {
			return StepResult{Outcome: Stopped, Reason: s.stopped}, nil
		}
		return StepResult{Outcome: Done, Reason: "waited " + waitText(step)}, nil
	case StepWaitForConnection:
		return s.waitForConnection(ctx, i, step)
	}
	return StepResult{Outcome: Invalid, Reason: fmt.Sprintf("unknown step type %q", step.Type)}, nil
}

func waitText(step Step) string {
	d := time.Duration(step.Duration)
	text := d.String()
	if d%(24*time.Hour) == 0 {
		text = fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	if step.SendingDaysOnly {
		text += " (sending days)"
	}
	return text
}

// action runs a message or connection request step as a child run.
func (s *sequence) action(ctx workflow.Context, i int, step Step) (StepResult, error) {
	text := ""
	if i < len(s.in.Texts) {
		text = s.in.Texts[i]
	}
	name := fmt.Sprintf("%d-%s", i+1, step.Type)
	who := s.in.RecipientURN
	if s.in.HideURN {
		who = s.in.RecipientID
	}
	memo := map[string]any{MemoLine: s.in.Line}
	if s.in.HideURN {
		memo[MemoRecipientURN] = s.in.RecipientURN
	}
	if v := s.variant(i); v != "" {
		memo[MemoVariant] = v
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            s.id + "/" + name,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: childAttributes(s.in.CampaignID, s.in.RecipientID),
		Memo:                  memo,
		StaticSummary:         fmt.Sprintf("line %d: step %d (%s) for %s", s.in.Line, i+1, stepLabel(step, i), who),
	}
	var input any
	var wf any
	if step.Type == StepMessage {
		wf, input = SendMessage, SendMessageInput{
			RecipientURN: s.in.RecipientURN, Message: text, Sender: s.in.Sender, CampaignID: s.in.CampaignID,
			CampaignPacing: s.in.CampaignPacing, Step: i + 1,
			SendDeadline: Duration(s.in.SendDeadline.Or(DefaultCampaignSendDeadline)), PollDeadline: s.in.PollDeadline,
			StepName: ledgerStep(i, step), ProfileSlug: s.in.ProfileSlug, ContactPolicy: s.in.ContactPolicy,
			Events: onlyEvents(s.in.Events, webhooks.MessageUnknown),
		}
	} else {
		wf, input = SendConnectionRequest, ConnectionRequestInput{
			ProfileURN: s.in.RecipientURN, Note: strings.TrimFunc(text, outx.IsJSWhitespace), Sender: s.in.Sender, CampaignID: s.in.CampaignID,
			CampaignPacing: s.in.CampaignPacing,
			SendDeadline:   Duration(s.in.SendDeadline.Or(DefaultCampaignSendDeadline)), PollDeadline: s.in.PollDeadline,
			StepName: ledgerStep(i, step), ProfileSlug: s.in.ProfileSlug, ContactPolicy: s.in.ContactPolicy,
		}
	}
	fut, skipped, err := startOnce(ctx, opts, true, wf, input)
	switch {
	case err != nil:
		return StepResult{}, err
	case skipped:
		// Only a run of this same sequence can have started it: the step
		// was taken before; never take it twice.
		return StepResult{Outcome: Unknown, Reason: "this step was already started by an earlier run; not sent again"}, nil
	}
	var res SendMessageResult
	if err := fut.Get(ctx, &res); err != nil {
		var ok bool
		if res, ok = ResultFromError(err); !ok {
			res = SendMessageResult{Outcome: Unknown, Reason: "the step's run ended without a result: " + rootMessage(err)}
		}
	}
	if res.AlreadyConnected {
		s.alreadyConnected = true
	}
	return StepResult{Outcome: res.Outcome, Reason: res.Reason, TaskID: res.TaskID}, nil
}

// ledgerStep names a step in the contacts store's ledger: its number and
// type, as in its run's workflow id, and its name when it has one.
func ledgerStep(i int, step Step) string {
	s := fmt.Sprintf("%d-%s", i+1, step.Type)
	if step.Name != "" {
		s += " (" + step.Name + ")"
	}
	return s
}

// waitEnd is when a wait step started at from ends. Counted in sending days,
// each whole day of the duration is a day the campaign's window is open.
func (s *sequence) waitEnd(from time.Time, step Step) time.Time {
	d := time.Duration(step.Duration)
	if !step.SendingDaysOnly {
		return from.Add(d)
	}
	limits := CampaignLimits{}
	if s.in.CampaignPacing != nil {
		limits = *s.in.CampaignPacing
	}
	pol, err := limits.Policy()
	if err != nil {
		return from.Add(d)
	}
	w := pol.Window
	t := from.In(w.Location)
	days := int(d / (24 * time.Hour))
	for n := 0; n < days; {
		t = t.AddDate(0, 0, 1)
		if w.Days[t.Weekday()] {
			n++
		}
	}
	return t.Add(d % (24 * time.Hour))
}

// waitForConnection checks, every CheckEvery, whether the recipient has
// accepted; each check is an OutX task, paced by the account's pacer.
func (s *sequence) waitForConnection(ctx workflow.Context, i int, step Step) (StepResult, error) {
	if s.alreadyConnected {
		return StepResult{Outcome: Connected, Reason: "already a 1st-degree connection"}, nil
	}
	var a *activities.Activities
	every := step.CheckEvery.Or(DefaultConnectionCheckEvery)
	timeout := step.Timeout.Or(DefaultConnectionTimeout)
	deadline := workflow.Now(ctx).Add(timeout)
	pollFor := s.in.PollDeadline.Or(DefaultPollDeadline)
	checks := 0
	for {
		next := workflow.Now(ctx).Add(every)
		if next.After(deadline) {
			next = deadline
		}
		s.now.Status, s.now.Until = "waiting for the connection to be accepted", next
		if err := s.sleepUntil(ctx, next, fmt.Sprintf("step %d: next connection check (gives up %s)", i+1, deadline.Format(time.RFC3339))); err != nil {
			return StepResult{}, err
		}
		if s.stopped != "" {
			return StepResult{Outcome: Stopped, Reason: s.stopped}, nil
		}
		held, stopped, err := s.req.acquire(ctx, pacer.ActionLookup, s.in.RecipientURN, pollFor+time.Hour)
		if err != nil {
			return StepResult{}, err
		}
		if stopped != "" {
			return StepResult{Outcome: Stopped, Reason: stopped}, nil
		}
		checks++
		lctx := workflow.WithActivityOptions(ctx, pollOptions(pollFor, fmt.Sprintf("check %d: has the recipient accepted?", checks),
			activities.ErrUnauthorized, activities.ErrNoAdmin, activities.ErrExtensionOffline,
			activities.ErrRateLimited, activities.ErrInvalidInput, activities.ErrTaskNotFound, activities.ErrUnknownSender,
			activities.ErrConnectionsUnreadable))
		var res activities.CheckConnectionResult
		err = workflow.ExecuteActivity(lctx, a.CheckConnection, activities.CheckConnectionInput{
			Sender: s.in.Sender, ProfileURN: s.in.RecipientURN, CampaignID: s.in.CampaignID, Step: fmt.Sprintf("%s check %d", ledgerStep(i, step), checks),
		}).Get(ctx, &res)
		// A check that finds the person connected tells the pacer their
		// invitation is no longer pending.
		held.release(ctx, pacer.Release{Counted: err == nil || !noTaskCreated(err), End: workflow.Now(ctx),
			Connected: err == nil && res.Connected})
		switch {
		case err == nil && res.Connected:
			if res.Unrecorded != nil {
				s.recordCheck(ctx, *res.Unrecorded)
			}
			return StepResult{Outcome: Connected, Reason: fmt.Sprintf("accepted (check %d)", checks), TaskID: res.TaskID}, nil
		case err != nil:
			workflow.GetLogger(ctx).Warn("Connection check failed; checking again later", "Error", err)
		}
		if !workflow.Now(ctx).Before(deadline) {
			why := fmt.Sprintf("not accepted within %s (%d checks)", timeout, checks)
			if err != nil {
				why += "; the last check failed: " + rootMessage(err)
			}
			s.emit(ctx, webhooks.ConnectionNotAccepted, ledgerStep(i, step), string(NotConnected), why, nil)
			return StepResult{Outcome: NotConnected, Reason: why}, nil
		}
	}
}

// recordCheck writes a check that found the person connected when the
// contacts store could not (and so its connection.accepted event), waiting,
// visibly, until the store takes it: the event is not lost, and the next
// step (which needs the store anyway) starts after it.
func (s *sequence) recordCheck(ctx workflow.Context, rec activities.OutcomeRecord) {
	var a *activities.Activities
	s.now.Status, s.now.Until = contacts.ErrUnavailable.Error()+"; the accepted connection waits to be recorded in it", time.Time{}
	rctx := workflow.WithActivityOptions(ctx, recordOptions("record the accepted connection (OutX task "+rec.TaskID+") in the contacts store (it was down)"))
	if err := workflow.ExecuteActivity(rctx, a.RecordOutcome, rec).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("The accepted connection could not be recorded in the contacts store", "TaskID", rec.TaskID, "Error", err)
	}
}

// sleepUntil waits on a durable timer, or until the recipient is stopped.
func (s *sequence) sleepUntil(ctx workflow.Context, at time.Time, summary string) error {
	d := at.Sub(workflow.Now(ctx))
	if d <= 0 {
		return nil
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	fired := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: summary}), func(f workflow.Future) {
		fired = true
	})
	sel.AddReceive(s.stop, func(ch workflow.ReceiveChannel, _ bool) {
		var r StopRecipientRequest
		ch.Receive(ctx, &r)
		s.applyStop(r)
	})
	for !fired && s.stopped == "" {
		sel.Select(ctx)
	}
	return ctx.Err()
}

func (s *sequence) pollStop() {
	for {
		var r StopRecipientRequest // fresh for each signal
		if !s.stop.ReceiveAsync(&r) {
			return
		}
		s.applyStop(r)
	}
}

func (s *sequence) applyStop(r StopRecipientRequest) {
	if s.stopped != "" {
		return
	}
	s.stopped = "stopped"
	if r.Reason != "" {
		s.stopped += ": " + r.Reason
	}
}

// variant is the variant of step i drawn for the recipient, "" if none.
func (s *sequence) variant(i int) string {
	if i < len(s.in.Variants) {
		return s.in.Variants[i]
	}
	return ""
}

// tellVariants tells the campaign how a step ended when it counts the
// step by variant: a message or connection request (sent, delivered) at
// or after a step with variants (reached), and the wait for a connection
// requested with variants (accepted).
func (s *sequence) tellVariants(ctx workflow.Context, i int, step Step, r StepResult) {
	counted := false
	for j := 0; j <= i && j < len(s.in.Variants); j++ {
		counted = counted || s.in.Variants[j] != ""
	}
	if !counted || step.Type != StepMessage && step.Type != StepConnect && step.Type != StepWaitForConnection {
		return
	}
	sent := r.TaskID != "" || r.Outcome == Delivered || r.Outcome == Unknown
	if step.Type == StepWaitForConnection {
		sent = false
	}
	s.tell(ctx, SequenceEvent{StepEnded: &StepEnded{Step: i + 1, Type: step.Type, Outcome: r.Outcome, Sent: sent, Variants: s.in.Variants}})
}

// tell signals the campaign; failing only leaves its progress behind, and
// the campaign also learns the outcome from the run's end.
func (s *sequence) tell(ctx workflow.Context, ev SequenceEvent) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	ev.Key, ev.CampaignRun = s.id[strings.LastIndexByte(s.id, '/')+1:], s.in.CampaignRun
	if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalSequenceEvent, ev).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not tell the campaign", "Error", err)
	}
}

func (s *sequence) finish(ctx workflow.Context, o Outcome, reason string) (SequenceResult, error) {
	s.pollStop()
	s.res.Outcome, s.res.Reason, s.res.FinishedAt = o, reason, workflow.Now(ctx)
	s.now.Status = "finished: " + string(o)
	workflow.GetLogger(ctx).Info("Sequence finished", "Outcome", o, "Reached", s.res.Reached)
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeAttribute.ValueSet(string(o))); err != nil {
		return s.res, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoOutcome: string(o), MemoReason: reason, MemoSteps: s.res.Steps}); err != nil {
		return s.res, err
	}
	s.tell(ctx, SequenceEvent{Final: true, Outcome: o})
	s.toldFinal = true
	s.emit(ctx, webhooks.SequenceFinished, "", string(o), reason, sequenceEventData{Reached: s.res.Reached, Steps: s.res.Steps})
	if o == Delivered {
		return s.res, nil
	}
	// Not reached: the run ends failed, as an undelivered message does, so
	// that the Temporal UI shows it in red.
	msg := fmt.Sprintf("sequence for %s %s: %s", s.in.RecipientURN, o, reason)
	if s.in.HideURN {
		msg = fmt.Sprintf("sequence for %s %s: %s", s.in.RecipientID, o, reason)
	}
	return s.res, temporal.NewNonRetryableApplicationError(msg, o.errorType(sequenceErrors), nil, s.res)
}

// StepParts lists the texts a campaign's steps need rendered per recipient,
// aligned with the steps: a message's text, a connection request's note.
func StepParts(steps []Step) []recipients.Part {
	parts := make([]recipients.Part, len(steps))
	for i, st := range steps {
		switch st.Type {
		case StepMessage:
			parts[i] = recipients.Part{Kind: recipients.PartMessage, Text: st.Template, Variants: st.Variants}
		case StepConnect:
			parts[i] = recipients.Part{Kind: recipients.PartNote, Text: st.Template, Variants: st.Variants}
		}
	}
	return parts
}

// emit writes one of the sequence's events, if the worker's endpoints take
// it (see emitEvent).
func (s *sequence) emit(ctx workflow.Context, typ, step, outcome, reason string, data any) {
	emitEvent(ctx, s.in.Events, webhooks.Event{Type: typ, Account: pacer.Or(s.in.Sender), Campaign: s.in.CampaignID,
		Step: step, RecipientURN: s.in.RecipientURN, Outcome: outcome, Reason: reason}, data, step)
}

// sequenceEventData is the data of sequence.finished: the step reached
// and every step's result.
type sequenceEventData struct {
	Reached int          `json:"reached"`
	Steps   []StepResult `json:"steps"`
}
