package workflows_test

// A model-based test of the account pacer (issue 12 §2). It drives the real
// SenderPacer in Temporal's test suite (virtual time) with long random
// sequences of operations, and compares every decision the pacer makes that
// a caller can observe with a small reference model written here:
//
//   - every grant signal (to whom, granted or refused as stopped, and at
//     which virtual time, to the nanosecond), and whether it reached its
//     requester;
//   - every acquire update's answer (granted with its time, stopped, or
//     waiting with the wait's NextAt, Ahead and Kind) and when it came;
//   - every stop-recipient update's answer (recorded or already stopped,
//     in one campaign or everywhere);
//   - every check the pacer makes that a slot's holder still runs
//     (activities.RunOpen, mocked), and when;
//   - the status query at random points (holder with its times, queue in
//     order with each wait, next time, actions, stops, campaigns, pauses);
//   - the state carried through each continue-as-new.
//
// The model knows only the documented rules (pacer/pacer.go, the comments of
// workflows/pacer.go and pacer_schedule.go, issue 12): one holder; a queue;
// a request may start at the earliest instant that satisfies every limit at
// once, namely the account's gap counted from the previous counted task's
// end, the hourly (rolling), daily (local day) and weekly (local ISO week)
// caps of the account and of the action type, the account's window, and,
// for messages and connection requests that carry CampaignPacing, the
// campaign's own gap, caps and window; among requests that may start at the
// same earliest time, the campaign served longest ago goes first, then the
// oldest request; stops (one campaign, or everywhere) and campaign pauses,
// resumes and cancels (a cancel refuses the campaign's requests until a
// later resume, as a campaign started again under the same id sends); a
// holder that never releases is taken back when its hold runs out, or when
// its run has ended, at a check 15 minutes after its grant or last check
// (on a 5-minute grid) while a request waits; a requester whose grant
// signal fails loses its turn; an acquire update lingers while its request
// is next and either another action is in flight or its own limit opens
// before the update's deadline. The pacer looks again by itself only when
// its one timer fires; the model keeps that timer as the pacer documents
// it (set for the nearest thing it waits for, kept while nothing sooner is
// needed, at least 1 ms), so that what happens at a look the pacer makes
// for nothing (a hold run out while nobody waits) is predicted too.
//
// Its limit arithmetic is its own: it counts caps from the list of counted
// actions rather than from pacing.State, and finds the earliest instant by
// pushing a time past each violated limit in turn. It borrows from package
// pacing only what is pure and separately tested there: Window.NextOpen /
// ClosesAt (time zones, daylight saving) and Policy.Gap, the deterministic
// draw of the random gap (a hash of the account or campaign and the action
// count), so it predicts the gap exactly; some runs also use a fixed gap
// (MinGap == MaxGap).
//
// Where it cannot predict exactly:
//   - the Kind of a wait on a limit is the limit that last moved the
//     pacer's search; the model accepts any limit that holds the request
//     back at some instant between now and its time (NextAt and Ahead are
//     exact);
//   - notices (Grant.Notice, sent when a long wait's reason changes) depend
//     on the Kind above; the model only checks that each went to a request
//     then queued, for a long wait;
//   - when the pacer is cancelled (the end of each run), an open acquire
//     update fails "canceled": its activity retries and starts a fresh
//     pacer (the pacer does not answer it waiting for a grant that no new
//     pacer would remember).
//
// Operations never come within a millisecond of a time the pacer looks by
// itself, so that which comes first is certain; the model's own arithmetic
// is checked too: every counted action kept every limit (window, gap, caps).
//
// Seeds: OUTPACE_PACER_SEED (default: from the clock; printed), and
// OUTPACE_PACER_OPS operations in all (default 4000, 1000 with -short), in runs of
// OUTPACE_PACER_RUN_OPS (default 500), each run with its own account limits,
// campaigns and start time, and its own seed (seed, seed+1, ...). A failing
// run prints the command that replays it alone. OUTPACE_PACER_TRACE=1 logs
// every operation, and the pacer's timers and activities. `make fuzz-pacer`
// runs many more.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// The pacer's documented intervals and bounds.
const (
	mHolderCheck = 15 * time.Minute // a holder is checked 15 minutes after its grant or last check, while a request waits,
	mCheckGrid   = 5 * time.Minute  // rounded up to a 5-minute grid (holders of a busy few minutes share a timer)
	mForget      = 25 * time.Hour   // a campaign is forgotten a day (25 h) after its last action
	mMaxRecent   = 256              // ids of requests granted lately, not served twice by signal
	mQueueBound  = 14               // the driver keeps at most this many requests waiting
	mSlotLinger  = 4 * time.Minute  // what real requesters ask (workflows/slot.go)
)

// mDefaultHold is the hold of a request that names none.
var mDefaultHold = workflows.DefaultPollDeadline + 2*time.Hour

func TestPacerModel(t *testing.T) {
	total := modelEnvInt(t, "OUTPACE_PACER_OPS", 4000)
	perRun := modelEnvInt(t, "OUTPACE_PACER_RUN_OPS", 500)
	if testing.Short() && os.Getenv("OUTPACE_PACER_OPS") == "" {
		total = 1000
	}
	seed := time.Now().UnixNano() % 1_000_000_000
	if s := os.Getenv("OUTPACE_PACER_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("OUTPACE_PACER_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("pacer model: seed %d, %d operations in runs of %d (replay: OUTPACE_PACER_SEED=%d OUTPACE_PACER_OPS=%d OUTPACE_PACER_RUN_OPS=%d)",
		seed, total, perRun, seed, total, perRun)
	modelTotals.Lock()
	modelTotals.seen, modelTotals.cover = map[string]int{}, map[string]int{}
	modelTotals.Unlock()
	start := time.Now()
	done := 0
	for i := int64(0); done < total; i++ {
		n := min(perRun, total-done)
		s := seed + i
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) { runPacerModel(t, s, n) })
		done += n
	}
	t.Logf("pacer model: %d operations in %s", done, time.Since(start).Round(time.Millisecond))
	for _, c := range []map[string]int{modelTotals.seen, modelTotals.cover} {
		var keys []string
		for k, v := range c {
			keys = append(keys, fmt.Sprintf("%s %d", k, v))
		}
		slices.Sort(keys)
		t.Logf("  %s", strings.Join(keys, ", "))
	}
}

// modelTotals sums the runs' decisions and situations.
var modelTotals = struct {
	sync.Mutex
	seen, cover map[string]int
}{seen: map[string]int{}, cover: map[string]int{}}

func modelEnvInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return v
}

// ---------------------------------------------------------------------------
// Configurations

// modelCampaign is a campaign of a run: a message campaign (messages, and
// profile look-ups by the campaign itself) or a sequence campaign (steps
// that send messages and connection requests, and connection checks).
type modelCampaign struct {
	id       string
	sequence bool
	limits   *pacer.CampaignLimits
}

type modelConfig struct {
	limits    senders.Limits
	start     time.Time
	campaigns []modelCampaign
}

type modelWindow struct{ tz, days, hours string }

var modelAccountWindows = []modelWindow{
	{"UTC", "mon-sun", "00:00-24:00"},
	{"UTC", "mon-sun", "00:00-24:00"},
	{"UTC", "mon-fri", "09:00-18:00"},
	{"Europe/Berlin", "mon-sat", "08:00-20:00"},
	{"America/New_York", "mon-fri", "09:30-17:00"},
	{"Asia/Kolkata", "sun-thu", "10:00-22:30"},
	{"Australia/Sydney", "daily", "06:00-09:00"},
	{"America/Los_Angeles", "mon-fri", "08:00-19:00"}, // the local date differs from UTC's in the evening
	{"Pacific/Auckland", "mon-sat", "07:00-20:00"},    // and here in the morning
}

var modelCampaignWindows = []modelWindow{
	{"UTC", "mon-sun", "00:00-24:00"},
	{"UTC", "mon-fri", "08:00-20:00"},
	{"Europe/Berlin", "daily", "07:00-23:00"},
	{"America/New_York", "mon-sat", "06:00-22:00"},
	{"Asia/Tokyo", "daily", "06:00-23:00"},
	{}, // the defaults: mon-fri 09:00-18:00 UTC
}

