package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/senders"
)

// PacerInput is the input of a SenderPacer run: the account it paces, and
// the state carried through continue-as-new.
type PacerInput struct {
	Sender string      `json:"sender"`
	State  *PacerState `json:"state,omitempty"`
}

// PacerState is everything a pacer remembers. It stays bounded: the queue
// holds one request per requester waiting, pacing states keep at most a cap's
// worth of starts, campaigns are forgotten a day after their last action,
// stops and recent ids are capped.
type PacerState struct {
	Run    int           `json:"run"`
	Queue  []SlotRequest `json:"queue,omitempty"`
	Holder *SlotHolder   `json:"holder,omitempty"`
	// Actions counts the account's actions; gaps are drawn from it.
	Actions int64        `json:"actions"`
	Account pacing.State `json:"account"`
	Message pacing.State `json:"message"`
	Connect pacing.State `json:"connect"`
	Lookup  pacing.State `json:"lookup"`
	// Campaigns holds each campaign's own pacing memory and its turn in
	// the round robin ("" is single sends).
	Campaigns []CampaignTurn `json:"campaigns,omitempty"`
	// Served counts grants; a campaign's LastServed is the count at its
	// latest grant.
	Served  int64                  `json:"served"`
	Stopped []StopRecipientRequest `json:"stopped,omitempty"`
	// Recent are the ids of requests granted lately, so that a request
	// signalled twice (a retried activity) is not served twice.
	Recent []string `json:"recent,omitempty"`
}

// SlotHolder is the request holding the account's one slot.
type SlotHolder struct {
	Request   SlotRequest `json:"request"`
	GrantedAt time.Time   `json:"granted_at"`
	Until     time.Time   `json:"until"`
	// NextCheck is when the pacer next checks that the holder is still
	// running (a terminated run never releases).
	NextCheck time.Time `json:"next_check,omitzero"`
}

// CampaignTurn is one campaign's place in the pacer.
type CampaignTurn struct {
	Campaign   string       `json:"campaign"`
	LastServed int64        `json:"last_served"`
	Actions    int64        `json:"actions"`
	Pacing     pacing.State `json:"pacing"`
	Paused     bool         `json:"paused,omitempty"`
	LastAt     time.Time    `json:"last_at"`
}

// PacerStatus answers senders.QueryPacer.
type PacerStatus struct {
	Sender   string      `json:"sender"`
	Queued   int         `json:"queued"`
	Holder   *SlotHolder `json:"holder,omitempty"`
	NextAt   time.Time   `json:"next_at,omitzero"`
	Reason   string      `json:"reason,omitempty"`
	Actions  int64       `json:"actions"`
	Stopped  int         `json:"stopped"`
	Campaign []string    `json:"campaigns,omitempty"`
}

