package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/senders"
)

// Bounds of a pacer's state.
const (
	maxStopped         = 2000 // each at most ~400 bytes: the state stays far under Temporal's 2 MB payload limit
	maxRecent          = 256
	campaignForgetting = 25 * time.Hour
	maxStopReason      = 100
)

// schedule is the pacer's pure core: its state, the account's policies, and
// every decision taken from them at a time given explicitly (which request
// goes next and when, why each one waits, who is stopped). It does no
// workflow call, so it is table-tested with plain times.
type schedule struct {
	sender  string
	st      pacer.State
	account pacing.Policy
	types   map[pacer.Action]pacing.Policy
	// limits are the account's settings: warm-ups, the pending ceiling,
	// the pauses after OutX's push-back.
	limits senders.Limits
}

func (s *schedule) typeState(a pacer.Action) *pacing.State {
	switch a {
	case pacer.ActionConnect:
		return &s.st.Connect
	case pacer.ActionLookup:
		return &s.st.Lookup
	default:
		return &s.st.Message
	}
}

func (s *schedule) typePolicy(a pacer.Action) pacing.Policy {
	if tp, ok := s.types[a]; ok {
		return tp
	}
	return s.types[pacer.ActionMessage]
}

// typePolicyAt is the action type's policy at t: its daily cap ramped up by
// the account's warm-up, on t's sending day.
func (s *schedule) typePolicyAt(a pacer.Action, t time.Time) pacing.Policy {
	tp := s.typePolicy(a)
	if c := s.limits.For(a); c.Warmup != nil {
		tp.DailyCap = c.DailyCapOn(s.rampDay(t))
	}
	return tp
}

// rampDay is t's sending day since the account's first action through
// outpace: 1 on that day (and before any action), counting only the days
// the account's window is open.
func (s *schedule) rampDay(t time.Time) int {
	first := s.st.FirstAction
	if first.IsZero() || !t.After(first) {
		return 1
	}
	w := s.account.Window
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	day := time.Date(first.In(loc).Year(), first.In(loc).Month(), first.In(loc).Day(), 12, 0, 0, 0, loc)
	last := t.In(loc)
	n := 1
	for d := day.AddDate(0, 0, 1); !d.After(time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, loc)); d = d.AddDate(0, 0, 1) {
		if w.Days[d.Weekday()] {
			n++
		}
		if n > 10000 {
			break
		}
	}
	return n
}

// blocked says why r cannot be granted at any known time (the account
// paused by a person, too many invitations pending), or "".
func (s *schedule) blocked(r pacer.Request) pacer.Wait {
	if p := s.st.AccountPause; p != nil && p.Until.IsZero() {
		return pacer.Wait{Kind: pacer.WaitAccountPaused, Reason: "the account is paused (" + p.Reason + ")"}
	}
	if r.Action != pacer.ActionConnect {
		return pacer.Wait{}
	}
	if p := s.st.ConnectPause; p != nil && p.Until.IsZero() {
		return pacer.Wait{Kind: pacer.WaitInvitationLimit, Reason: "connection requests are paused (" + p.Reason + ")"}
	}
	if ceiling := senders.Value(s.limits.PendingCeiling); ceiling > 0 && len(s.st.Pending) >= ceiling {
		return pacer.Wait{Kind: pacer.WaitPendingInvitations,
			Reason: fmt.Sprintf("%d connection requests are pending (ceiling %d): further ones wait for acceptances", len(s.st.Pending), ceiling)}
	}
	return pacer.Wait{}
}

// pausedUntil is when r's pauses with an end let it go, after at, and why.
func (s *schedule) pausedUntil(r pacer.Request, at time.Time) (time.Time, pacer.Wait) {
	var why pacer.Wait
	if p := s.st.AccountPause; p != nil && p.Until.After(at) {
		at, why = p.Until, pacer.Wait{Kind: pacer.WaitAccountPaused, Reason: "the account is paused (" + p.Reason + ")"}
	}
	if p := s.st.ConnectPause; r.Action == pacer.ActionConnect && p != nil && p.Until.After(at) {
		at, why = p.Until, pacer.Wait{Kind: pacer.WaitInvitationLimit, Reason: "connection requests are paused (" + p.Reason + ")"}
	}
	return at, why
}

// findTurn returns a copy of the campaign's entry (zero if unknown); unlike
// turn it changes nothing, so queries may call it.
func (s *schedule) findTurn(campaign string) pacer.CampaignTurn {
	for _, t := range s.st.Campaigns {
		if t.Campaign == campaign {
			return t
		}
	}
	return pacer.CampaignTurn{Campaign: campaign}
}