func newModelConfig(rng *rand.Rand) modelConfig {
	capv := func(lo, hi int) *int {
		switch rng.IntN(10) {
		case 0, 1:
			return nil // the default
		case 2, 3:
			return ptr(0) // no cap
		case 4, 5, 6: // small, so that it is often reached
			return ptr(lo + rng.IntN(3))
		}
		return ptr(lo + rng.IntN(hi-lo+1))
	}
	w := modelAccountWindows[rng.IntN(len(modelAccountWindows))]
	l := senders.Limits{TimeZone: w.tz, Days: w.days, Hours: w.hours,
		HourlyCap: capv(2, 10), DailyCap: capv(4, 30),
		Message: senders.Caps{HourlyCap: capv(1, 6), DailyCap: capv(3, 15)},
		Connect: senders.Caps{HourlyCap: capv(1, 4), DailyCap: capv(2, 8), WeeklyCap: capv(1, 6)},
		Lookup:  senders.Caps{HourlyCap: capv(1, 6), DailyCap: capv(3, 20)},
	}
	switch rng.IntN(4) {
	case 0:
		l.MinGap, l.MaxGap = "0s", "0s"
	case 1: // a fixed gap
		g := (10*time.Second + time.Duration(rng.Int64N(int64(5*time.Minute)))).Round(time.Second).String()
		l.MinGap, l.MaxGap = g, g
	case 2:
		l.MinGap, l.MaxGap = "30s", "4m"
	} // else the defaults, 45s to 3m
	starts := []time.Time{
		time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC),  // Europe springs forward on the 29th
		time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC), // Europe falls back on the 25th, New York on 1 November
		time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),   // New York springs forward on the 8th
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(360)) * 24 * time.Hour),
	}
	start := starts[rng.IntN(len(starts))].Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
	acctWin := mustWindow(w)
	cfg := modelConfig{limits: l, start: start}
	n := 2 + rng.IntN(3)
	for i := range n {
		c := modelCampaign{id: fmt.Sprintf("c%d", i+1), sequence: i%2 == 1}
		if rng.IntN(4) == 0 {
			c.limits = &pacer.CampaignLimits{} // every default
		} else {
			minGap := time.Duration(rng.Int64N(int64(3 * time.Minute))).Round(time.Second)
			maxGap := minGap
			if rng.IntN(2) == 0 {
				maxGap += time.Duration(rng.Int64N(int64(4 * time.Minute)))
			}
			cw := modelCampaignWindows[rng.IntN(len(modelCampaignWindows))]
			c.limits = &pacer.CampaignLimits{
				Pacing: pacer.Pacing{MinGap: dur(minGap), MaxGap: dur(maxGap), HourlyCap: capv(1, 6), DailyCap: capv(2, 12)},
				Window: pacer.SendingWindow{TimeZone: cw.tz, Days: cw.days, Hours: cw.hours},
			}
		}
		// The campaign's hours must meet the account's at some time, or
		// its actions never go.
		if pol, err := c.limits.Policy(); err != nil || !windowsMeet(acctWin, pol.Window, start) {
			c.limits.Window = pacer.SendingWindow{TimeZone: "UTC", Days: "daily", Hours: "00:00-24:00"}
		}
		cfg.campaigns = append(cfg.campaigns, c)
	}
	return cfg
}

func mustWindow(w modelWindow) pacing.Window {
	win, err := pacing.ParseWindow(w.tz, w.days, w.hours)
	if err != nil {
		panic(err)
	}
	return win
}

// windowsMeet says whether two windows are open at once for an hour in
// every fortnight from start.
func windowsMeet(a, b pacing.Window, start time.Time) bool {
	for at := start; at.Before(start.Add(15 * 24 * time.Hour)); at = at.Add(10 * time.Minute) {
		if a.Open(at) && b.Open(at) && a.Open(at.Add(time.Hour)) && b.Open(at.Add(time.Hour)) {
			return true
		}
	}
	return false
}

