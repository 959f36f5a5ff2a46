package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/senders"
)

// Pacer settings.
const (
	// pacerRunEvents is the history length after which the pacer continues
	// as new.
	pacerRunEvents = 2000
	// holderCheckEvery spaces the checks that a slot's holder still runs: a
	// message's task is usually over within minutes, so a holder is first
	// asked after this long, and only while another request waits.
	holderCheckEvery = 15 * time.Minute
	// MaxLinger caps how long an acquire update may stay open for a grant
	// that is near (Request.Linger).
	MaxLinger = 2 * time.Minute
)

// SenderPacer is the one gate every LinkedIn action of one sender account
// passes through, from every campaign and single send: at most one OutX task
// in flight, a random gap after each task's end, hourly, daily and (for
// connection requests) weekly caps per action type, and the account's
// sending hours. Requests wait in a queue; among those that may go soonest,
// the campaign served longest ago goes first, so no campaign starves. A
// campaign's own limits, carried in its requests, apply to its actions too.
//
// It is reached through the contract in package pacer. Its loop, like
// samples-go's batch-sliding-window, is set-up, then: apply what arrived,
// take back a vanished holder, grant what is due, tell waiters why they
// wait, sleep until something can happen. It never completes: it continues
// as new with its state, and sleeps on nothing while no request waits.
func SenderPacer(ctx workflow.Context, in pacer.Input) error {
	p, err := newPacer(ctx, in)
	if err != nil {
		return err
	}
	return p.run(ctx)
}

// pacerRun is one run of a SenderPacer.
type pacerRun struct {
	schedule
	logger interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
	signals []signalReceiver
	// wake is sent to when an update changed the state, so the loop, which
	// waits on channels, looks again.
	wake workflow.Channel
	// lingering are the acquire updates still open for a near grant: the
	// loop answers them (granted, or waiting).
	lingering []*lingerer
	// details is the text last given to SetCurrentDetails.
	details string
	// loaded: the account's limits are read; updates wait for it.
	loaded bool
	// timer is the loop's pending timer and when it fires: kept across
	// iterations while the wake time it serves still holds, since each
	// timer started is a billable action.
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
}

// lingerer is one open acquire update.
type lingerer struct {
	id       string
	deadline time.Time
	answer   *pacer.Answer
}

func newPacer(ctx workflow.Context, in pacer.Input) (*pacerRun, error) {
	p := &pacerRun{
		schedule: schedule{sender: senders.Or(in.Sender)},
		logger:   workflow.GetLogger(ctx),
		wake:     workflow.NewBufferedChannel(ctx, 1),
	}
	if in.State != nil {
		p.st = *in.State
	}
	p.st.Run++
	// Every payload is decoded into a fresh value (receive): a field one
	// sender omits never keeps another sender's value.
	p.signals = []signalReceiver{
		receive(ctx, pacer.UpdateAcquire, func(r pacer.Request) {
			if err := checkRequest(r); err != nil {
				p.logger.Warn("Slot request ignored", "Error", err)
				return
			}
			p.enqueue(r, workflow.Now(ctx), true)
		}),
		receive(ctx, pacer.SignalRelease, func(r pacer.Release) { p.release(r, workflow.Now(ctx)) }),
		receive(ctx, pacer.StopRecipient, func(r pacer.StopRequest) {
			if checkStop(r) == nil {
				p.logger.Info("Recipient stopped", "Result", p.applyStop(r))
			}
		}),
		receive(ctx, pacer.SignalCampaignPause, func(c pacer.CampaignPause) { p.pause(c) }),
		receive(ctx, pacer.SignalAccountPause, func(a pacer.AccountPause) {
			p.pauseAccount(a)
			p.logger.Info("Account paused or resumed", "Paused", a.Paused, "ConnectOnly", a.Connect)
		}),
	}
	if err := workflow.SetQueryHandler(ctx, pacer.QueryStatus, func() (pacer.Status, error) {
		return p.status(workflow.Now(ctx)), nil
	}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, pacer.StopRecipient,
		func(ctx workflow.Context, r pacer.StopRequest) (string, error) {
			defer p.poke()
			return p.applyStop(r), nil
		},
		workflow.UpdateHandlerOptions{Validator: checkStop},
	); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, pacer.UpdateAcquire, p.acquire,
		workflow.UpdateHandlerOptions{Validator: checkRequest},
	); err != nil {
		return nil, err
	}
	// After the handlers: an update that arrives while the limits load
	// waits for them rather than being refused for want of a handler.
	p.loadLimits(ctx)
	p.loaded = true
	return p, nil
}

