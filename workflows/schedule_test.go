package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
)

// The pacer's pure core, table-tested with an explicit now: which request
// goes next and when, why each waits, who is stopped.

// mon9 is Monday 2 November 2026, 09:00 UTC.
var mon9 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func ptr(n int) *int { return &n }

// testSchedule is a schedule for an account with limits l.
func testSchedule(t *testing.T, l senders.Limits) *schedule {
	t.Helper()
	acct, types, err := AccountPolicies(l.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return &schedule{sender: "default", account: acct, types: types}
}

func req(id, campaign string, a pacer.Action) pacer.Request {
	return pacer.Request{ID: id, WorkflowID: "wf-" + id, Action: a, Campaign: campaign, Recipient: "urn:li:person:ACoAA" + id}
}

// done records a counted action of r from start to end.
func (s *schedule) done(t *testing.T, r pacer.Request, start, end time.Time) {
	t.Helper()
	s.enqueue(r, start, false)
	i := len(s.st.Queue) - 1
	if _, stopped := s.grant(i, start); stopped != "" {
		t.Fatalf("%s refused: %s", r.ID, stopped)
	}
	s.release(pacer.Release{ID: r.ID, Counted: true, Start: start, End: end}, end)
}

func TestScheduleNext(t *testing.T) {
	fixedGap := senders.Limits{TimeZone: "UTC", Days: "mon-fri", Hours: "09:00-18:00", MinGap: "2m", MaxGap: "2m",
		HourlyCap: ptr(0), DailyCap: ptr(0), Message: senders.Caps{HourlyCap: ptr(2), DailyCap: ptr(0)},
		Connect: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0), WeeklyCap: ptr(0)}, Lookup: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0)}}
	campaignLimits := &CampaignLimits{Pacing: Pacing{MinGap: dur(10 * time.Minute), MaxGap: dur(10 * time.Minute), HourlyCap: ptr(0), DailyCap: ptr(0)},
		Window: SendingWindow{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00"}}
	for _, tc := range []struct {
		name     string
		setup    func(s *schedule)
		now      time.Time
		wantID   string
		wantAt   time.Time
		wantKind string
	}{{
		name:   "an idle account grants at once",
		setup:  func(s *schedule) { s.enqueue(req("a", "", pacer.ActionMessage), mon9, false) },
		now:    mon9,
		wantID: "a", wantAt: mon9,
	}, {
		name: "the gap counts from the previous task's end",
		setup: func(s *schedule) {
			s.done(t, req("p", "", pacer.ActionMessage), mon9, mon9.Add(time.Minute))
			s.enqueue(req("a", "", pacer.ActionMessage), mon9.Add(time.Minute), false)
		},
		now:    mon9.Add(90 * time.Second),
		wantID: "a", wantAt: mon9.Add(3 * time.Minute), wantKind: pacer.WaitSpacing,
	}, {
		name: "the message type's hourly cap, not look-ups",
		setup: func(s *schedule) {
			s.done(t, req("p1", "", pacer.ActionMessage), mon9, mon9.Add(time.Minute))
			s.done(t, req("p2", "", pacer.ActionMessage), mon9.Add(4*time.Minute), mon9.Add(5*time.Minute))
			s.enqueue(req("m", "", pacer.ActionMessage), mon9.Add(10*time.Minute), false)
			s.enqueue(req("l", "", pacer.ActionLookup), mon9.Add(10*time.Minute), false)
		},
		now:    mon9.Add(10 * time.Minute),
		wantID: "l", wantAt: mon9.Add(10 * time.Minute),
	}, {
		name: "a capped message waits for the hour since the first",
		setup: func(s *schedule) {
			s.done(t, req("p1", "", pacer.ActionMessage), mon9, mon9.Add(time.Minute))
			s.done(t, req("p2", "", pacer.ActionMessage), mon9.Add(4*time.Minute), mon9.Add(5*time.Minute))
			s.enqueue(req("m", "", pacer.ActionMessage), mon9.Add(10*time.Minute), false)
		},
		now:    mon9.Add(10 * time.Minute),
		wantID: "m", wantAt: mon9.Add(time.Hour), wantKind: pacer.WaitHourlyCap,
	}, {
		name: "outside the account's hours: Monday 09:00",
		setup: func(s *schedule) {
			s.enqueue(req("a", "", pacer.ActionMessage), mon9.Add(-60*time.Hour), false)
		},
		now:    mon9.Add(-60 * time.Hour), // Friday 21:00
		wantID: "a", wantAt: mon9, wantKind: pacer.WaitWindow,
	}, {
		name: "a campaign's own gap applies to its messages",
		setup: func(s *schedule) {
			p := req("p", "c", pacer.ActionMessage)
			p.CampaignPacing = campaignLimits
			s.done(t, p, mon9, mon9.Add(time.Minute))
			a := req("a", "c", pacer.ActionMessage)
			a.CampaignPacing = campaignLimits
			s.enqueue(a, mon9.Add(time.Minute), false)
		},
		now:    mon9.Add(2 * time.Minute),
		wantID: "a", wantAt: mon9.Add(11 * time.Minute), wantKind: pacer.WaitSpacing,
	}, {
		name: "among equals, the campaign served longest ago",
		setup: func(s *schedule) {
			s.done(t, req("p", "x", pacer.ActionMessage), mon9, mon9.Add(time.Minute))
			s.enqueue(req("x2", "x", pacer.ActionMessage), mon9.Add(time.Minute), false)
			s.enqueue(req("y1", "y", pacer.ActionMessage), mon9.Add(2*time.Minute), false)
		},
		now:    mon9.Add(time.Hour),
		wantID: "y1", wantAt: mon9.Add(time.Hour),
	}, {
		name: "a paused campaign's request is passed over",
		setup: func(s *schedule) {
			s.enqueue(req("x1", "x", pacer.ActionMessage), mon9, false)
			s.enqueue(req("y1", "y", pacer.ActionMessage), mon9, false)
			s.pause(pacer.CampaignPause{Campaign: "x", Paused: true, Reason: "lunch"})
		},
		now:    mon9,
		wantID: "y1", wantAt: mon9,
	}, {
		name: "nothing when only paused campaigns wait",
		setup: func(s *schedule) {
			s.enqueue(req("x1", "x", pacer.ActionMessage), mon9, false)
			s.pause(pacer.CampaignPause{Campaign: "x", Paused: true})
		},
		now: mon9,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSchedule(t, fixedGap)
			tc.setup(s)
			i, at, why := s.next(tc.now)
			if tc.wantID == "" {
				if i >= 0 {
					t.Fatalf("next = %s, want none", s.st.Queue[i].ID)
				}
				return
			}
			if i < 0 {
				t.Fatalf("next = none, want %s", tc.wantID)
			}
			if got := s.st.Queue[i].ID; got != tc.wantID || !at.Equal(tc.wantAt) || why.Kind != tc.wantKind {
				t.Errorf("next = %s at %s (%q: %s), want %s at %s (%q)", got, at.Format(time.DateTime), why.Kind, why.Reason,
					tc.wantID, tc.wantAt.Format(time.DateTime), tc.wantKind)
			}
		})
	}
}