func (c modelConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s; account: %s", c.start.Format(time.RFC3339), c.limits)
	for _, cp := range c.campaigns {
		kind := "messages"
		if cp.sequence {
			kind = "sequences"
		}
		pol, _ := cp.limits.Policy()
		fmt.Fprintf(&b, "; %s (%s): gap %s-%s, %d/h, %d/day, %s", cp.id, kind, pol.MinGap, pol.MaxGap, pol.HourlyCap, pol.DailyCap, pol.Window)
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// The reference model

type mHolder struct {
	req                         pacer.Request
	grantedAt, until, nextCheck time.Time
}

type mAction struct {
	start, end time.Time
	action     pacer.Action
}

// mCamp is what the pacer remembers of a campaign: its turn in the round
// robin, its own pacing memory and its pause. Forgotten a day after its
// last action when nothing of it waits.
type mCamp struct {
	name       string
	lastServed int64
	paced      int64       // its counted actions under its own pacing (the gap draw's index)
	starts     []time.Time // their starts
	lastEnd    time.Time
	lastAt     time.Time
	paused     bool
	why        string
}

// mLinger is an acquire update still open; keys are the updates waiting for
// its answer (a request asked again while open gets the same answer).
type mLinger struct {
	id       string
	keys     []string
	deadline time.Time
}

// mWait is why a queued request waits: kind "limit" (then kinds lists the
// limits that may be named), "busy", "queued", "paused", or "" (may go now).
type mWait struct {
	kind   string
	kinds  []string
	ahead  int
	nextAt time.Time
}

// mObs is one observable decision: a grant signal ("grant", by request id),
// an update's answer ("answer", by update id), or a check that a holder
// runs ("check", by workflow id).
type mObs struct {
	at        time.Time
	kind      string
	id        string
	res       string
	grantedAt time.Time
	wait      *pacer.Wait // seen
	want      *mWait      // expected
	// orCanceled: the update must fail "canceled" (the pacer is
	// being cancelled).
	orCanceled bool
}

type mQueued struct {
	i      int
	at     time.Time
	served int64
}

// mLimit is one set of limits over one list of counted actions: the
// account's (with its gap), an action type's, or a campaign's (with its gap).
type mLimit struct {
	pol     pacing.Policy
	starts  []time.Time
	lastEnd time.Time
	gap     time.Duration
}

type model struct {
	sender  string
	acct    pacing.Policy
	types   map[pacer.Action]pacing.Policy
	now     time.Time // the pacer's latest look
	queue   []pacer.Request
	holder  *mHolder
	hist    []mAction // counted actions, oldest first
	lastEnd time.Time
	actions int64
	camps   []*mCamp
	served  int64
	stops   []pacer.StopRequest
	recent  []string
	lingers []*mLinger
	gone    func(workflowID string) bool
	want    []mObs
	// queuedAt records when each request was queued and left the queue
	// (zero: still queued), to check notices.
	queuedAt map[string][2]time.Time
	policies map[*pacer.CampaignLimits]pacing.Policy
	broken   string
	cover    map[string]int // situations met, for the run's summary
	// The pacer's one timer: what it was set for (wake) and when it fires
	// (at least 1 ms after the look that set it). It is kept while later
	// looks need nothing sooner; when it fires the pacer looks again.
	timerWake, timerFire time.Time
}

func newModel(cfg modelConfig, gone func(string) bool) *model {
	l := cfg.limits.WithDefaults()
	win := mustWindow(modelWindow{l.TimeZone, l.Days, l.Hours})
	minGap, _ := time.ParseDuration(l.MinGap)
	maxGap, _ := time.ParseDuration(l.MaxGap)
	m := &model{sender: senders.Default, gone: gone, queuedAt: map[string][2]time.Time{}, cover: map[string]int{}, policies: map[*pacer.CampaignLimits]pacing.Policy{},
		acct:  pacing.Policy{MinGap: minGap, MaxGap: max(minGap, maxGap), HourlyCap: *l.HourlyCap, DailyCap: *l.DailyCap, Window: win},
		types: map[pacer.Action]pacing.Policy{}}
	for _, a := range pacer.Actions {
		c := l.For(a)
		m.types[a] = pacing.Policy{HourlyCap: senders.Value(c.HourlyCap), DailyCap: senders.Value(c.DailyCap), WeeklyCap: senders.Value(c.WeeklyCap), Window: win}
	}
	return m
}

func (m *model) emit(o mObs) { m.want = append(m.want, o) }

func (m *model) findCamp(name string) *mCamp {
	for _, c := range m.camps {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (m *model) camp(name string) *mCamp {
	if c := m.findCamp(name); c != nil {
		return c
	}
	c := &mCamp{name: name}
	m.camps = append(m.camps, c)
	return c
}

func (m *model) index(id string) int {
	return slices.IndexFunc(m.queue, func(r pacer.Request) bool { return r.ID == id })
}

func (m *model) known(id string) bool {
	return (m.holder != nil && m.holder.req.ID == id) || m.index(id) >= 0
}

func (m *model) lingerer(id string) *mLinger {
	for _, l := range m.lingers {
		if l.id == id {
			return l
		}
	}
	return nil
}

// campaignPolicy is the campaign's own limits that apply to r: only to
// messages and connection requests that carry them.
func (m *model) campaignPolicy(r pacer.Request) (pacing.Policy, bool) {
	if r.CampaignPacing == nil || r.Action == pacer.ActionLookup {
		return pacing.Policy{}, false
	}
	if pol, ok := m.policies[r.CampaignPacing]; ok {
		return pol, true
	}
	pol, err := r.CampaignPacing.Policy()
	if err != nil {
		return pacing.Policy{}, false
	}
	m.policies[r.CampaignPacing] = pol
	return pol, true
}

// limits lists every set of limits that applies to r.
func (m *model) limits(r pacer.Request) []mLimit {
	var all, ofType []time.Time
	for _, a := range m.hist {
		all = append(all, a.start)
		if a.action == r.Action {
			ofType = append(ofType, a.start)
		}
	}
	out := []mLimit{
		{pol: m.acct, starts: all, lastEnd: m.lastEnd, gap: m.acct.Gap(m.sender, m.actions)},
		{pol: m.types[r.Action], starts: ofType},
	}
	if pol, ok := m.campaignPolicy(r); ok {
		c := m.findCamp(r.Campaign)
		if c == nil {
			c = &mCamp{}
		}
		out = append(out, mLimit{pol: pol, starts: c.starts, lastEnd: c.lastEnd, gap: pol.Gap(r.Campaign, c.paced)})
	}
	return out
}

// checkAfter is when a holder granted or checked at t is next checked.
func checkAfter(t time.Time) time.Time {
	at := t.Add(mHolderCheck)
	if off := time.Duration(at.UnixNano() % int64(mCheckGrid)); off != 0 {
		at = at.Add(mCheckGrid - off)
	}
	return at
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func localDay(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

func localMonday(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	back := (int(l.Weekday()) + 6) % 7
	return time.Date(l.Year(), l.Month(), l.Day()-back, 0, 0, 0, 0, loc)
}

// inHour counts the starts in the rolling hour that ends at t, and returns
// the oldest of them.
func inHour(starts []time.Time, t time.Time) (n int, oldest time.Time) {
	for _, s := range starts {
		if s.After(t.Add(-time.Hour)) && !s.After(t) {
			n++
			if oldest.IsZero() || s.Before(oldest) {
				oldest = s
			}
		}
	}
	return n, oldest
}

func onDay(starts []time.Time, t time.Time, loc *time.Location) int {
	n, day := 0, localDay(t, loc)
	for _, s := range starts {
		if localDay(s, loc) == day {
			n++
		}
	}
	return n
}

func inWeek(starts []time.Time, t time.Time, loc *time.Location) int {
	n, week := 0, localMonday(t, loc)
	for _, s := range starts {
		if localMonday(s, loc).Equal(week) {
			n++
		}
	}
	return n
}

// free moves at past every cap of l that at breaks, and into l's window.
func (l mLimit) free(at time.Time) time.Time {
	p := l.pol
	loc := p.Window.Location
	at = later(at, l.lastEnd.Add(l.gap))
	for {
		before := at
		for p.HourlyCap > 0 {
			n, oldest := inHour(l.starts, at)
			if n < p.HourlyCap {
				break
			}
			at = oldest.Add(time.Hour) // the oldest leaves the hour
		}
		if p.DailyCap > 0 && onDay(l.starts, at, loc) >= p.DailyCap {
			lt := at.In(loc)
			at = p.Window.NextOpen(time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc))
		}
		if p.WeeklyCap > 0 && inWeek(l.starts, at, loc) >= p.WeeklyCap {
			mon := localMonday(at, loc)
			at = p.Window.NextOpen(time.Date(mon.Year(), mon.Month(), mon.Day()+7, 0, 0, 0, 0, loc))
		}
		at = p.Window.NextOpen(at)
		if at.Equal(before) {
			return at
		}
	}
}

// earliest is the earliest instant >= t at which r may start under every
// limit at once.
func (m *model) earliest(r pacer.Request, t time.Time) time.Time {
	ls := m.limits(r)
	at := t
	for range 1000 {
		before := at
		for _, l := range ls {
			at = l.free(at)
		}
		if at.Equal(before) {
			return at
		}
	}
	m.broken = fmt.Sprintf("model: no time found for %s from %s", r.ID, t)
	return at
}

// holdsBack lists the kinds of the limits that keep r from starting at some
// instant in [t, at): the pacer names one of them.
func (m *model) holdsBack(r pacer.Request, t, at time.Time) []string {
	var kinds []string
	add := func(k string) {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, l := range m.limits(r) {
		p, loc := l.pol, l.pol.Window.Location
		if t.Before(l.lastEnd.Add(l.gap)) {
			add(pacer.WaitSpacing)
		}
		// Caps only loosen as time passes (every start is in the past).
		if n, _ := inHour(l.starts, t); p.HourlyCap > 0 && n >= p.HourlyCap {
			add(pacer.WaitHourlyCap)
		}
		if p.DailyCap > 0 && onDay(l.starts, t, loc) >= p.DailyCap {
			add(pacer.WaitDailyCap)
		}
		if p.WeeklyCap > 0 && inWeek(l.starts, t, loc) >= p.WeeklyCap {
			add(pacer.WaitWeeklyCap)
		}
		if p.Window.ClosesAt(t).Before(at) {
			add(pacer.WaitWindow)
		}
	}
	return kinds
}

// order lists the requests that may go (their campaign not paused) in the
// order they would: earliest time, then campaign served longest ago, then
// the oldest request.
func (m *model) order(t time.Time) []mQueued {
	var out []mQueued
	for i, r := range m.queue {
		var served int64
		if c := m.findCamp(r.Campaign); c != nil {
			if c.paused {
				continue
			}
			served = c.lastServed
		}
		out = append(out, mQueued{i: i, at: m.earliest(r, t), served: served})
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if !x.at.Equal(y.at) {
			return x.at.Before(y.at)
		}
		if x.served != y.served {
			return x.served < y.served
		}
		return x.i < y.i
	})
	return out
}

// waits says why each queued request waits at t (aligned with the queue).
func (m *model) waits(t time.Time) []mWait {
	out := make([]mWait, len(m.queue))
	o := m.order(t)
	for pos, q := range o {
		switch {
		case q.at.After(t):
			out[q.i] = mWait{kind: "limit", kinds: m.holdsBack(m.queue[q.i], t, q.at), ahead: pos, nextAt: q.at}
		case m.holder != nil:
			out[q.i] = mWait{kind: pacer.WaitBusy, ahead: pos}
		case pos > 0:
			out[q.i] = mWait{kind: pacer.WaitQueued, ahead: pos, nextAt: o[0].at}
		default:
			out[q.i] = mWait{}
		}
	}
	for i, r := range m.queue {
		if c := m.findCamp(r.Campaign); c != nil && c.paused {
			out[i] = mWait{kind: pacer.WaitPaused}
		}
	}
	return out
}

// stopped says why r is refused, in the form canonStop gives the pacer's
// text, or "".
func (m *model) stopped(r pacer.Request) string {
	for _, s := range m.stops {
		if s.RecipientURN == "" {
			if s.Campaign != "" && s.Campaign == r.Campaign {
				return "stopped(campaign " + stopToken(s.Reason) + ")"
			}
			continue
		}
		if s.RecipientURN == r.Recipient && (s.Campaign == "" || s.Campaign == r.Campaign) {
			scope := "campaign"
			if s.Campaign == "" {
				scope = "every"
			}
			return "stopped(" + scope + " " + stopToken(s.Reason) + ")"
		}
	}
	return ""
}

const cancelReason = "the campaign was cancelled"

func stopToken(reason string) string {
	if reason == cancelReason {
		return "cancel"
	}
	return reason
}

var whyToken = regexp.MustCompile(`why#\d+`)

// canonStop reduces a refusal's text to what the model predicts: the scope
// of the stop that matched and its reason.
func canonStop(s string) string {
	if strings.Contains(s, "withdrawn before its turn") {
		return "withdrawn"
	}
	scope := "campaign"
	if strings.Contains(s, "every campaign") {
		scope = "every"
	}
	tok := whyToken.FindString(s)
	if strings.Contains(s, cancelReason) {
		tok = "cancel"
	}
	return "stopped(" + scope + " " + tok + ")"
}

func canonStopAnswer(s string) string {
	rec, scope := "recorded", "campaign"
	if strings.HasPrefix(s, "already") {
		rec = "already"
	}
	if strings.Contains(s, "every campaign") {
		scope = "every"
	}
	return "stop " + rec + " " + scope
}

func (m *model) remember(id string) {
	m.recent = append(m.recent, id)
	if n := len(m.recent) - mMaxRecent; n > 0 {
		m.recent = slices.Delete(m.recent, 0, n)
	}
}

func (m *model) enqueue(r pacer.Request, t time.Time, recentToo bool) {
	if m.known(r.ID) || (recentToo && slices.Contains(m.recent, r.ID)) {
		return
	}
	if r.At.IsZero() {
		r.At = t
	}
	m.queue = append(m.queue, r)
	m.queuedAt[r.ID] = [2]time.Time{t}
	m.camp(r.Campaign)
}

func (m *model) dequeue(i int, t time.Time) pacer.Request {
	r := m.queue[i]
	m.queue = slices.Delete(m.queue, i, i+1)
	q := m.queuedAt[r.ID]
	q[1] = t
	m.queuedAt[r.ID] = q
	return r
}

func (m *model) withdraw(id string, t time.Time) {
	if i := m.index(id); i >= 0 {
		m.dequeue(i, t)
	}
}

// answer answers the open update(s) of l.
func (m *model) answer(l *mLinger, o mObs) {
	for _, k := range l.keys {
		o.kind, o.id = "answer", k
		m.emit(o)
	}
	m.lingers = slices.DeleteFunc(m.lingers, func(x *mLinger) bool { return x == l })
}

// pass is one look of the pacer's loop at t: take back a vanished holder,
// refuse stopped requests, grant what is due, answer open updates.
func (m *model) pass(t time.Time) {
	m.now = t
	for range 10000 {
		if h := m.holder; h != nil {
			if !t.Before(h.until) { // its hold ran out
				m.cover["holder taken back: hold ran out"]++
				m.release(pacer.Release{ID: h.req.ID, Counted: true, Start: h.grantedAt, End: t}, t)
				continue
			}
			if len(m.queue) > 0 && !t.Before(h.nextCheck) {
				m.emit(mObs{at: t, kind: "check", id: h.req.WorkflowID})
				if m.gone(h.req.WorkflowID) { // its run has ended
					m.cover["holder taken back: run ended"]++
					m.release(pacer.Release{ID: h.req.ID, Counted: true, Start: h.grantedAt, End: t}, t)
					continue
				}
				h.nextCheck = checkAfter(t)
			}
		}
		if i := slices.IndexFunc(m.queue, func(r pacer.Request) bool { return m.stopped(r) != "" }); i >= 0 {
			m.grant(i, t)
			continue
		}
		if m.holder == nil {
			if o := m.order(t); len(o) > 0 && !o[0].at.After(t) {
				if len(o) > 1 && o[1].at.Equal(o[0].at) {
					if o[1].served != o[0].served {
						m.cover["tie broken by campaign served longest ago"]++
					} else {
						m.cover["tie broken by the oldest request"]++
					}
				}
				m.grant(o[0].i, t)
				continue
			}
		}
		m.answerLingerers(t)
		if wake := m.wake(t); !wake.IsZero() && (m.timerWake.IsZero() || wake.Before(m.timerWake)) {
			m.timerWake, m.timerFire = wake, later(wake, t.Add(time.Millisecond))
		}
		return
	}
	m.broken = "model: the pacer's loop never settles at " + t.String()
}

// grant gives the slot to queued request i, or refuses it when stopped,
// through its open update or by signal; a requester that is gone loses it.
func (m *model) grant(i int, t time.Time) {
	r := m.dequeue(i, t)
	m.remember(r.ID)
	why := m.stopped(r)
	if why == "" {
		hold := time.Duration(r.Hold)
		if hold <= 0 {
			hold = mDefaultHold
		}
		m.holder = &mHolder{req: r, grantedAt: t, until: t.Add(hold), nextCheck: checkAfter(t)}
		m.served++
		m.camp(r.Campaign).lastServed = m.served
	}
	if why == "" {
		if q := m.queuedAt[r.ID][0]; t.After(q) {
			for _, k := range m.holdsBack(r, q, t) {
				m.cover["granted after waiting for "+k]++
			}
		}
		if _, ok := m.campaignPolicy(r); ok {
			m.cover["granted under its campaign's own pacing"]++
		}
	}
	o := mObs{at: t, res: "granted", grantedAt: t}
	if why != "" {
		o.res, o.grantedAt = why, time.Time{}
	}
	if l := m.lingerer(r.ID); l != nil {
		if t.After(m.queuedAt[r.ID][0]) {
			m.cover["lingering update granted or refused later"]++
		}
		m.answer(l, o)
		return
	}
	o.kind, o.id = "grant", r.ID
	if m.gone(r.WorkflowID) {
		m.cover["grant lost: requester gone"]++
		o.res += " lost"
		if why == "" {
			m.holder = nil
		}
	}
	m.emit(o)
}

// release ends the holder's slot (counted: against every cap, and the next
// gap from its end), or withdraws a request still queued.
func (m *model) release(rel pacer.Release, t time.Time) {
	h := m.holder
	if h == nil || h.req.ID != rel.ID {
		m.withdraw(rel.ID, t)
		return
	}
	m.holder = nil
	if !rel.Counted {
		return
	}
	start, end := rel.Start, rel.End
	if start.IsZero() {
		start = h.grantedAt
	}
	if end.IsZero() || end.Before(start) {
		end = t
	}
	r := h.req
	m.checkLimits(r, start)
	m.actions++
	m.hist = append(m.hist, mAction{start: start, end: end, action: r.Action})
	m.lastEnd = end
	c := m.camp(r.Campaign)
	c.lastAt = end
	if _, ok := m.campaignPolicy(r); ok {
		c.paced++
		c.starts = append(c.starts, start)
		c.lastEnd = end
	}
	// Forget campaigns with nothing waiting, not paused, idle for a day.
	m.camps = slices.DeleteFunc(m.camps, func(c *mCamp) bool {
		waiting := slices.ContainsFunc(m.queue, func(q pacer.Request) bool { return q.Campaign == c.name })
		forget := !waiting && !c.paused && end.Sub(c.lastAt) > mForget
		if forget && c.paced > 0 {
			m.cover["campaign with pacing memory forgotten"]++
		}
		return forget
	})
	// Keep what a cap can still count (a week and a day).
	if i := slices.IndexFunc(m.hist, func(a mAction) bool { return a.start.After(end.Add(-8 * 24 * time.Hour)) }); i > 0 {
		m.hist = slices.Delete(m.hist, 0, i)
	}
}

// checkLimits checks, independently of how the model found the time, that
// an action counted with this start kept every limit: in the hours, after
// the gap, under every cap.
func (m *model) checkLimits(r pacer.Request, start time.Time) {
	for _, l := range m.limits(r) {
		p, loc := l.pol, l.pol.Window.Location
		var problem string
		switch {
		case !p.Window.Open(start):
			problem = "outside the window " + p.Window.String()
		case start.Before(l.lastEnd.Add(l.gap)):
			problem = fmt.Sprintf("%s after the previous end, gap %s", start.Sub(l.lastEnd), l.gap)
		case p.HourlyCap > 0 && func() bool { n, _ := inHour(l.starts, start); return n >= p.HourlyCap }():
			problem = fmt.Sprintf("over the hourly cap %d", p.HourlyCap)
		case p.DailyCap > 0 && onDay(l.starts, start, loc) >= p.DailyCap:
			problem = fmt.Sprintf("over the daily cap %d", p.DailyCap)
		case p.WeeklyCap > 0 && inWeek(l.starts, start, loc) >= p.WeeklyCap:
			problem = fmt.Sprintf("over the weekly cap %d", p.WeeklyCap)
		}
		if problem != "" && m.broken == "" {
			m.broken = fmt.Sprintf("action %s started %s: %s", r.ID, start, problem)
		}
	}
}

// answerLingerers answers the open updates that will not be granted by
// their deadline: their request waits for a limit that ends after it, or
// for something without a time, or behind another request.
func (m *model) answerLingerers(t time.Time) {
	if len(m.lingers) == 0 {
		return
	}
	ws := m.waits(t)
	for _, l := range slices.Clone(m.lingers) {
		i := m.index(l.id)
		if i < 0 {
			m.answer(l, mObs{at: t, res: "withdrawn"})
			continue
		}
		w := ws[i]
		// Near: next in line, and either another action is in flight or
		// its own limit opens by the deadline.
		near := w.ahead == 0 && (w.kind == pacer.WaitBusy || w.kind == "limit" && !w.nextAt.After(l.deadline))
		if near && w.kind == pacer.WaitBusy {
			m.cover["update lingers: busy"]++
		}
		if near && w.kind == "limit" {
			m.cover["update lingers: limit ends by the deadline"]++
		}
		if !near || !t.Before(l.deadline) {
			if near {
				m.cover["lingering update answered at its deadline"]++
			}
			for _, k := range w.kinds {
				m.cover["wait answered: "+k]++
			}
			if len(w.kinds) == 1 {
				m.cover["wait answered, kind certain"]++
			}
			m.answer(l, mObs{at: t, res: "waiting", want: &w})
		}
	}
}

// answerAll answers every open update as waiting (the run ends).
func (m *model) answerAll(t time.Time) {
	ws := m.waits(t)
	for _, l := range slices.Clone(m.lingers) {
		if i := m.index(l.id); i >= 0 {
			m.answer(l, mObs{at: t, res: "waiting", want: &ws[i]})
		} else {
			m.answer(l, mObs{at: t, res: "withdrawn"})
		}
	}
}

// wake is when the pacer must look again by itself, seen at t: an open
// update's deadline; while a request waits, the holder's hold or next
// check; with no holder, the first request's time.
func (m *model) wake(t time.Time) time.Time {
	var e time.Time
	consider := func(x time.Time) {
		if e.IsZero() || x.Before(e) {
			e = x
		}
	}
	for _, l := range m.lingers {
		consider(l.deadline)
	}
	if h := m.holder; h != nil {
		if len(m.queue) > 0 {
			consider(h.until)
			consider(h.nextCheck)
		}
	} else if o := m.order(t); len(o) > 0 {
		consider(o[0].at)
	}
	return e
}

// nextEvent is when the pacer's timer fires.
func (m *model) nextEvent() (time.Time, bool) {
	return m.timerFire, !m.timerFire.IsZero()
}

// advance plays the pacer's own looks before to.
func (m *model) advance(to time.Time) {
	for range 100000 {
		if m.broken != "" {
			return
		}
		e, ok := m.nextEvent()
		if !ok || !e.Before(to) {
			return
		}
		m.timerWake, m.timerFire = time.Time{}, time.Time{}
		m.pass(e)
	}
	m.broken = "model: events never end before " + to.String()
}

// newRun is a new pacer run (continue-as-new): without a timer.
func (m *model) newRun() { m.timerWake, m.timerFire = time.Time{}, time.Time{} }

// Operations, as the pacer receives them.

func (m *model) acquireSignal(r pacer.Request, t time.Time) {
	if r.ID != "" && r.WorkflowID != "" && slices.Contains(pacer.Actions, r.Action) {
		m.enqueue(r, t, true)
	}
	m.pass(t)
}

func (m *model) acquireUpdate(key string, r pacer.Request, t time.Time) {
	defer m.pass(t)
	if h := m.holder; h != nil && h.req.ID == r.ID { // asked again: its answer was lost
		m.cover["asked again while holding"]++
		m.emit(mObs{at: t, kind: "answer", id: key, res: "granted", grantedAt: h.grantedAt})
		return
	}
	if l := m.lingerer(r.ID); l != nil { // asked again while open: the same answer
		m.cover["asked again while its update is open"]++
		l.keys = append(l.keys, key)
		return
	}
	if why := m.stopped(r); why != "" {
		m.withdraw(r.ID, t)
		m.emit(mObs{at: t, kind: "answer", id: key, res: why})
		return
	}
	m.enqueue(r, t, false)
	m.lingers = append(m.lingers, &mLinger{id: r.ID, keys: []string{key}, deadline: t.Add(min(time.Duration(r.Linger), workflows.MaxLinger))})
}

func (m *model) stop(sr pacer.StopRequest) string {
	scope := "campaign"
	if sr.Campaign == "" {
		scope = "every"
	}
	// Already stopped only by a stop of this person: a campaign's cancel
	// does not count, since the campaign may be started again.
	for _, st := range m.stops {
		if st.RecipientURN == sr.RecipientURN && (st.Campaign == "" || st.Campaign == sr.Campaign) {
			return "stop already " + scope
		}
	}
	m.stops = append(m.stops, sr)
	return "stop recorded " + scope
}

func (m *model) pause(p pacer.CampaignPause) {
	c := m.camp(p.Campaign)
	c.paused = p.Paused && !p.Cancelled
	c.why = ""
	if c.paused {
		c.why = p.Reason
	}
	switch {
	case p.Cancelled: // its requests are refused until it is resumed (started again)
		m.stops = append(m.stops, pacer.StopRequest{Campaign: p.Campaign, Reason: cancelReason})
	case !p.Paused:
		m.stops = slices.DeleteFunc(m.stops, func(s pacer.StopRequest) bool { return s.RecipientURN == "" && s.Campaign == p.Campaign })
	}
}

// ---------------------------------------------------------------------------
// The driver

type modelRun struct {
	t      *testing.T
	seed   int64
	rng    *rand.Rand
	cfg    modelConfig
	m      *model
	env    *testsuite.TestWorkflowEnvironment
	ops    int
	maxOps int
	trace  bool
	log    []string // the latest operations, for failures

	mu      sync.Mutex
	got     []mObs
	notices []mObs
	gone    map[string]bool

	next       time.Duration // to the next operation
	canPending bool
	carried    string // what the model would carry through continue-as-new
	canAt      time.Time
	final      bool
	failed     bool

	n       int                      // requests made
	reqs    map[string]pacer.Request // every request, by id
	updates map[string]string        // acquire update id -> request id
	granted []string                 // requests granted, for late releases
	nstop   int
	people  []string
	counts  map[string]int
	seen    map[string]int // decisions compared, by kind
}

func runPacerModel(t *testing.T, seed int64, ops int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	cfg := newModelConfig(rng)
	r := &modelRun{t: t, seed: seed, rng: rng, cfg: cfg, maxOps: ops, trace: os.Getenv("OUTPACE_PACER_TRACE") != "",
		gone: map[string]bool{}, reqs: map[string]pacer.Request{}, updates: map[string]string{}, counts: map[string]int{}, seen: map[string]int{}}
	r.m = newModel(cfg, func(wf string) bool { return r.gone[wf] })
	t.Logf("%s", cfg)
	in := pacer.Input{Sender: senders.Default}
	at := cfg.start
	r.next = r.chooseNext(at)
	for runs := 1; ; runs++ {
		next, more := r.segment(in, at)
		if !more {
			list := func(c map[string]int) string {
				var keys []string
				for k, v := range c {
					keys = append(keys, fmt.Sprintf("%s %d", k, v))
				}
				slices.Sort(keys)
				return strings.Join(keys, ", ")
			}
			t.Logf("%d operations over %s of virtual time in %d pacer runs; %d actions counted\n  operations: %s\n  decisions compared: %s\n  situations: %s",
				r.ops, r.m.now.Sub(cfg.start).Round(time.Minute), runs, r.m.actions, list(r.counts), list(r.seen), list(r.m.cover))
			modelTotals.Lock()
			for k, v := range r.seen {
				modelTotals.seen[k] += v
			}
			for k, v := range r.m.cover {
				modelTotals.cover[k] += v
			}
			modelTotals.Unlock()
			return
		}
		in, at = next, r.canAt
	}
}

func (r *modelRun) fail(format string, args ...any) {
	if r.failed {
		return
	}
	r.failed = true
	from := max(0, len(r.log)-25)
	r.t.Errorf("op %d (seed %d): %s\n\nlatest operations:\n  %s\n\nreplay: OUTPACE_PACER_SEED=%d OUTPACE_PACER_OPS=%d OUTPACE_PACER_TRACE=1 go test -count=1 -run 'TestPacerModel' ./workflows/",
		r.ops, r.seed, fmt.Sprintf(format, args...), strings.Join(r.log[from:], "\n  "), r.seed, r.maxOps)
	if r.env != nil {
		r.env.CancelWorkflow()
	}
}

// segment runs one pacer run, from its input at start, until it continues
// as new (it returns the next run's input) or the operations are done.
func (r *modelRun) segment(in pacer.Input, start time.Time) (pacer.Input, bool) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(5 * time.Minute)
	env.SetStartTime(start)
	env.RegisterWorkflow(workflows.SenderPacer)
	client, err := outx.New("http://127.0.0.1:1", "unused") // the pacer makes no OutX call
	if err != nil {
		r.t.Fatal(err)
	}
	env.RegisterActivity(&activities.Activities{
		Accounts: map[string]*outx.Client{senders.Default: client},
		Senders:  senders.Config{Accounts: []senders.Account{{Name: senders.Default, Limits: r.cfg.limits}}},
	})
	var a *activities.Activities
	env.OnActivity(a.RunOpen, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RunInput) (bool, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, mObs{at: env.Now(), kind: "check", id: in.WorkflowID})
		return !r.gone[in.WorkflowID], nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, pacer.SignalGranted, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			g := arg.(pacer.Grant)
			r.mu.Lock()
			defer r.mu.Unlock()
			var err error
			if r.gone[workflowID] {
				err = errors.New("the requester is gone")
			}
			if g.Notice != nil {
				r.notices = append(r.notices, mObs{at: env.Now(), kind: "notice", id: g.ID, wait: g.Notice})
				return err
			}
			o := mObs{at: env.Now(), kind: "grant", id: g.ID, res: "granted", grantedAt: g.GrantedAt}
			if g.Stopped != "" {
				o.res = canonStop(g.Stopped)
			}
			if err != nil {
				o.res += " lost"
			}
			r.got = append(r.got, o)
			return err
		})
	if r.trace { // the pacer's timers and activities too
		env.SetOnTimerScheduledListener(func(id string, d time.Duration) {
			r.t.Logf("    pacer: timer %s set at %s for %s", id, clockOf(env.Now()), clockOf(env.Now().Add(d)))
		})
		env.SetOnTimerFiredListener(func(id string) { r.t.Logf("    timer %s fired at %s", id, clockOf(env.Now())) })
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			r.t.Logf("    pacer: activity %s at %s", info.ActivityType.Name, clockOf(env.Now()))
		})
	}
	r.env = env
	env.RegisterDelayedCallback(r.step, r.next)
	env.ExecuteWorkflow(workflows.SenderPacer, in)
	werr := env.GetWorkflowError()
	if r.failed {
		return pacer.Input{}, false
	}
	if r.canPending {
		r.canPending = false
		var can *workflow.ContinueAsNewError
		if !errors.As(werr, &can) {
			r.fail("the pacer ended with %v, want it to continue as new", werr)
			return pacer.Input{}, false
		}
		var next pacer.Input
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			r.fail("continue-as-new input: %v", err)
			return pacer.Input{}, false
		}
		r.checkCarried(next)
		return next, !r.failed
	}
	if !r.final || !temporal.IsCanceledError(werr) {
		r.fail("the pacer ended with %v before the operations were done", werr)
		return pacer.Input{}, false
	}
	r.compare(r.m.now)
	return pacer.Input{}, false
}