// checkRequest refuses a slot request the pacer cannot serve.
func checkRequest(r pacer.Request) error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errors.New("id: is required"))
	}
	if r.WorkflowID == "" {
		errs = append(errs, errors.New("workflow_id: is required (the grant is signalled to it)"))
	}
	switch r.Action {
	case pacer.ActionMessage, pacer.ActionConnect, pacer.ActionLookup:
	default:
		errs = append(errs, fmt.Errorf("action: %q is not one of message, connect, lookup", r.Action))
	}
	if r.Linger < 0 || r.Hold < 0 {
		errs = append(errs, errors.New("linger and hold: must not be negative"))
	}
	return errors.Join(errs...)
}

// acquire answers the acquire update: at once when r is stopped, already
// granted or must wait longer than it may linger; otherwise once the loop
// grants it (or finds its wait too long).
func (p *pacerRun) acquire(ctx workflow.Context, r pacer.Request) (pacer.Answer, error) {
	defer p.poke()
	if err := workflow.Await(ctx, func() bool { return p.loaded }); err != nil {
		return pacer.Answer{}, err
	}
	now := workflow.Now(ctx)
	if h := p.st.Holder; h != nil && h.Request.ID == r.ID {
		return pacer.Answer{ID: r.ID, Granted: true, GrantedAt: h.GrantedAt}, nil // asked again: its answer was lost
	}
	if l := p.lingerer(r.ID); l != nil { // asked again while still open
		if err := workflow.Await(ctx, func() bool { return l.answer != nil }); err != nil {
			return pacer.Answer{}, err
		}
		return *l.answer, nil
	}
	if why := p.stopped(r); why != "" {
		p.withdraw(r.ID)
		return pacer.Answer{ID: r.ID, Stopped: why}, nil
	}
	p.enqueue(r, now, false)
	l := &lingerer{id: r.ID, deadline: now.Add(min(time.Duration(r.Linger), MaxLinger))}
	p.lingering = append(p.lingering, l)
	p.poke()
	err := workflow.Await(ctx, func() bool { return l.answer != nil })
	p.lingering = slices.DeleteFunc(p.lingering, func(o *lingerer) bool { return o == l })
	if err != nil {
		return pacer.Answer{}, err
	}
	return *l.answer, nil
}

// lingerer is the open acquire update of request id, or nil.
func (p *pacerRun) lingerer(id string) *lingerer {
	for _, l := range p.lingering {
		if l.id == id {
			return l
		}
	}
	return nil
}

// poke wakes the loop.
func (p *pacerRun) poke() { p.wake.SendAsync(true) }

// run is the pacer's loop.
func (p *pacerRun) run(ctx workflow.Context) error {
	for {
		p.drain()
		if ctx.Err() != nil {
			// Cancelled by an operator: the pacer ends; the next action of
			// the account starts a fresh one (without this one's memory).
			// Open acquire updates fail with it: their activities retry,
			// and start a fresh pacer.
			p.logger.Warn("Pacer cancelled", "Queued", len(p.st.Queue))
			return temporal.NewCanceledError()
		}
		if p.historyFull(ctx) {
			return p.continueAsNew(ctx)
		}
		now := workflow.Now(ctx)
		p.expire(now)
		if p.takeBackVanishedHolder(ctx, now) {
			continue
		}
		if i := p.firstStopped(); i >= 0 {
			p.grantNext(ctx, i, now) // refused: the recipient or campaign is stopped
			continue
		}
		if i, at, _ := p.next(now); i >= 0 && p.st.Holder == nil && !at.After(now) {
			p.grantNext(ctx, i, now)
			continue
		}
		waits := p.waits(now)
		p.answerLingerers(now, waits)
		p.notify(ctx, waits)
		wake, summary := p.nextWake(now)
		p.show(ctx, now, waits)
		p.sleep(ctx, now, wake, summary)
	}
}