// CampaignPauseRequest pauses or resumes one campaign's actions at the
// pacer (SignalPacerPause), sent by the campaign.
type CampaignPauseRequest struct {
	Campaign string `json:"campaign"`
	Paused   bool   `json:"paused"`
	// Cancelled: the campaign was cancelled; its sequences' further
	// actions are refused.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Bounds of a pacer's state.
const (
	// SignalPacerPause carries a CampaignPauseRequest.
	SignalPacerPause   = "campaign-pause"
	maxStopped         = 2000 // each at most ~400 bytes: the state stays far under Temporal's 2 MB payload limit
	maxRecent          = 256
	pacerRunEvents     = 2000
	campaignForgetting = 25 * time.Hour
)

// SenderPacer is the one gate every LinkedIn action of one sender account
// passes through, from every campaign and single send: at most one OutX task
// in flight, a random gap after each task's end, hourly, daily and (for
// connection requests) weekly caps per action type, and the account's
// sending hours. Requests wait in a queue; among those that may go soonest,
// the campaign served longest ago goes first, so no campaign starves. A
// campaign's own limits, carried in its requests, apply to its actions too.
//
// It never completes: it continues as new with its state, and sleeps on
// nothing while no request waits.
func SenderPacer(ctx workflow.Context, in PacerInput) error {
	p := &pacer{sender: senders.Or(in.Sender), logger: workflow.GetLogger(ctx)}
	if in.State != nil {
		p.st = *in.State
	}
	p.st.Run++
	p.loadLimits(ctx)
	acquire := workflow.GetSignalChannel(ctx, senders.SignalAcquire)
	release := workflow.GetSignalChannel(ctx, senders.SignalRelease)
	stop := workflow.GetSignalChannel(ctx, senders.StopRecipient)
	pause := workflow.GetSignalChannel(ctx, SignalPacerPause)
	if err := workflow.SetQueryHandler(ctx, senders.QueryPacer, func() (PacerStatus, error) {
		return p.status(ctx), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, senders.StopRecipient,
		func(ctx workflow.Context, r StopRecipientRequest) (string, error) {
			return p.applyStop(r), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(r StopRecipientRequest) error { return checkStop(r) }},
	); err != nil {
		return err
	}
	var s1 SlotRequest
	var s2 SlotRelease
	var s3 StopRecipientRequest
	var s4 CampaignPauseRequest
	apply := []struct {
		ch workflow.ReceiveChannel
		v  any
		do func()
	}{
		{acquire, &s1, func() { p.enqueue(ctx, s1) }},
		{release, &s2, func() { p.release(ctx, s2) }},
		{stop, &s3, func() {
			if checkStop(s3) == nil {
				p.applyStop(s3)
			}
		}},
		{pause, &s4, func() {
			p.turn(s4.Campaign).Paused = s4.Paused && !s4.Cancelled
			switch {
			case s4.Cancelled:
				p.applyStop(StopRecipientRequest{Campaign: s4.Campaign, Reason: "the campaign was cancelled"})
			case !s4.Paused:
				// Resumed, or started again under the same id after a
				// cancel: its actions are no longer refused as a whole
				// (stops of single recipients stay).
				p.st.Stopped = slices.DeleteFunc(p.st.Stopped, func(r StopRecipientRequest) bool {
					return r.RecipientURN == "" && r.Campaign == s4.Campaign
				})
			}
		}},
	}
	drain := func() {
		for more := true; more; {
			more = false
			for _, a := range apply {
				if a.ch.ReceiveAsync(a.v) {
					a.do()
					more = true
				}
			}
		}
	}
	for {
		drain()
		if ctx.Err() != nil {
			// Cancelled by an operator: the pacer ends; the next action of
			// the account starts a fresh one (without this one's memory).
			p.logger.Warn("Pacer cancelled", "Queued", len(p.st.Queue))
			return temporal.NewCanceledError()
		}
		if p.historyFull(ctx) {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			drain()
			st := p.st
			p.logger.Info("Pacer continues as new", "Run", st.Run, "Queued", len(st.Queue))
			return workflow.NewContinueAsNewError(ctx, SenderPacer, PacerInput{Sender: p.sender, State: &st})
		}
		now := workflow.Now(ctx)
		var wake time.Time
		summary := "slot held"
		if h := p.st.Holder; h != nil {
			if !now.Before(h.Until) {
				p.logger.Warn("Slot never released; taking it back", "Request", h.Request.ID, "Holder", h.Request.WorkflowID)
				p.release(ctx, SlotRelease{ID: h.Request.ID, Counted: true, Start: h.GrantedAt, End: now})
				continue
			}
			if h.NextCheck.IsZero() {
				h.NextCheck = h.GrantedAt.Add(holderCheckEvery)
			}
			if !now.Before(h.NextCheck) {
				if !p.holderOpen(ctx, h) {
					p.logger.Warn("The slot's holder has ended without releasing it; taking it back", "Request", h.Request.ID, "Holder", h.Request.WorkflowID)
					p.release(ctx, SlotRelease{ID: h.Request.ID, Counted: true, Start: h.GrantedAt, End: workflow.Now(ctx)})
					continue
				}
				h.NextCheck = workflow.Now(ctx).Add(holderCheckEvery)
			}
			// Only a queued request needs the holder gone: while nobody
			// waits, no timer runs (it would cost one per action), and the
			// checks resume when a request arrives.
			if len(p.st.Queue) > 0 {
				wake = h.Until
				if h.NextCheck.Before(wake) {
					wake = h.NextCheck
				}
			}
			summary = "slot held by " + h.Request.WorkflowID
		} else if i, at, why := p.next(now); i >= 0 {
			if !at.After(now) {
				p.grant(ctx, i)
				continue
			}
			wake, summary = at, "next action: "+why
		}
		// Wait for a signal, or the moment something can happen.
		sel := workflow.NewSelector(ctx)
		woke := false
		var cancelTimer workflow.CancelFunc
		if !wake.IsZero() {
			var tctx workflow.Context
			tctx, cancelTimer = workflow.WithCancel(ctx)
			sel.AddFuture(workflow.NewTimerWithOptions(tctx, wake.Sub(now), workflow.TimerOptions{Summary: summary}), func(workflow.Future) {})
		}
		for _, a := range apply {
			sel.AddReceive(a.ch, func(ch workflow.ReceiveChannel, _ bool) {
				ch.Receive(ctx, a.v)
				a.do()
				woke = true
			})
		}
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if cancelTimer != nil && woke {
			cancelTimer()
		}
	}
}

type pacer struct {
	sender string
	st     PacerState
	logger interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
	account pacing.Policy
	types   map[senders.Action]pacing.Policy
}

// loadLimits reads the account's limits from the worker's configuration.
// Limits that cannot be read fall back to the defaults: an account is never
// paced less carefully than that.
func (p *pacer) loadLimits(ctx workflow.Context) {
	var a *activities.Activities
	var l senders.Limits
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrUnknownSender}},
		Summary:             "read the limits of LinkedIn account " + p.sender,
	})
	if err := workflow.ExecuteActivity(actx, a.SenderLimits, activities.SenderLimitsInput{Sender: p.sender}).Get(ctx, &l); err != nil {
		p.logger.Warn("Could not read the account's limits; using the defaults", "Error", err)
		l = senders.DefaultLimits()
	}
	acct, types, err := AccountPolicies(l.WithDefaults())
	if err != nil {
		p.logger.Warn("The account's limits are invalid; using the defaults", "Error", err)
		acct, types, _ = AccountPolicies(senders.DefaultLimits())
	}
	p.account, p.types = acct, types
}