// step is one operation, at a virtual time the model has no event of its
// own within a millisecond of (so that the order of things is certain).
func (r *modelRun) step() {
	if r.failed {
		return
	}
	now := r.env.Now()
	r.m.advance(now)
	if !r.compare(now) {
		return
	}
	if r.ops >= r.maxOps {
		// The end: an operator's cancel. The pacer's open updates fail
		// "canceled".
		r.final = true
		r.m.answerAll(now)
		for i := range r.m.want {
			if o := &r.m.want[i]; o.kind == "answer" && o.at.Equal(now) {
				o.orCanceled = true
			}
		}
		r.m.now = now
		r.env.CancelWorkflow()
		return
	}
	r.ops++
	r.do(now)
	if r.failed {
		return
	}
	if r.m.broken != "" {
		r.fail("%s", r.m.broken)
		return
	}
	r.next = r.chooseNext(now)
	if !r.canPending {
		r.env.RegisterDelayedCallback(r.step, r.next)
	}
}

func (r *modelRun) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)))
}

func (r *modelRun) chance(p float64) bool { return r.rng.Float64() < p }

// chooseNext picks the time of the next operation: mostly soon, sometimes
// hours or a day later (caps and windows pass), never within a millisecond
// of something the pacer does by itself.
func (r *modelRun) chooseNext(now time.Time) time.Duration {
	var d time.Duration
	switch x := r.rng.Float64(); {
	case x < 0.45:
		d = r.between(time.Millisecond, 90*time.Second)
	case x < 0.80:
		d = r.between(90*time.Second, 20*time.Minute)
	case x < 0.95:
		d = r.between(20*time.Minute, 3*time.Hour)
	default:
		d = r.between(3*time.Hour, 30*time.Hour)
	}
	at := now.Add(d)
	for range 1000 {
		r.m.advance(at.Add(-time.Millisecond))
		e, ok := r.m.nextEvent()
		if !ok || !e.Before(at.Add(time.Millisecond)) {
			break
		}
		at = e.Add(r.between(2*time.Millisecond, time.Second))
	}
	return at.Sub(now)
}