// drain applies every signal already received.
func (p *pacerRun) drain() {
	for more := true; more; {
		more = false
		for _, s := range p.signals {
			if s.receiveAsync() {
				more = true
			}
		}
	}
}

// takeBackVanishedHolder ends the slot of a holder that never released it:
// its hold ran out, or its run has ended (checked every holderCheckEvery
// while another request waits).
func (p *pacerRun) takeBackVanishedHolder(ctx workflow.Context, now time.Time) bool {
	h := p.st.Holder
	if h == nil {
		return false
	}
	if !now.Before(h.Until) {
		p.logger.Warn("Slot never released; taking it back", "Request", h.Request.ID, "Holder", h.Request.WorkflowID)
		p.release(pacer.Release{ID: h.Request.ID, Counted: true, Start: h.GrantedAt, End: now}, now)
		return true
	}
	if h.NextCheck.IsZero() {
		h.NextCheck = checkAfter(h.GrantedAt)
	}
	if len(p.st.Queue) == 0 || now.Before(h.NextCheck) {
		return false
	}
	if !p.holderOpen(ctx, h) {
		p.logger.Warn("The slot's holder has ended without releasing it; taking it back", "Request", h.Request.ID, "Holder", h.Request.WorkflowID)
		end := workflow.Now(ctx)
		p.release(pacer.Release{ID: h.Request.ID, Counted: true, Start: h.GrantedAt, End: end}, end)
		return true
	}
	if p.st.Holder == h { // not released while the check ran
		h.NextCheck = checkAfter(workflow.Now(ctx))
	}
	return false
}

// checkAfter is when a holder granted (or last checked) at t is next
// checked: holderCheckEvery later, rounded up to a grid of checkGrid, so
// that the holders of a busy few minutes share one timer.
func checkAfter(t time.Time) time.Time {
	at := t.Add(holderCheckEvery)
	if r := at.Truncate(checkGrid); !r.Equal(at) {
		return r.Add(checkGrid)
	}
	return at
}

// checkGrid is the grid of the holder checks' times.
const checkGrid = 5 * time.Minute

// grantNext gives the slot to queued request i: through its open acquire
// update, or by signalling the requester. A stopped request is refused the
// same way; a requester that is gone (terminated, or ended while waiting)
// gets nothing, and the next request is served.
func (p *pacerRun) grantNext(ctx workflow.Context, i int, now time.Time) {
	r, stopped := p.grant(i, now)
	if l := p.lingerer(r.ID); l != nil && l.answer == nil {
		l.answer = &pacer.Answer{ID: r.ID, Granted: stopped == "", GrantedAt: now, Stopped: stopped}
		if stopped != "" {
			l.answer.GrantedAt = time.Time{}
		}
		return
	}
	g := pacer.Grant{ID: r.ID, Stopped: stopped}
	if stopped == "" {
		g.GrantedAt = now
	}
	if err := workflow.SignalExternalWorkflow(ctx, r.WorkflowID, r.RunID, pacer.SignalGranted, g).Get(ctx, nil); err != nil {
		p.logger.Warn("Could not grant the slot; the requester is gone", "Request", r.ID, "Error", err)
		if stopped == "" {
			p.ungrant(r.ID)
		}
	}
}

// answerLingerers answers the open acquire updates that will not be granted
// before their deadline: they wait, told why, and get their grant by signal.
// An update whose request left the queue ungranted (withdrawn) is told so.
func (p *pacerRun) answerLingerers(now time.Time, waits []pacer.Wait) {
	for _, l := range p.lingering {
		if l.answer != nil {
			continue
		}
		i := slices.IndexFunc(p.st.Queue, func(r pacer.Request) bool { return r.ID == l.id })
		if i < 0 {
			l.answer = &pacer.Answer{ID: l.id, Stopped: "withdrawn before its turn"}
			continue
		}
		w := waits[i]
		// Near: next in line, and either another action is in flight (a
		// task usually ends within seconds) or its own limit opens before
		// the deadline.
		near := w.Ahead == 0 && (w.Kind == pacer.WaitBusy || !w.NextAt.IsZero() && !w.NextAt.After(l.deadline) &&
			(w.Kind == pacer.WaitSpacing || w.Kind == pacer.WaitHourlyCap || w.Kind == pacer.WaitDailyCap ||
				w.Kind == pacer.WaitWeeklyCap || w.Kind == pacer.WaitWindow))
		if !near || !now.Before(l.deadline) {
			wait := w
			l.answer = &pacer.Answer{ID: l.id, Waiting: &wait}
			p.tell(l.id, w)
		}
	}
}