// holderCheckEvery spaces the checks that a slot's holder still runs: a
// message's task is usually over within minutes, so a holder is first asked
// after this long.
const holderCheckEvery = 15 * time.Minute

// holderOpen asks whether the holder's run is still open; when that cannot
// be told, it is assumed to be.
func (p *pacer) holderOpen(ctx workflow.Context, h *SlotHolder) bool {
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "is " + h.Request.WorkflowID + " still running?",
	})
	open := true
	if err := workflow.ExecuteActivity(actx, a.RunOpen, activities.RunInput{
		WorkflowID: h.Request.WorkflowID, RunID: h.Request.RunID,
	}).Get(ctx, &open); err != nil {
		p.logger.Warn("Could not tell whether the slot's holder runs; assuming it does", "Error", err)
		return true
	}
	return open
}

// AccountPolicies turns an account's limits into the pacing policies the
// pacer applies: one for every action of the account (spacing, overall caps,
// window) and one per action type (its caps, the same window).
func AccountPolicies(l senders.Limits) (pacing.Policy, map[senders.Action]pacing.Policy, error) {
	w, err := pacing.ParseWindow(l.TimeZone, l.Days, l.Hours)
	if err != nil {
		return pacing.Policy{}, nil, err
	}
	minGap, err1 := time.ParseDuration(l.MinGap)
	maxGap, err2 := time.ParseDuration(l.MaxGap)
	if err := errors.Join(err1, err2); err != nil {
		return pacing.Policy{}, nil, fmt.Errorf("min_gap/max_gap: %w", err)
	}
	acct := pacing.Policy{MinGap: minGap, MaxGap: max(maxGap, minGap), HourlyCap: senders.Value(l.HourlyCap), DailyCap: senders.Value(l.DailyCap), Window: w}
	if err := acct.Validate(); err != nil {
		return pacing.Policy{}, nil, err
	}
	types := map[senders.Action]pacing.Policy{}
	for _, a := range senders.Actions {
		c := l.For(a)
		tp := pacing.Policy{HourlyCap: senders.Value(c.HourlyCap), DailyCap: senders.Value(c.DailyCap), WeeklyCap: senders.Value(c.WeeklyCap), Window: w}
		if err := tp.Validate(); err != nil {
			return pacing.Policy{}, nil, fmt.Errorf("%s.%w", a, err)
		}
		types[a] = tp
	}
	return acct, types, nil
}

func (p *pacer) typeState(a senders.Action) *pacing.State {
	switch a {
	case senders.ActionConnect:
		return &p.st.Connect
	case senders.ActionLookup:
		return &p.st.Lookup
	default:
		return &p.st.Message
	}
}

func (p *pacer) typePolicy(a senders.Action) pacing.Policy {
	if tp, ok := p.types[a]; ok {
		return tp
	}
	return p.types[senders.ActionMessage]
}

// findTurn returns a copy of the campaign's entry (zero if unknown); unlike
// turn it changes nothing, so queries may call it.
func (p *pacer) findTurn(campaign string) CampaignTurn {
	for _, t := range p.st.Campaigns {
		if t.Campaign == campaign {
			return t
		}
	}
	return CampaignTurn{Campaign: campaign}
}