func (r *modelRun) note(now time.Time, format string, args ...any) {
	s := fmt.Sprintf("%d %s %s", r.ops, now.UTC().Format("Mon 01-02 15:04:05.000000000"), fmt.Sprintf(format, args...))
	r.log = append(r.log, s)
	if len(r.log) > 200 {
		r.log = slices.Delete(r.log, 0, 100)
	}
	if r.trace {
		r.t.Log(s)
	}
}

func (r *modelRun) live(wf string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.gone[wf]
}

// do picks one operation by weight, applies it to the pacer and the model.
func (r *modelRun) do(now time.Time) {
	m := r.m
	liveQueued := slices.DeleteFunc(slices.Clone(m.queue), func(q pacer.Request) bool { return !r.live(q.WorkflowID) })
	liveHolder := m.holder != nil && r.live(m.holder.req.WorkflowID)
	w := map[string]float64{
		"ask": 30, "query": 8, "stop": 4, "pause": 4, "continue-as-new": 2, "invalid": 1,
	}
	switch n := len(m.queue); { // fewer new requests as the queue fills
	case n >= mQueueBound:
		w["ask"] = 0
	case n >= 8:
		w["ask"] = 6
	case n >= 4:
		w["ask"] = 15
	}
	if liveHolder {
		w["release"] = 35
	}
	if len(liveQueued) > 0 || liveHolder {
		w["vanish"] = 3
		w["ask-again"] = 4
	}
	if len(liveQueued) > 0 {
		w["withdraw"] = 3
	}
	if len(r.granted) > 0 {
		w["late-release"] = 2
	}
	var names []string
	var sum float64
	for k, v := range w {
		names = append(names, k)
		sum += v
	}
	slices.Sort(names)
	x := r.rng.Float64() * sum
	op := names[len(names)-1]
	for _, k := range names {
		if x < w[k] {
			op = k
			break
		}
		x -= w[k]
	}
	r.counts[op]++
	switch op {
	case "ask":
		r.ask(now)
	case "query":
		r.query(now)
	case "stop":
		r.stopOp(now, liveQueued)
	case "pause":
		r.pauseOp(now)
	case "continue-as-new":
		r.note(now, "continue as new")
		r.env.SetCurrentHistoryLength(5000)
		r.env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "poke"})
		m.release(pacer.Release{ID: "poke"}, now)
		m.answerAll(now) // the run answers its open updates and ends,
		r.carried = m.carried()
		m.newRun() // and the next one looks at once, at the same time
		m.pass(now)
		r.canPending, r.canAt = true, now
	case "invalid":
		r.invalid(now)
	case "release":
		r.releaseOp(now)
	case "vanish":
		var wfs []string
		for _, q := range liveQueued {
			wfs = append(wfs, q.WorkflowID)
		}
		if liveHolder {
			wfs = append(wfs, m.holder.req.WorkflowID)
		}
		wf := wfs[r.rng.IntN(len(wfs))]
		r.note(now, "requester %s vanishes", wf)
		r.mu.Lock()
		r.gone[wf] = true
		r.mu.Unlock()
	case "ask-again":
		r.askAgain(now, liveQueued, liveHolder)
	case "withdraw":
		q := liveQueued[r.rng.IntN(len(liveQueued))]
		r.note(now, "withdraw %s (its requester was cancelled)", q.ID)
		r.env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: q.ID})
		m.release(pacer.Release{ID: q.ID}, now)
		m.pass(now)
	case "late-release":
		id := r.granted[r.rng.IntN(len(r.granted))]
		if m.holder != nil && m.holder.req.ID == id {
			id = "never-granted"
		}
		rel := pacer.Release{ID: id, Counted: true, Start: now.Add(-time.Hour), End: now}
		r.note(now, "late release of %s", id)
		r.env.SignalWorkflow(pacer.SignalRelease, rel)
		m.release(rel, now)
		m.pass(now)
	}
}