// answerAll answers every open acquire update (the run ends): each waits
// for its grant by signal, from the next run.
func (p *pacerRun) answerAll(ctx workflow.Context) {
	waits := p.waits(workflow.Now(ctx))
	for _, l := range p.lingering {
		if l.answer != nil {
			continue
		}
		if i := slices.IndexFunc(p.st.Queue, func(r pacer.Request) bool { return r.ID == l.id }); i >= 0 {
			wait := waits[i]
			l.answer = &pacer.Answer{ID: l.id, Waiting: &wait}
			p.tell(l.id, wait)
		} else {
			l.answer = &pacer.Answer{ID: l.id, Stopped: "withdrawn before its turn"}
		}
	}
}

// tell remembers what a waiting requester was told.
func (p *pacerRun) tell(id string, w pacer.Wait) {
	for i := range p.st.Told {
		if p.st.Told[i].ID == id {
			p.st.Told[i].Kind = w.Kind
			return
		}
	}
	p.st.Told = append(p.st.Told, pacer.Told{ID: id, Kind: w.Kind})
}

// told is the kind of wait request id was last told of.
func (p *pacerRun) told(id string) string {
	for _, t := range p.st.Told {
		if t.ID == id {
			return t.Kind
		}
	}
	return ""
}

// notify tells waiting requesters (answered, or asking by signal) when
// their wait turns into a long one (a cap, the hours, a pause) or changes
// from one long reason to another: one signal each time, never for the
// short waits of spacing or a task in flight.
func (p *pacerRun) notify(ctx workflow.Context, waits []pacer.Wait) {
	for i, r := range p.st.Queue {
		if p.lingerer(r.ID) != nil {
			continue
		}
		w := waits[i]
		if !longWait(w.Kind) || p.told(r.ID) == w.Kind {
			continue
		}
		p.tell(r.ID, w)
		notice := w
		// Not waited for: a requester that is gone is found when its turn
		// comes.
		workflow.SignalExternalWorkflow(ctx, r.WorkflowID, r.RunID, pacer.SignalGranted, pacer.Grant{ID: r.ID, Notice: &notice})
	}
	// Forget requests no longer queued.
	p.st.Told = slices.DeleteFunc(p.st.Told, func(t pacer.Told) bool { return !p.known(t.ID) })
}

// nextWake is when the loop must look again without a signal: the holder's
// deadline or check (only while someone waits), or when the next request
// may go; zero for never.
func (p *pacerRun) nextWake(now time.Time) (time.Time, string) {
	var wake time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	for _, l := range p.lingering {
		if l.answer == nil { // a lingering request is answered by its deadline
			earlier(l.deadline)
		}
	}
	if h := p.st.Holder; h != nil {
		if len(p.st.Queue) == 0 {
			return wake, "slot held by " + h.Request.WorkflowID
		}
		// Only a queued request needs the holder gone: while nobody waits,
		// no timer runs (it would cost one per action).
		earlier(h.Until)
		earlier(h.NextCheck)
		return wake, "slot held by " + h.Request.WorkflowID
	}
	if i, at, why := p.next(now); i >= 0 {
		earlier(at)
		return wake, "next action: " + why.Reason
	}
	return wake, ""
}