// turn returns the campaign's entry, adding it if new.
func (s *schedule) turn(campaign string) *pacer.CampaignTurn {
	for i := range s.st.Campaigns {
		if s.st.Campaigns[i].Campaign == campaign {
			return &s.st.Campaigns[i]
		}
	}
	s.st.Campaigns = append(s.st.Campaigns, pacer.CampaignTurn{Campaign: campaign})
	return &s.st.Campaigns[len(s.st.Campaigns)-1]
}

// known says whether a request with this id is queued or holds the slot.
func (s *schedule) known(id string) bool {
	return (s.st.Holder != nil && s.st.Holder.Request.ID == id) ||
		slices.ContainsFunc(s.st.Queue, func(q pacer.Request) bool { return q.ID == id })
}

// enqueue queues r, unless a request with its id is queued or holds the
// slot, or (recentToo) was granted lately. It says whether r was queued.
func (s *schedule) enqueue(r pacer.Request, now time.Time, recentToo bool) bool {
	if s.known(r.ID) || (recentToo && slices.Contains(s.st.Recent, r.ID)) {
		return false
	}
	if r.At.IsZero() {
		r.At = now
	}
	s.st.Queue = append(s.st.Queue, r)
	s.turn(r.Campaign) // its turn starts now
	return true
}

// next picks the request to grant: the earliest that may start, and among
// equals the one whose campaign was served longest ago, then the oldest.
// It returns -1 when nothing is queued or every campaign queued is paused.
func (s *schedule) next(now time.Time) (best int, bestAt time.Time, why pacer.Wait) {
	order := s.order(now)
	if len(order) == 0 {
		return -1, time.Time{}, pacer.Wait{}
	}
	return order[0].i, order[0].at, order[0].why
}

// queued is one request in the order in which the queue would be served.
type queued struct {
	i      int
	at     time.Time
	served int64
	why    pacer.Wait
}

// order lists the requests that can go (their campaign not paused, no limit
// that never opens), in the order they would be granted if nothing changed.
func (s *schedule) order(now time.Time) []queued {
	var out []queued
	for i, r := range s.st.Queue {
		t := s.findTurn(r.Campaign)
		if t.Paused {
			continue
		}
		at, why := s.earliest(r, now)
		if at.IsZero() {
			continue
		}
		out = append(out, queued{i: i, at: at, served: t.LastServed, why: why})
	}
	slices.SortStableFunc(out, func(a, b queued) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		switch {
		case a.served < b.served:
			return -1
		case a.served > b.served:
			return 1
		}
		return a.i - b.i
	})
	return out
}

// earliest is when r may start under every limit at once: the account's,
// its action type's and its campaign's. Each can only move the time later,
// so they are applied in turn until none moves it. why names the limit
// that moved it last (Kind empty: r may start now).
func (s *schedule) earliest(r pacer.Request, now time.Time) (time.Time, pacer.Wait) {
	if w := s.blocked(r); w.Kind != "" {
		return time.Time{}, w
	}
	ts := s.typeState(r.Action)
	gap := s.account.Gap(s.sender, s.st.Actions)
	var cp *pacing.Policy
	var cs pacing.State
	var cgap time.Duration
	if r.CampaignPacing != nil && r.Action != pacer.ActionLookup {
		if pol, err := r.CampaignPacing.Policy(); err == nil {
			t := s.findTurn(r.Campaign)
			cp, cs, cgap = &pol, t.Pacing, pol.Gap(r.Campaign, t.Actions)
		}
	}
	at, why := s.pausedUntil(r, now)
	loc := s.account.Window.Location
	for range 32 {
		before := at
		a1, w1 := s.account.Next(s.st.Account, at, gap)
		tp := s.typePolicyAt(r.Action, a1)
		a2, w2 := tp.Next(*ts, a1, 0)
		a3, w3 := a2, pacing.Ready
		if cp != nil {
			a3, w3 = cp.Next(cs, a2, cgap)
		}
		if a1.IsZero() || a2.IsZero() || a3.IsZero() {
			return time.Time{}, pacer.Wait{Kind: "never", Reason: "no sending hours ever open"}
		}
		switch {
		case a3.After(a2):
			why, loc = limitWait(w3, *cp, "campaign "+r.Campaign+"'s", "", cgap), cp.Window.Location
		case a2.After(a1):
			why, loc = limitWait(w2, tp, "", actionNoun(r.Action), 0), tp.Window.Location
		case a1.After(at):
			why, loc = limitWait(w1, s.account, "the account's", "actions", gap), s.account.Window.Location
		}
		at = a3
		if at.Equal(before) {
			break
		}
	}
	if at.After(now) {
		why.NextAt, why.At = at, localTime(at, now, loc)
	}
	return at, why
}