// person is a recipient: often someone new, often one of the latest (a
// person in two campaigns, or asked for again).
func (r *modelRun) person() string {
	if len(r.people) == 0 || r.chance(0.5) {
		r.people = append(r.people, fmt.Sprintf("urn:li:person:ACoAAP%03d", len(r.people)))
	}
	return r.people[max(0, len(r.people)-12)+r.rng.IntN(min(12, len(r.people)))]
}

func (r *modelRun) campaignOf(sequence bool) modelCampaign {
	var cs []modelCampaign
	for _, c := range r.cfg.campaigns {
		if c.sequence == sequence {
			cs = append(cs, c)
		}
	}
	return cs[r.rng.IntN(len(cs))]
}

// newRequest makes a request in one of the shapes real callers send.
func (r *modelRun) newRequest(now time.Time) (pacer.Request, string) {
	r.n++
	person := r.person()
	short := strings.TrimPrefix(person, "urn:li:person:")
	req := pacer.Request{Action: pacer.ActionMessage, Recipient: person}
	var shape string
	switch x := r.rng.IntN(100); {
	case x < 20: // starter send: no campaign fields
		shape = "single send"
		req.WorkflowID = fmt.Sprintf("send-%s-%d", short, r.n)
	case x < 40: // a message campaign's message (SendMessage child)
		c := r.campaignOf(false)
		shape = "campaign message"
		req.Campaign, req.CampaignPacing = c.id, c.limits
		req.WorkflowID = fmt.Sprintf("%s/%s-%d", c.id, short, r.n)
	case x < 50: // a message campaign's profile look-up (the campaign itself)
		c := r.campaignOf(false)
		shape = "profile look-up"
		req.Action, req.Recipient, req.Campaign = pacer.ActionLookup, "", c.id
		req.WorkflowID = fmt.Sprintf("campaign-%s-%d", c.id, r.n)
	case x < 80: // a sequence step: a message or a connection request
		c := r.campaignOf(true)
		shape = "sequence step"
		if r.chance(0.6) {
			req.Action = pacer.ActionConnect
		}
		req.Campaign, req.CampaignPacing = c.id, c.limits
		req.WorkflowID = fmt.Sprintf("%s/%s-%d", c.id, short, r.n)
	case x < 96: // a sequence's connection check
		c := r.campaignOf(true)
		shape = "connection check"
		req.Action, req.Campaign = pacer.ActionLookup, c.id
		req.WorkflowID = fmt.Sprintf("%s/%s-%d", c.id, short, r.n)
	default: // a look-up carrying its campaign's pacing, which look-ups ignore
		c := r.campaignOf(r.chance(0.5))
		shape = "look-up with campaign pacing"
		req.Action, req.Campaign, req.CampaignPacing = pacer.ActionLookup, c.id, c.limits
		req.WorkflowID = fmt.Sprintf("%s/%s-%d", c.id, short, r.n)
	}
	req.RunID = fmt.Sprintf("run-%d", r.n)
	req.ID = fmt.Sprintf("%s/%s/%d", req.RunID, req.Action, r.n)
	switch x := r.rng.Float64(); {
	case x < 0.2: // none: the pacer's default
	case x < 0.4:
		req.Hold = pacer.Duration(workflows.DefaultSendDeadline + workflows.DefaultPollDeadline + time.Hour)
	default:
		req.Hold = pacer.Duration(r.between(10*time.Minute, 3*time.Hour))
	}
	if r.chance(0.85) {
		req.At = now
	}
	return req, shape
}