// sleep waits for a signal, an update, cancellation, or wake. The timer
// that serves wake is kept for the next iterations while it is not later
// than what they need: a timer that fires early only makes the loop look
// again.
func (p *pacerRun) sleep(ctx workflow.Context, now, wake time.Time, summary string) {
	if !wake.IsZero() && (p.timer == nil || wake.Before(p.timerAt)) {
		if p.cancelTimer != nil {
			p.cancelTimer()
		}
		var tctx workflow.Context
		tctx, p.cancelTimer = workflow.WithCancel(ctx)
		p.timer = workflow.NewTimerWithOptions(tctx, max(wake.Sub(now), time.Millisecond), workflow.TimerOptions{Summary: summary})
		p.timerAt = wake
	}
	sel := workflow.NewSelector(ctx)
	if p.timer != nil {
		sel.AddFuture(p.timer, func(workflow.Future) { p.timer, p.cancelTimer = nil, nil })
	}
	for _, s := range p.signals {
		s.addTo(sel, func() {})
	}
	sel.AddReceive(p.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
}

// continueAsNew starts the next run with the state, once every update in
// progress is answered.
func (p *pacerRun) continueAsNew(ctx workflow.Context) error {
	p.answerAll(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	p.drain()
	st := p.st
	p.logger.Info("Pacer continues as new", "Run", st.Run, "Queued", len(st.Queue))
	return workflow.NewContinueAsNewError(ctx, SenderPacer, pacer.Input{Sender: p.sender, State: &st})
}

func (p *pacerRun) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= pacerRunEvents
}

// show keeps the pacer's current details in the Temporal UI: who holds the
// slot, and why each request waits.
func (p *pacerRun) show(ctx workflow.Context, now time.Time, waits []pacer.Wait) {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**Account %s**: %d action(s) so far.\n\n", p.sender, p.st.Actions))
	pause := func(what string, ps *pacer.Pause) {
		if ps == nil {
			return
		}
		until := "until resumed"
		if !ps.Until.IsZero() {
			until = "until " + ps.Until.UTC().Format("Mon 2 Jan 15:04 MST")
		}
		b.WriteString(fmt.Sprintf("**%s paused** by %s %s: %s.\n\n", what, ps.By, until, ps.Reason))
	}
	pause("Account", p.st.AccountPause)
	pause("Connection requests", p.st.ConnectPause)
	acct := p.accountStatus(now)
	if acct.RampDay > 0 {
		b.WriteString(fmt.Sprintf("Warm-up: day %d.\n\n", acct.RampDay))
	}
	if acct.Ceiling > 0 && acct.Pending > 0 {
		b.WriteString(fmt.Sprintf("Pending invitations: %d of at most %d.\n\n", acct.Pending, acct.Ceiling))
	}
	if h := p.st.Holder; h != nil {
		b.WriteString(fmt.Sprintf("In flight: %s for %s, since %s.\n\n", h.Request.Action, h.Request.WorkflowID, h.GrantedAt.UTC().Format(time.TimeOnly+" MST")))
	} else {
		b.WriteString("Nothing in flight.\n\n")
	}
	if len(p.st.Queue) == 0 {
		b.WriteString("No request waits.")
	} else {
		b.WriteString(fmt.Sprintf("%d waiting:\n\n", len(p.st.Queue)))
		for i, r := range p.st.Queue {
			if i == 10 {
				b.WriteString(fmt.Sprintf("- … and %d more\n", len(p.st.Queue)-i))
				break
			}
			b.WriteString(fmt.Sprintf("- %s for %s: %s\n", r.Action, r.WorkflowID, WaitText(p.sender, waits[i], now)))
		}
	}
	if d := b.String(); d != p.details {
		p.details = d
		workflow.SetCurrentDetails(ctx, d)
		p.measure(ctx, waits)
	}
}

// waitKinds are the kinds of waits the pacer counts in MetricAccountWaiting.
var waitKinds = []string{pacer.WaitSpacing, pacer.WaitHourlyCap, pacer.WaitDailyCap, pacer.WaitWeeklyCap,
	pacer.WaitWindow, pacer.WaitBusy, pacer.WaitQueued, pacer.WaitPaused,
	pacer.WaitAccountPaused, pacer.WaitInvitationLimit, pacer.WaitPendingInvitations}

// measure sets MetricAccountWaiting: the account's requests waiting now, by
// what holds them.
func (p *pacerRun) measure(ctx workflow.Context, waits []pacer.Wait) {
	n := map[string]int{}
	for _, w := range waits {
		n[w.Kind]++
	}
	m := workflow.GetMetricsHandler(ctx)
	for _, k := range waitKinds {
		m.WithTags(map[string]string{"sender": p.sender, "wait": k}).Gauge(MetricAccountWaiting).Update(float64(n[k]))
	}
	paused := func(ps *pacer.Pause) float64 {
		if ps == nil {
			return 0
		}
		return 1
	}
	m.WithTags(map[string]string{"sender": p.sender, "scope": "account"}).Gauge(MetricAccountPaused).Update(paused(p.st.AccountPause))
	m.WithTags(map[string]string{"sender": p.sender, "scope": "connect"}).Gauge(MetricAccountPaused).Update(paused(p.st.ConnectPause))
	m.WithTags(map[string]string{"sender": p.sender}).Gauge(MetricPendingInvitations).Update(float64(len(p.st.Pending)))
}

// WaitText tells a person why an action of sender waits, e.g. "waiting for
// account default: hourly cap of 20 messages reached; next slot 10:06 UTC".
func WaitText(sender string, w pacer.Wait, now time.Time) string {
	if w.Kind == "" {
		return "about to go"
	}
	text := "waiting for account " + senders.Or(sender) + ": " + w.Reason
	switch {
	case w.At != "":
		text += "; next slot " + w.At
	case !w.NextAt.IsZero():
		text += "; next slot " + localTime(w.NextAt, now, time.UTC)
	}
	return text
}

// loadLimits reads the account's limits from the worker's configuration.
// Limits that cannot be read fall back to the defaults: an account is never
// paced less carefully than that.
func (p *pacerRun) loadLimits(ctx workflow.Context) {
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
	l = l.WithDefaults()
	acct, types, err := AccountPolicies(l)
	if err != nil {
		p.logger.Warn("The account's limits are invalid; using the defaults", "Error", err)
		l = senders.DefaultLimits()
		acct, types, _ = AccountPolicies(l)
	}
	p.account, p.types, p.limits = acct, types, l
}

// holderOpen asks whether the holder's run is still open; when that cannot
// be told, it is assumed to be.
func (p *pacerRun) holderOpen(ctx workflow.Context, h *pacer.Holder) bool {
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

// signalReceiver applies one kind of signal, each payload decoded into a
// fresh value.
type signalReceiver struct {
	receiveAsync func() bool
	addTo        func(sel workflow.Selector, then func())
}

// receive makes a receiver of the signal name that decodes each payload into
// a new T and passes it to apply. Decoding into a variable shared between
// signals would let a field one signal omits keep the previous signal's
// value (JSON leaves absent fields alone); a fresh T per signal cannot.
func receive[T any](ctx workflow.Context, name string, apply func(T)) signalReceiver {
	ch := workflow.GetSignalChannel(ctx, name)
	return signalReceiver{
		receiveAsync: func() bool {
			var v T
			if !ch.ReceiveAsync(&v) {
				return false
			}
			apply(v)
			return true
		},
		addTo: func(sel workflow.Selector, then func()) {
			sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
				var v T
				c.Receive(ctx, &v)
				apply(v)
				then()
			})
		},
	}
}

// AccountPolicies turns an account's limits into the pacing policies the
// pacer applies: one for every action of the account (spacing, overall caps,
// window) and one per action type (its caps, the same window).
func AccountPolicies(l senders.Limits) (pacing.Policy, map[pacer.Action]pacing.Policy, error) {
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
	types := map[pacer.Action]pacing.Policy{}
	for _, a := range pacer.Actions {
		c := l.For(a)
		tp := pacing.Policy{HourlyCap: senders.Value(c.HourlyCap), DailyCap: senders.Value(c.DailyCap), WeeklyCap: senders.Value(c.WeeklyCap), Window: w}
		if err := tp.Validate(); err != nil {
			return pacing.Policy{}, nil, fmt.Errorf("%s.%w", a, err)
		}
		types[a] = tp
	}
	return acct, types, nil
}