func TestScheduleWaitsAndStops(t *testing.T) {
	s := testSchedule(t, senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m"})
	s.enqueue(req("a", "c1", pacer.ActionMessage), mon9, false)
	s.enqueue(req("b", "c2", pacer.ActionMessage), mon9, false)
	s.enqueue(req("c", "c3", pacer.ActionMessage), mon9, false)
	if _, stopped := s.grant(0, mon9); stopped != "" {
		t.Fatal(stopped)
	}
	s.pause(pacer.CampaignPause{Campaign: "c3", Paused: true, Reason: "checking replies"})
	w := s.waits(mon9.Add(time.Second))
	if w[0].Kind != pacer.WaitBusy || w[0].Ahead != 0 {
		t.Errorf("b behind the action in flight: %+v", w[0])
	}
	if w[1].Kind != pacer.WaitPaused || !strings.Contains(w[1].Reason, "checking replies") {
		t.Errorf("c of the paused campaign: %+v", w[1])
	}
	if !longWait(w[1].Kind) || longWait(w[0].Kind) {
		t.Error("a pause is a long wait, an action in flight is not")
	}

	// Stops: one person in one campaign, everywhere, a whole campaign.
	s.applyStop(pacer.StopRequest{RecipientURN: "urn:li:person:ACoAAx", Campaign: "c1", Reason: "replied"})
	s.applyStop(pacer.StopRequest{RecipientURN: "urn:li:person:ACoAAy", Reason: "asked"})
	s.pause(pacer.CampaignPause{Campaign: "c4", Cancelled: true})
	for _, tc := range []struct {
		r    pacer.Request
		want string
	}{
		{pacer.Request{Recipient: "urn:li:person:ACoAAx", Campaign: "c1"}, "stopped: replied"},
		{pacer.Request{Recipient: "urn:li:person:ACoAAx", Campaign: "c2"}, ""},
		{pacer.Request{Recipient: "urn:li:person:ACoAAy", Campaign: "c2"}, "stopped in every campaign of the account: asked"},
		{pacer.Request{Recipient: "urn:li:person:ACoAAy"}, "stopped in every campaign of the account: asked"},
		{pacer.Request{Recipient: "urn:li:person:ACoAAz", Campaign: "c4"}, "stopped: the campaign was cancelled"},
		{pacer.Request{Recipient: "urn:li:person:ACoAAz"}, ""}, // a single send is no campaign's
	} {
		if got := s.stopped(tc.r); got != tc.want {
			t.Errorf("stopped(%s in %q) = %q, want %q", tc.r.Recipient, tc.r.Campaign, got, tc.want)
		}
	}
	// A person's stop while their campaign is cancelled is kept: the
	// campaign may be started again.
	if got := s.applyStop(pacer.StopRequest{RecipientURN: "urn:li:person:ACoAAz", Campaign: "c4"}); got != "stopped in campaign c4" {
		t.Errorf("stop in a cancelled campaign: %q", got)
	}
	s.pause(pacer.CampaignPause{Campaign: "c4"}) // started again
	if got := s.stopped(pacer.Request{Recipient: "urn:li:person:ACoAAz", Campaign: "c4"}); got == "" {
		t.Error("the person's stop was lost when the campaign was started again")
	}
}

// TestNoTaskCreated decides once, for every workflow, which activity
// failures certainly created no OutX task.
func TestNoTaskCreated(t *testing.T) {
	app := func(typ string) error { return temporal.NewNonRetryableApplicationError("x", typ, nil) }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"400 invalid input", app(activities.ErrInvalidInput), true},
		{"401", app(activities.ErrUnauthorized), true},
		{"404 no admin", app(activities.ErrNoAdmin), true},
		{"403 extension offline", app(activities.ErrExtensionOffline), true},
		{"429", app(activities.ErrRateLimited), true},
		{"refused connection, 503", app(activities.ErrNotSent), true},
		{"a sender the worker lacks", app(activities.ErrUnknownSender), true},
		{"on the do-not-contact list (checked before the request)", app(activities.ErrExcluded), true},
		{"contacted by another campaign (checked before the request)", app(activities.ErrContactedElsewhere), true},
		{"the contacts store unavailable (no request without its check)", app(activities.ErrContactsUnavailable), true},
		{"an ambiguous answer", app(activities.ErrAmbiguous), false},
		{"the task not found (it existed)", app(activities.ErrTaskNotFound), false},
		{"still pending", app(activities.ErrTaskPending), false},
		{"a profile not found (the look-up ran)", app(activities.ErrProfileNotFound), false},
		{"connections unreadable (the check ran)", app(activities.ErrConnectionsUnreadable), false},
		{"a timeout", temporal.NewTimeoutError(0, nil), false},
		{"cancelled", temporal.NewCanceledError(), false},
		{"anything unforeseen", app("Surprise"), false},
	} {
		if got := noTaskCreated(tc.err); got != tc.want {
			t.Errorf("%s: noTaskCreated = %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		res  SendMessageResult
		want bool
	}{
		{SendMessageResult{Outcome: Failed}, true},
		{SendMessageResult{Outcome: Invalid}, true},
		{SendMessageResult{Outcome: Stopped}, true},
		{SendMessageResult{Outcome: Excluded}, true},
		{SendMessageResult{Outcome: Skipped}, true},
		{SendMessageResult{Outcome: Failed, TaskID: "t1"}, false}, // failed by OutX: the task ran
		{SendMessageResult{Outcome: Unknown}, false},              // may have been created
		{SendMessageResult{Outcome: Delivered, TaskID: "t1"}, false},
	} {
		if got := tc.res.NoTask(); got != tc.want {
			t.Errorf("%+v.NoTask() = %v, want %v", tc.res, got, tc.want)
		}
	}
}

func dur(d time.Duration) *Duration { v := Duration(d); return &v }

func TestErrorTypes(t *testing.T) {
	for o, want := range map[string]string{
		Outcome(Failed).ErrorType():            "MessageFailed",
		NotConnected.errorType(sequenceErrors): "SequenceNotConnected",
		Stopped.errorType(connectionErrors):    "ConnectionStopped",
		Outcome("").errorType(sequenceErrors):  "Sequence",
	} {
		if o != want {
			t.Errorf("error type %q, want %q", o, want)
		}
	}
}

// TestPriorMadeNoTask: a campaign tries a person again only when their
// earlier run certainly made no OutX task: a message or connection request
// that failed, was invalid or stopped without a task id, or a sequence all
// of whose steps did so (waits and checks send nothing).
func TestPriorMadeNoTask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prior activities.PriorRun
		want  bool
	}{
		{"a message refused (401, no admin, unknown sender, offline past its deadline)", activities.PriorRun{Outcome: "failed"}, true},
		{"an invalid row", activities.PriorRun{Outcome: "invalid"}, true},
		{"stopped before sending", activities.PriorRun{Outcome: "stopped"}, true},
		{"failed by OutX's task", activities.PriorRun{Outcome: "failed", TaskID: "t1"}, false},
		{"delivered", activities.PriorRun{Outcome: "delivered", TaskID: "t1"}, false},
		{"unknown: may have been sent", activities.PriorRun{Outcome: "unknown"}, false},
		{"ended without a result (terminated)", activities.PriorRun{Status: "Terminated"}, false},
		{"a sequence whose first message was refused", activities.PriorRun{Outcome: "failed",
			Steps: []activities.PriorStep{{Outcome: "failed"}}}, true},
		{"a sequence stopped in a wait after a message", activities.PriorRun{Outcome: "stopped",
			Steps: []activities.PriorStep{{Outcome: "delivered", TaskID: "t1"}, {Outcome: "stopped"}}}, false},
		{"a sequence not connected", activities.PriorRun{Outcome: "not_connected",
			Steps: []activities.PriorStep{{Outcome: "delivered", TaskID: "t1"}, {Outcome: "not_connected"}}}, false},
		{"a sequence stopped before its first step, after a wait", activities.PriorRun{Outcome: "stopped",
			Steps: []activities.PriorStep{{Outcome: "done"}, {Outcome: "stopped"}}}, true},
	} {
		if got := priorMadeNoTask(tc.prior); got != tc.want {
			t.Errorf("%s: priorMadeNoTask = %v, want %v", tc.name, got, tc.want)
		}
	}
}