func (r *modelRun) ask(now time.Time) {
	req, shape := r.newRequest(now)
	r.reqs[req.ID] = req
	if r.chance(0.35) {
		r.note(now, "%s %s (%s, campaign %q, recipient %q) asks by signal", shape, req.ID, req.Action, req.Campaign, req.Recipient)
		r.env.SignalWorkflow(pacer.UpdateAcquire, req)
		r.m.acquireSignal(req, now)
		return
	}
	switch x := r.rng.Float64(); {
	case x < 0.35:
	case x < 0.75:
		req.Linger = pacer.Duration(mSlotLinger)
	default:
		req.Linger = pacer.Duration(r.between(time.Second, 8*time.Minute))
	}
	r.reqs[req.ID] = req
	r.note(now, "%s %s (%s, campaign %q, recipient %q) asks by update, linger %s", shape, req.ID, req.Action, req.Campaign, req.Recipient, req.Linger)
	r.acquireUpdate(now, req)
}

func (r *modelRun) acquireUpdate(now time.Time, req pacer.Request) {
	key := fmt.Sprintf("u%d", len(r.updates)+1)
	r.updates[key] = req.ID
	env := r.env
	env.UpdateWorkflow(pacer.UpdateAcquire, key, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "rejected"}) },
		OnComplete: func(v any, err error) {
			o := mObs{at: env.Now(), kind: "answer", id: key}
			a, ok := v.(pacer.Answer)
			switch {
			case err != nil:
				o.res = "error " + err.Error()
			case !ok:
				o.res = fmt.Sprintf("answer %T", v)
			case a.ID != req.ID:
				o.res = "answer for " + a.ID
			case a.Granted:
				o.res, o.grantedAt = "granted", a.GrantedAt
			case a.Stopped != "":
				o.res = canonStop(a.Stopped)
			case a.Waiting != nil:
				o.res, o.wait = "waiting", a.Waiting
			default:
				o.res = "empty answer"
			}
			r.record(o)
		},
	}, req)
	r.m.acquireUpdate(key, req, now)
}

func (r *modelRun) record(o mObs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, o)
}

func (r *modelRun) askAgain(now time.Time, liveQueued []pacer.Request, liveHolder bool) {
	var ids []string
	for _, q := range liveQueued {
		ids = append(ids, q.ID)
	}
	if liveHolder {
		ids = append(ids, r.m.holder.req.ID)
	}
	if r.chance(0.4) { // by signal, maybe one granted lately (a retried signal)
		if n := len(r.m.recent); n > 0 && r.chance(0.5) {
			ids = append(ids, r.m.recent[max(0, n-100)+r.rng.IntN(min(n, 100))])
		}
		req := r.reqs[ids[r.rng.IntN(len(ids))]]
		r.note(now, "%s asks again by signal", req.ID)
		r.env.SignalWorkflow(pacer.UpdateAcquire, req)
		r.m.acquireSignal(req, now)
		return
	}
	req := r.reqs[ids[r.rng.IntN(len(ids))]]
	req.Linger = pacer.Duration(mSlotLinger)
	if r.chance(0.3) {
		req.Linger = 0
	}
	r.note(now, "%s asks again by update, linger %s", req.ID, req.Linger)
	r.acquireUpdate(now, req)
}

func (r *modelRun) releaseOp(now time.Time) {
	h := r.m.holder
	rel := pacer.Release{ID: h.req.ID, Counted: r.chance(0.85)}
	if rel.Counted {
		if r.chance(0.5) {
			rel.Start = h.grantedAt
		}
		switch x := r.rng.Float64(); {
		case x < 0.6 && now.After(h.grantedAt):
			rel.End = h.grantedAt.Add(r.between(0, now.Sub(h.grantedAt)+1))
		case x < 0.9:
			rel.End = now
		} // else none: the pacer takes its own time
	}
	r.note(now, "%s releases (counted %v, start %s, end %s)", h.req.ID, rel.Counted, clockOf(rel.Start), clockOf(rel.End))
	r.granted = append(r.granted, h.req.ID)
	r.env.SignalWorkflow(pacer.SignalRelease, rel)
	r.m.release(rel, now)
	r.m.pass(now)
}

func clockOf(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05.000000000")
}

func (r *modelRun) stopOp(now time.Time, liveQueued []pacer.Request) {
	r.nstop++
	sr := pacer.StopRequest{RecipientURN: r.person(), Reason: fmt.Sprintf("why#%d", r.nstop)}
	var of *pacer.Request
	if len(liveQueued) > 0 && r.chance(0.7) {
		q := liveQueued[r.rng.IntN(len(liveQueued))]
		if q.Recipient != "" {
			of = &q
			sr.RecipientURN = q.Recipient
		}
	}
	if r.chance(0.6) {
		switch {
		case of != nil && of.Campaign != "" && r.chance(0.6):
			sr.Campaign = of.Campaign
		default:
			sr.Campaign = r.cfg.campaigns[r.rng.IntN(len(r.cfg.campaigns))].id
		}
	}
	if r.chance(0.15) {
		sr.Reason = ""
	}
	if r.chance(0.5) {
		r.note(now, "stop %s in campaign %q (%s) by signal", sr.RecipientURN, sr.Campaign, sr.Reason)
		r.env.SignalWorkflow(pacer.StopRecipient, sr)
		r.m.stop(sr)
		r.m.pass(now)
		return
	}
	key := fmt.Sprintf("stop%d", r.nstop)
	r.note(now, "stop %s in campaign %q (%s) by update %s", sr.RecipientURN, sr.Campaign, sr.Reason, key)
	env := r.env
	env.UpdateWorkflow(pacer.StopRecipient, key, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "rejected"}) },
		OnComplete: func(v any, err error) {
			s, _ := v.(string)
			if err != nil {
				s = "error " + err.Error()
			}
			r.record(mObs{at: env.Now(), kind: "answer", id: key, res: canonStopAnswer(s)})
		},
	}, sr)
	r.m.emit(mObs{at: now, kind: "answer", id: key, res: r.m.stop(sr)})
	r.m.pass(now)
}

func (r *modelRun) pauseOp(now time.Time) {
	c := r.cfg.campaigns[r.rng.IntN(len(r.cfg.campaigns))]
	// As a campaign sends them (workflows/campaign.go): a pause with its
	// reason; a resume, also sent by a campaign started again under the
	// same id; a cancel.
	var p pacer.CampaignPause
	var what string
	switch x := r.rng.Float64(); {
	case x < 0.4:
		r.nstop++
		p, what = pacer.CampaignPause{Campaign: c.id, Paused: true, Reason: fmt.Sprintf("why#%d", r.nstop)}, "pause"
	case x < 0.9:
		p, what = pacer.CampaignPause{Campaign: c.id}, "resume (or start again)"
	default:
		p, what = pacer.CampaignPause{Campaign: c.id, Cancelled: true}, "cancel"
	}
	r.note(now, "campaign %s: %s", c.id, what)
	r.env.SignalWorkflow(pacer.SignalCampaignPause, p)
	r.m.pause(p)
	r.m.pass(now)
}

// invalid sends what the pacer must refuse without changing anything.
func (r *modelRun) invalid(now time.Time) {
	req, _ := r.newRequest(now)
	switch r.rng.IntN(4) {
	case 0: // refused by the update's validator: the loop does not even look
		req.Action = "like"
		r.note(now, "invalid acquire update (action %q)", req.Action)
		key := fmt.Sprintf("u%d", len(r.updates)+1)
		r.updates[key] = req.ID
		env := r.env
		env.UpdateWorkflow(pacer.UpdateAcquire, key, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "rejected"}) },
			OnComplete: func(any, error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "accepted"}) },
		}, req)
		r.m.emit(mObs{at: now, kind: "answer", id: key, res: "rejected"})
	case 1: // an acquire signal without a workflow to grant to: ignored
		req.WorkflowID = ""
		r.note(now, "invalid acquire signal (no workflow id)")
		r.env.SignalWorkflow(pacer.UpdateAcquire, req)
		r.m.acquireSignal(req, now)
	case 2:
		r.nstop++
		key := fmt.Sprintf("stop%d", r.nstop)
		sr := pacer.StopRequest{RecipientURN: "https://www.linkedin.com/in/someone", Campaign: "c1"}
		r.note(now, "invalid stop update %s", key)
		env := r.env
		env.UpdateWorkflow(pacer.StopRecipient, key, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "rejected"}) },
			OnComplete: func(any, error) { r.record(mObs{at: env.Now(), kind: "answer", id: key, res: "accepted"}) },
		}, sr)
		r.m.emit(mObs{at: now, kind: "answer", id: key, res: "rejected"})
	default:
		r.note(now, "invalid stop signal")
		r.env.SignalWorkflow(pacer.StopRecipient, pacer.StopRequest{RecipientURN: "ACoAANoPrefix"})
		r.m.pass(now)
	}
}

// ---------------------------------------------------------------------------
// Comparisons