// turn returns the campaign's entry, adding it if new.
func (p *pacer) turn(campaign string) *CampaignTurn {
	for i := range p.st.Campaigns {
		if p.st.Campaigns[i].Campaign == campaign {
			return &p.st.Campaigns[i]
		}
	}
	p.st.Campaigns = append(p.st.Campaigns, CampaignTurn{Campaign: campaign})
	return &p.st.Campaigns[len(p.st.Campaigns)-1]
}

func (p *pacer) enqueue(ctx workflow.Context, r SlotRequest) {
	if r.ID == "" || r.WorkflowID == "" {
		p.logger.Warn("Slot request without id or workflow id ignored")
		return
	}
	if slices.Contains(p.st.Recent, r.ID) || (p.st.Holder != nil && p.st.Holder.Request.ID == r.ID) ||
		slices.ContainsFunc(p.st.Queue, func(q SlotRequest) bool { return q.ID == r.ID }) {
		return // a repeated signal of a request already seen
	}
	if r.At.IsZero() {
		r.At = workflow.Now(ctx)
	}
	p.st.Queue = append(p.st.Queue, r)
	p.turn(r.Campaign) // its turn starts now
}

// next picks the request to grant: the earliest that may start, and among
// equals the one whose campaign was served longest ago, then the oldest.
// It returns -1 when nothing is queued or every campaign queued is paused.
func (p *pacer) next(now time.Time) (best int, bestAt time.Time, reason string) {
	best, bestServed := -1, int64(0)
	for i, r := range p.st.Queue {
		t := p.findTurn(r.Campaign)
		if t.Paused {
			continue
		}
		at, why := p.earliest(r, now)
		if at.IsZero() {
			continue
		}
		if best < 0 || at.Before(bestAt) || (at.Equal(bestAt) && t.LastServed < bestServed) {
			best, bestAt, bestServed, reason = i, at, t.LastServed, why
		}
	}
	return best, bestAt, reason
}

// earliest is when r may start under every limit at once: the account's,
// its action type's and its campaign's. Each can only move the time later,
// so they are applied in turn until none moves it.
func (p *pacer) earliest(r SlotRequest, now time.Time) (time.Time, string) {
	tp := p.typePolicy(r.Action)
	ts := p.typeState(r.Action)
	gap := p.account.Gap(p.sender, p.st.Actions)
	var cp *pacing.Policy
	var cs pacing.State
	var cgap time.Duration
	if r.CampaignPacing != nil && r.Action != senders.ActionLookup {
		if pol, err := r.CampaignPacing.Policy(); err == nil {
			t := p.findTurn(r.Campaign)
			cp, cs, cgap = &pol, t.Pacing, pol.Gap(r.Campaign, t.Actions)
		}
	}
	at, why := now, ""
	for range 32 {
		before := at
		a1, w1 := p.account.Next(p.st.Account, at, gap)
		a2, w2 := tp.Next(*ts, a1, 0)
		a3, w3 := a2, pacing.Ready
		if cp != nil {
			a3, w3 = cp.Next(cs, a2, cgap)
		}
		if a1.IsZero() || a2.IsZero() || a3.IsZero() {
			return time.Time{}, "never"
		}
		switch {
		case a3.After(a2):
			why = "campaign " + r.Campaign + ": " + string(w3)
		case a2.After(a1):
			why = string(r.Action) + ": " + string(w2)
		case a1.After(at):
			why = "account: " + string(w1)
		}
		at = a3
		if at.Equal(before) {
			break
		}
	}
	return at, why
}

func (p *pacer) grant(ctx workflow.Context, i int) {
	r := p.st.Queue[i]
	p.st.Queue = slices.Delete(p.st.Queue, i, i+1)
	p.remember(r.ID)
	g := SlotGrant{ID: r.ID}
	if why := p.stopped(r); why != "" {
		g.Stopped = why
	}
	// A requester that is gone (terminated, or ended while waiting) cannot
	// take the slot: the next request is served instead.
	if err := workflow.SignalExternalWorkflow(ctx, r.WorkflowID, r.RunID, senders.SignalGranted, g).Get(ctx, nil); err != nil {
		p.logger.Warn("Could not grant the slot; the requester is gone", "Request", r.ID, "Error", err)
		return
	}
	if g.Stopped != "" {
		return
	}
	now := workflow.Now(ctx)
	hold := r.Hold.Or(DefaultPollDeadline + 2*time.Hour)
	p.st.Holder = &SlotHolder{Request: r, GrantedAt: now, Until: now.Add(hold)}
	p.st.Served++
	p.turn(r.Campaign).LastServed = p.st.Served
}