// localTime is t as a person reads it in loc: the time alone today, else
// with the day.
func localTime(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	// The time alone only for today (in loc): "09:00 UTC" on a Sunday
	// afternoon would read as a time already past.
	layout := "15:04 MST"
	if lt, ln := t.In(loc), now.In(loc); lt.YearDay() != ln.YearDay() || lt.Year() != ln.Year() {
		layout = "Mon 2 Jan 15:04 MST"
	}
	return t.In(loc).Format(layout)
}

// actionNoun names an action type's actions in a sentence.
func actionNoun(a pacer.Action) string {
	switch a {
	case pacer.ActionConnect:
		return "connection requests"
	case pacer.ActionLookup:
		return "look-ups"
	}
	return "messages"
}

// limitWait says in a sentence which limit holds a request: whose it is
// (owner, e.g. "campaign spring's"; "" for the action type's), and what it
// counts (noun, e.g. "messages").
func limitWait(r pacing.Reason, p pacing.Policy, owner, noun string, gap time.Duration) pacer.Wait {
	cap := func(kind, period string, n int) pacer.Wait {
		text := fmt.Sprintf("%s cap of %d", period, n)
		if noun != "" {
			text += " " + noun
		}
		if owner != "" {
			text = owner + " " + text
		}
		return pacer.Wait{Kind: kind, Reason: text + " reached"}
	}
	switch r {
	case pacing.HourlyCap:
		return cap(pacer.WaitHourlyCap, "hourly", p.HourlyCap)
	case pacing.DailyCap:
		return cap(pacer.WaitDailyCap, "daily", p.DailyCap)
	case pacing.WeeklyCap:
		return cap(pacer.WaitWeeklyCap, "weekly", p.WeeklyCap)
	case pacing.OutsideWindow:
		text := "outside sending hours (" + p.Window.String() + ")"
		if owner != "" {
			text = "outside " + owner + " sending hours (" + p.Window.String() + ")"
		}
		return pacer.Wait{Kind: pacer.WaitWindow, Reason: text}
	}
	text := fmt.Sprintf("spacing of %s after the previous action", roundGap(gap))
	if owner != "" && !strings.HasPrefix(owner, "the account") {
		text = owner + " " + text
	}
	return pacer.Wait{Kind: pacer.WaitSpacing, Reason: text}
}