func sortObs(os []mObs) {
	sort.SliceStable(os, func(i, j int) bool {
		a, b := os[i], os[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.id < b.id
	})
}

func (o mObs) String() string {
	s := fmt.Sprintf("%s %s %s %s", o.at.UTC().Format("Mon 01-02 15:04:05.000000000"), o.kind, o.id, o.res)
	if !o.grantedAt.IsZero() {
		s += " at " + clockOf(o.grantedAt)
	}
	if w := o.wait; w != nil {
		s += fmt.Sprintf(" {kind %s, ahead %d, next %s: %s}", w.Kind, w.Ahead, clockOf(w.NextAt), w.Reason)
	}
	if w := o.want; w != nil {
		s += fmt.Sprintf(" {kind %s %v, ahead %d, next %s}", w.kind, w.kinds, w.ahead, clockOf(w.nextAt))
	}
	return s
}

// matchWait compares a wait with the model's.
func matchWait(got pacer.Wait, want mWait) string {
	switch want.kind {
	case "limit":
		if !slices.Contains(want.kinds, got.Kind) {
			return fmt.Sprintf("kind %q, want one of %v", got.Kind, want.kinds)
		}
	default:
		if got.Kind != want.kind {
			return fmt.Sprintf("kind %q, want %q", got.Kind, want.kind)
		}
	}
	if got.Ahead != want.ahead {
		return fmt.Sprintf("ahead %d, want %d", got.Ahead, want.ahead)
	}
	if !got.NextAt.Equal(want.nextAt) {
		return fmt.Sprintf("next at %s, want %s", clockOf(got.NextAt), clockOf(want.nextAt))
	}
	return ""
}

func matchObs(got, want mObs) string {
	if want.orCanceled {
		if got.at.Equal(want.at) && got.kind == want.kind && got.id == want.id && strings.HasPrefix(got.res, "error canceled") {
			return ""
		}
		return "differs (want the update failed: canceled)"
	}
	switch {
	case !got.at.Equal(want.at) || got.kind != want.kind || got.id != want.id || got.res != want.res:
		return "differs"
	case !got.grantedAt.Equal(want.grantedAt):
		return "granted at differs"
	case want.want != nil && got.wait == nil:
		return "no wait"
	case want.want != nil:
		return matchWait(*got.wait, *want.want)
	}
	return ""
}

// compare checks every decision the pacer took up to now against the model.
func (r *modelRun) compare(now time.Time) bool {
	if r.failed {
		return false
	}
	if r.m.broken != "" {
		r.fail("%s", r.m.broken)
		return false
	}
	r.mu.Lock()
	got, notices := r.got, r.notices
	r.got, r.notices = nil, nil
	r.mu.Unlock()
	want := r.m.want
	r.m.want = nil
	sortObs(got)
	sortObs(want)
	for _, o := range want {
		res, _, _ := strings.Cut(o.res, "(")
		r.seen[strings.TrimSpace(o.kind+" "+res)]++
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		var why string
		switch {
		case i >= len(got):
			why = "missing"
		case i >= len(want):
			why = "unexpected"
		default:
			why = matchObs(got[i], want[i])
		}
		if why != "" {
			var b strings.Builder
			fmt.Fprintf(&b, "the pacer's decisions differ from the model's (%s, at #%d):\n  pacer:", why, i)
			for _, o := range got {
				b.WriteString("\n    " + o.String())
			}
			b.WriteString("\n  model:")
			for _, o := range want {
				b.WriteString("\n    " + o.String())
			}
			r.fail("%s", b.String())
			return false
		}
	}
	for _, n := range notices {
		q, ok := r.m.queuedAt[n.id]
		switch {
		case !ok || n.at.Before(q[0]) || (!q[1].IsZero() && n.at.After(q[1])):
			r.fail("notice %s to a request not waiting then (queued %s to %s)", n, clockOf(q[0]), clockOf(q[1]))
			return false
		case !slices.Contains([]string{pacer.WaitHourlyCap, pacer.WaitDailyCap, pacer.WaitWeeklyCap, pacer.WaitWindow, pacer.WaitPaused}, n.wait.Kind):
			r.fail("notice %s for a short wait", n)
			return false
		}
	}
	return true
}

// query compares the pacer's status with the model's.
func (r *modelRun) query(now time.Time) {
	r.note(now, "query")
	v, err := r.env.QueryWorkflow(pacer.QueryStatus)
	if err != nil {
		r.fail("query: %v", err)
		return
	}
	var st pacer.Status
	if err := v.Get(&st); err != nil {
		r.fail("query: %v", err)
		return
	}
	m := r.m
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if st.Queued != len(m.queue) {
		bad("queued %d, want %d", st.Queued, len(m.queue))
	}
	switch h := m.holder; {
	case h == nil && st.Holder != nil:
		bad("holder %s, want none", st.Holder.Request.ID)
	case h != nil && st.Holder == nil:
		bad("no holder, want %s", h.req.ID)
	case h != nil:
		g := st.Holder
		if g.Request.ID != h.req.ID || !g.GrantedAt.Equal(h.grantedAt) || !g.Until.Equal(h.until) || !g.NextCheck.Equal(h.nextCheck) {
			bad("holder %s granted %s until %s next check %s, want %s granted %s until %s next check %s",
				g.Request.ID, clockOf(g.GrantedAt), g.Until, g.NextCheck, h.req.ID, clockOf(h.grantedAt), h.until, h.nextCheck)
		}
		if g.Request.Campaign != h.req.Campaign || g.Request.Recipient != h.req.Recipient || (g.Request.CampaignPacing == nil) != (h.req.CampaignPacing == nil) {
			bad("holder's request %+v, want %+v", g.Request, h.req)
		}
	}
	var nextAt time.Time
	if m.holder == nil {
		if o := m.order(now); len(o) > 0 {
			nextAt = o[0].at
		}
	}
	if !st.NextAt.Equal(nextAt) {
		bad("next at %s, want %s", clockOf(st.NextAt), clockOf(nextAt))
	}
	if st.Actions != m.actions {
		bad("actions %d, want %d", st.Actions, m.actions)
	}
	if st.Stopped != len(m.stops) {
		bad("stopped %d, want %d", st.Stopped, len(m.stops))
	}
	var camps, paused []string
	for _, c := range m.camps {
		if c.name == "" {
			continue // single sends are no campaign: the status leaves them out
		}
		camps = append(camps, c.name)
		if c.paused {
			paused = append(paused, c.name)
		}
	}
	if !slices.Equal(st.Campaign, camps) {
		bad("campaigns %q, want %q", st.Campaign, camps)
	}
	if !slices.Equal(st.Paused, paused) {
		bad("paused %q, want %q", st.Paused, paused)
	}
	ws := m.waits(now)
	var ids []int
	for _, q := range m.order(now) {
		ids = append(ids, q.i)
	}
	for i := range m.queue {
		if !slices.Contains(ids, i) {
			ids = append(ids, i)
		}
	}
	if len(st.Waiting) != min(len(ids), pacer.MaxStatusWaiting) {
		bad("%d waiting listed, want %d", len(st.Waiting), len(ids))
	} else {
		for k, i := range ids[:len(st.Waiting)] {
			got, want := st.Waiting[k], m.queue[i]
			if got.ID != want.ID {
				bad("waiting #%d is %s, want %s", k, got.ID, want.ID)
				break
			}
			if !got.Since.Equal(want.At) || got.Campaign != want.Campaign || got.Action != want.Action {
				bad("waiting #%d %s: since %s campaign %q action %s, want %s %q %s", k, got.ID, got.Since, got.Campaign, got.Action, want.At, want.Campaign, want.Action)
			}
			if why := matchWait(got.Wait, ws[i]); why != "" {
				bad("waiting #%d %s: %s (%s)", k, got.ID, why, got.Wait.Reason)
			}
		}
	}
	if len(problems) > 0 {
		r.fail("the pacer's status differs from the model's:\n  %s", strings.Join(problems, "\n  "))
	}
}

// carried sums up the state a run hands to the next.
func carriedOf(queue []string, holder string, actions, served int64, stops, camps int) string {
	return fmt.Sprintf("queue %v, holder %q, actions %d, served %d, %d stops, %d campaigns", queue, holder, actions, served, stops, camps)
}

func (m *model) carried() string {
	var q []string
	for _, r := range m.queue {
		q = append(q, r.ID)
	}
	var h string
	if m.holder != nil {
		h = m.holder.req.ID
	}
	return carriedOf(q, h, m.actions, m.served, len(m.stops), len(m.camps))
}

// checkCarried compares the state a run hands to the next with the model's.
func (r *modelRun) checkCarried(in pacer.Input) {
	st := in.State
	if st == nil {
		r.fail("continue-as-new without a state")
		return
	}
	var q []string
	for _, r := range st.Queue {
		q = append(q, r.ID)
	}
	var h string
	if st.Holder != nil {
		h = st.Holder.Request.ID
	}
	if got := carriedOf(q, h, st.Actions, st.Served, len(st.Stopped), len(st.Campaigns)); got != r.carried {
		r.fail("the state carried through continue-as-new differs from the model's:\n  pacer: %s\n  model: %s", got, r.carried)
	}
}