func (p *pacer) remember(id string) {
	p.st.Recent = append(p.st.Recent, id)
	if n := len(p.st.Recent) - maxRecent; n > 0 {
		p.st.Recent = slices.Delete(p.st.Recent, 0, n)
	}
}

// release ends the holder's slot, or withdraws a request still queued.
func (p *pacer) release(ctx workflow.Context, rel SlotRelease) {
	h := p.st.Holder
	if h == nil || h.Request.ID != rel.ID {
		p.st.Queue = slices.DeleteFunc(p.st.Queue, func(q SlotRequest) bool { return q.ID == rel.ID })
		return
	}
	p.st.Holder = nil
	if !rel.Counted {
		return
	}
	start, end := rel.Start, rel.End
	if start.IsZero() {
		start = h.GrantedAt
	}
	if end.IsZero() || end.Before(start) {
		end = workflow.Now(ctx)
	}
	r := h.Request
	p.st.Actions++
	p.st.Account.Record(p.account, start, end)
	p.typeState(r.Action).Record(p.typePolicy(r.Action), start, end)
	t := p.turn(r.Campaign)
	t.LastAt = end
	if r.CampaignPacing != nil && r.Action != senders.ActionLookup {
		if pol, err := r.CampaignPacing.Policy(); err == nil {
			t.Actions++
			t.Pacing.Record(pol, start, end)
		}
	}
	p.forget(end)
}

// forget drops campaigns with nothing queued whose last action is more than
// a day old: their limits can no longer hold anything back.
func (p *pacer) forget(now time.Time) {
	p.st.Campaigns = slices.DeleteFunc(p.st.Campaigns, func(t CampaignTurn) bool {
		queued := slices.ContainsFunc(p.st.Queue, func(q SlotRequest) bool { return q.Campaign == t.Campaign })
		held := p.st.Holder != nil && p.st.Holder.Request.Campaign == t.Campaign
		return !queued && !held && !t.Paused && now.Sub(t.LastAt) > campaignForgetting
	})
}

func checkStop(r StopRecipientRequest) error {
	if err := outx.ValidateRecipientURN(r.RecipientURN); err != nil {
		return err
	}
	if len(r.Reason) > 500 {
		return errors.New("reason: at most 500 characters")
	}
	return nil
}

// applyStop records a stop; it answers what was recorded.
func (p *pacer) applyStop(r StopRecipientRequest) string {
	scope := "every campaign of account " + p.sender
	if r.Campaign != "" {
		scope = "campaign " + r.Campaign
	}
	if p.stopped(SlotRequest{Recipient: r.RecipientURN, Campaign: r.Campaign}) != "" {
		return "already stopped in " + scope
	}
	if len(r.Reason) > 100 {
		r.Reason = r.Reason[:100]
	}
	p.st.Stopped = append(p.st.Stopped, r)
	if n := len(p.st.Stopped) - maxStopped; n > 0 {
		p.st.Stopped = slices.Delete(p.st.Stopped, 0, n)
	}
	p.logger.Info("Recipient stopped", "Scope", scope)
	return "stopped in " + scope
}

// stopped says why r must not be acted on, or "".
func (p *pacer) stopped(r SlotRequest) string {
	for _, s := range p.st.Stopped {
		if s.RecipientURN == "" && s.Campaign == r.Campaign { // the whole campaign
			return "stopped: " + s.Reason
		}
		if s.RecipientURN == r.Recipient && (s.Campaign == "" || s.Campaign == r.Campaign) {
			why := "stopped"
			if s.Campaign == "" {
				why += " in every campaign of the account"
			}
			if s.Reason != "" {
				why += ": " + s.Reason
			}
			return why
		}
	}
	return ""
}

func (p *pacer) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= pacerRunEvents
}

func (p *pacer) status(ctx workflow.Context) PacerStatus {
	s := PacerStatus{Sender: p.sender, Queued: len(p.st.Queue), Holder: p.st.Holder, Actions: p.st.Actions, Stopped: len(p.st.Stopped)}
	if p.st.Holder == nil {
		if i, at, why := p.next(workflow.Now(ctx)); i >= 0 {
			s.NextAt, s.Reason = at, why
		}
	}
	for _, t := range p.st.Campaigns {
		s.Campaign = append(s.Campaign, t.Campaign)
	}
	return s
}