func roundGap(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// waits says, for each queued request (aligned with the queue), why it
// waits at now: its campaign paused, a limit of its own, the account's
// action in flight, or requests ahead. A Kind of "" means it may go now.
func (s *schedule) waits(now time.Time) []pacer.Wait {
	out := make([]pacer.Wait, len(s.st.Queue))
	order := s.order(now)
	for pos, q := range order {
		w := q.why
		switch {
		case q.at.After(now):
			w.Ahead = pos
		case s.st.Holder != nil:
			w = pacer.Wait{Kind: pacer.WaitBusy, Ahead: pos,
				Reason: "another " + strings.TrimSuffix(actionNoun(s.st.Holder.Request.Action), "s") + " of the account is in flight"}
		case pos > 0:
			w = pacer.Wait{Kind: pacer.WaitQueued, Ahead: pos, NextAt: order[0].at,
				Reason: fmt.Sprintf("%d earlier request(s) of the account go first", pos)}
		default:
			w = pacer.Wait{}
		}
		out[q.i] = w
	}
	for i, r := range s.st.Queue {
		if t := s.findTurn(r.Campaign); t.Paused {
			why := "campaign " + r.Campaign + " is paused"
			if t.PauseWhy != "" {
				why += " (" + t.PauseWhy + ")"
			}
			out[i] = pacer.Wait{Kind: pacer.WaitPaused, Reason: why}
		} else if out[i].Kind == "" && !slices.ContainsFunc(order, func(q queued) bool { return q.i == i }) {
			if w := s.blocked(r); w.Kind != "" {
				out[i] = w
			} else {
				out[i] = pacer.Wait{Kind: "never", Reason: "its sending hours never open"}
			}
		}
	}
	return out
}

// longWait says whether a wait of this kind is worth telling the requester
// about as it arises: a cap, the sending hours or a pause can hold it for
// hours; spacing and a task in flight pass within minutes.
func longWait(kind string) bool {
	switch kind {
	case pacer.WaitHourlyCap, pacer.WaitDailyCap, pacer.WaitWeeklyCap, pacer.WaitWindow, pacer.WaitPaused,
		pacer.WaitAccountPaused, pacer.WaitInvitationLimit, pacer.WaitPendingInvitations:
		return true
	}
	return false
}

// grant takes request i out of the queue and gives it the slot at now. A
// stopped request is taken out and refused instead (nothing is held).
func (s *schedule) grant(i int, now time.Time) (r pacer.Request, stopped string) {
	r = s.st.Queue[i]
	s.st.Queue = slices.Delete(s.st.Queue, i, i+1)
	s.remember(r.ID)
	if why := s.stopped(r); why != "" {
		return r, why
	}
	hold := r.Hold.Or(DefaultPollDeadline + 2*time.Hour)
	s.st.Holder = &pacer.Holder{Request: r, GrantedAt: now, Until: now.Add(hold)}
	s.st.Served++
	s.turn(r.Campaign).LastServed = s.st.Served
	return r, ""
}

// firstStopped is the first queued request that is stopped, or -1: it is
// refused at once, not when its turn would come.
func (s *schedule) firstStopped() int {
	for i, r := range s.st.Queue {
		if s.stopped(r) != "" {
			return i
		}
	}
	return -1
}

// ungrant undoes a grant whose requester turned out to be gone.
func (s *schedule) ungrant(id string) {
	if s.st.Holder != nil && s.st.Holder.Request.ID == id {
		s.st.Holder = nil
	}
}

func (s *schedule) remember(id string) {
	s.st.Recent = append(s.st.Recent, id)
	if n := len(s.st.Recent) - maxRecent; n > 0 {
		s.st.Recent = slices.Delete(s.st.Recent, 0, n)
	}
}

// withdraw takes a request out of the queue.
func (s *schedule) withdraw(id string) bool {
	n := len(s.st.Queue)
	s.st.Queue = slices.DeleteFunc(s.st.Queue, func(q pacer.Request) bool { return q.ID == id })
	return len(s.st.Queue) < n
}

// release ends the holder's slot, or withdraws a request still queued. A
// counted action counts against every cap, and the next gap starts at its
// end.
func (s *schedule) release(rel pacer.Release, now time.Time) {
	h := s.st.Holder
	if h == nil || h.Request.ID != rel.ID {
		s.withdraw(rel.ID)
		return
	}
	s.st.Holder = nil
	s.learn(h.Request, rel, now)
	if !rel.Counted {
		return
	}
	start, end := rel.Start, rel.End
	if start.IsZero() {
		start = h.GrantedAt
	}
	if end.IsZero() || end.Before(start) {
		end = now
	}
	r := h.Request
	if s.st.FirstAction.IsZero() {
		s.st.FirstAction = start
	}
	s.st.Actions++
	s.st.Account.Record(s.account, start, end)
	s.typeState(r.Action).Record(s.typePolicy(r.Action), start, end)
	t := s.turn(r.Campaign)
	t.LastAt = end
	if r.CampaignPacing != nil && r.Action != pacer.ActionLookup {
		if pol, err := r.CampaignPacing.Policy(); err == nil {
			t.Actions++
			t.Pacing.Record(pol, start, end)
		}
	}
	s.forget(end)
}

// maxPending bounds the pending invitations remembered.
const maxPending = 2000

// offlineBackoff is how long the account waits after OutX's first refusal
// for want of an extension online; it doubles at the next.
const offlineBackoff = 15 * time.Second

// learn takes in what a released action says about the account: an
// invitation sent or found accepted, OutX pushing back.
func (s *schedule) learn(r pacer.Request, rel pacer.Release, now time.Time) {
	switch {
	case rel.Invited && r.Recipient != "":
		if !slices.ContainsFunc(s.st.Pending, func(i pacer.Invitation) bool { return i.URN == r.Recipient }) {
			s.st.Pending = append(s.st.Pending, pacer.Invitation{URN: r.Recipient, At: or(rel.End, now)})
			if n := len(s.st.Pending) - maxPending; n > 0 {
				s.st.Pending = slices.Delete(s.st.Pending, 0, n)
			}
		}
	case rel.Connected && r.Recipient != "":
		s.st.Pending = slices.DeleteFunc(s.st.Pending, func(i pacer.Invitation) bool { return i.URN == r.Recipient })
	}
	switch rel.PushBack {
	case pacer.PushBackInvitationLimit:
		s.st.ConnectPause = &pacer.Pause{By: "outpace", Until: s.invitationPauseEnd(now),
			Reason: "LinkedIn's invitation limit: OutX answered 429 to a connection request"}
	case pacer.PushBackOffline:
		// Every refusal holds the whole account a little (15s, then 30s):
		// nothing can be performed without an extension. Refused
		// OfflineRefusals times in a row, it pauses for offline_pause,
		// doubling at each further pause, up to 8 times as long.
		s.st.Offline++
		d, why := offlineBackoff<<(s.st.Offline-1), "OutX refused an action (403): no team member's extension was online in the last 48 hours"
		if s.st.Offline >= senders.OfflineRefusals {
			base, err := time.ParseDuration(s.limits.OfflinePause)
			if err != nil || base <= 0 {
				base = 30 * time.Minute
			}
			d = base << min(s.st.OfflinePauses, 3)
			why = fmt.Sprintf("the extension is offline: OutX refused %d actions in a row (403: no team member's extension online in the last 48 hours)", s.st.Offline)
			s.st.Offline = 0
			s.st.OfflinePauses++
		}
		if p := s.st.AccountPause; p == nil || (p.By != "operator" && p.Until.Before(now.Add(d))) {
			s.st.AccountPause = &pacer.Pause{By: "outpace", Until: now.Add(d), Reason: why}
		}
	}
	if rel.Counted {
		s.st.Offline, s.st.OfflinePauses = 0, 0
	}
}

// invitationPauseEnd is when connection requests paused at now go on: the
// next ISO week in the account's time zone, or after the configured time.
func (s *schedule) invitationPauseEnd(now time.Time) time.Time {
	if d, err := time.ParseDuration(s.limits.InvitationLimitPause); err == nil && d > 0 {
		return now.Add(d)
	}
	loc := s.account.Window.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	days := (8 - int(t.Weekday())) % 7 // to the next Monday
	if days == 0 {
		days = 7
	}
	return time.Date(t.Year(), t.Month(), t.Day()+days, 0, 0, 0, 0, loc)
}

// expire ends the pauses whose time has come.
func (s *schedule) expire(now time.Time) {
	if p := s.st.AccountPause; p != nil && !p.Until.IsZero() && !now.Before(p.Until) {
		s.st.AccountPause = nil
	}
	if p := s.st.ConnectPause; p != nil && !p.Until.IsZero() && !now.Before(p.Until) {
		s.st.ConnectPause = nil
	}
}

// pauseAccount applies a person's pause or resume of the account (or of
// its connection requests).
func (s *schedule) pauseAccount(p pacer.AccountPause) {
	var pause *pacer.Pause
	if p.Paused {
		reason := p.Reason
		if reason == "" {
			reason = "paused by a person"
		}
		pause = &pacer.Pause{By: "operator", Reason: clip(reason, maxStopReason), Until: p.Until}
	}
	if p.Connect {
		s.st.ConnectPause = pause
		return
	}
	s.st.AccountPause = pause
	if !p.Paused {
		s.st.Offline, s.st.OfflinePauses = 0, 0
	}
}

// accountStatus is the account's safety state at now.
func (s *schedule) accountStatus(now time.Time) pacer.AccountStatus {
	a := pacer.AccountStatus{FirstAction: s.st.FirstAction, Pending: len(s.st.Pending),
		Ceiling: senders.Value(s.limits.PendingCeiling), Paused: s.st.AccountPause, ConnectPaused: s.st.ConnectPause}
	ramp := false
	for _, act := range pacer.Actions {
		c := s.limits.For(act)
		dc := pacer.DailyCap{Action: act, Cap: senders.Value(c.DailyCap), Today: s.typePolicyAt(act, now).DailyCap}
		if c.Warmup != nil {
			ramp = true
			dc.Start, dc.Step = c.Warmup.Start, c.Warmup.Step
		}
		a.Caps = append(a.Caps, dc)
	}
	if ramp {
		a.RampDay = s.rampDay(now)
	}
	return a
}

func or(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// forget drops campaigns with nothing queued whose last action is more than
// a day old: their limits can no longer hold anything back.
func (s *schedule) forget(now time.Time) {
	s.st.Campaigns = slices.DeleteFunc(s.st.Campaigns, func(t pacer.CampaignTurn) bool {
		queued := slices.ContainsFunc(s.st.Queue, func(q pacer.Request) bool { return q.Campaign == t.Campaign })
		held := s.st.Holder != nil && s.st.Holder.Request.Campaign == t.Campaign
		return !queued && !held && !t.Paused && now.Sub(t.LastAt) > campaignForgetting
	})
}

// pause applies a campaign's pause, resume or cancel.
func (s *schedule) pause(p pacer.CampaignPause) {
	t := s.turn(p.Campaign)
	t.Paused = p.Paused && !p.Cancelled
	t.PauseWhy = ""
	if t.Paused {
		t.PauseWhy = clip(p.Reason, maxStopReason)
	}
	switch {
	case p.Cancelled:
		s.applyStop(pacer.StopRequest{Campaign: p.Campaign, Reason: "the campaign was cancelled"})
	case !p.Paused:
		// Resumed, or started again under the same id after a cancel: its
		// actions are no longer refused as a whole (stops of single
		// recipients stay).
		s.st.Stopped = slices.DeleteFunc(s.st.Stopped, func(r pacer.StopRequest) bool {
			return r.RecipientURN == "" && r.Campaign == p.Campaign
		})
	}
}

// checkStop refuses a stop request that names no valid person.
func checkStop(r pacer.StopRequest) error {
	if err := outx.ValidateRecipientURN(r.RecipientURN); err != nil {
		return err
	}
	if len(r.Reason) > 500 {
		return errors.New("reason: at most 500 characters")
	}
	return nil
}

// applyStop records a stop; it answers what was recorded.
func (s *schedule) applyStop(r pacer.StopRequest) string {
	scope := "every campaign of account " + s.sender
	if r.Campaign != "" {
		scope = "campaign " + r.Campaign
	}
	// Already stopped by a stop of this person (in this campaign, or in
	// every campaign); a whole campaign's stop (its cancel) does not count:
	// the campaign may be started again, and the person must stay stopped.
	for _, st := range s.st.Stopped {
		if r.RecipientURN != "" && st.RecipientURN == r.RecipientURN && (st.Campaign == "" || st.Campaign == r.Campaign) {
			return "already stopped in " + scope
		}
	}
	r.Reason = clip(r.Reason, maxStopReason)
	s.st.Stopped = append(s.st.Stopped, r)
	if n := len(s.st.Stopped) - maxStopped; n > 0 {
		s.st.Stopped = slices.Delete(s.st.Stopped, 0, n)
	}
	return "stopped in " + scope
}

// stopped says why r must not be acted on, or "".
func (s *schedule) stopped(r pacer.Request) string {
	for _, st := range s.st.Stopped {
		if st.RecipientURN == "" {
			if st.Campaign != "" && st.Campaign == r.Campaign { // the whole campaign
				return "stopped: " + st.Reason
			}
			continue
		}
		if st.RecipientURN == r.Recipient && (st.Campaign == "" || st.Campaign == r.Campaign) {
			why := "stopped"
			if st.Campaign == "" {
				why += " in every campaign of the account"
			}
			if st.Reason != "" {
				why += ": " + st.Reason
			}
			return why
		}
	}
	return ""
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// status is the pacer's answer to QueryStatus at now.
func (s *schedule) status(now time.Time) pacer.Status {
	st := pacer.Status{Sender: s.sender, Queued: len(s.st.Queue), Holder: s.st.Holder, Actions: s.st.Actions, Stopped: len(s.st.Stopped)}
	if s.st.Holder == nil {
		if i, at, why := s.next(now); i >= 0 {
			st.NextAt, st.Reason = at, why.Reason
		}
	}
	waits := s.waits(now)
	listed := make([]bool, len(s.st.Queue))
	add := func(i int) {
		if len(st.Waiting) >= pacer.MaxStatusWaiting || listed[i] {
			return
		}
		listed[i] = true
		r := s.st.Queue[i]
		st.Waiting = append(st.Waiting, pacer.Waiting{ID: r.ID, WorkflowID: r.WorkflowID, Action: r.Action,
			Campaign: r.Campaign, Since: r.At, Wait: waits[i]})
	}
	for _, q := range s.order(now) {
		add(q.i)
	}
	for i := range s.st.Queue { // paused campaigns' requests, last
		add(i)
	}
	for _, t := range s.st.Campaigns {
		if t.Campaign == "" {
			continue // single sends: no campaign
		}
		st.Campaign = append(st.Campaign, t.Campaign)
		if t.Paused {
			st.Paused = append(st.Paused, t.Campaign)
		}
	}
	st.Account = s.accountStatus(now)
	return st
}
