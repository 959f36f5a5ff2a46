package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

func ptr(n int) *int { return &n }

// crowd is n people whose URNs start with prefix.
func crowd(prefix string, n int) []recipients.Recipient {
	rs := make([]recipients.Recipient, n)
	for i := range rs {
		rs[i] = person(fmt.Sprintf("urn:li:person:%s%03d", prefix, i), fmt.Sprintf("P%d", i))
	}
	return rs
}

// unpaced is a campaign with no limits of its own: only the account's apply.
func unpaced(in workflows.CampaignInput) workflows.CampaignInput {
	in.Pacing = workflows.Pacing{MinGap: dur(0), MaxGap: dur(0), HourlyCap: num(0), DailyCap: num(0)}
	in.Window = workflows.SendingWindow{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00"}
	return in
}

// tasksOf lists a team's tasks, oldest first.
func (h *stackHarness) tasksOf(team string) []outxtest.Task {
	var out []outxtest.Task
	for _, t := range h.sb.Tasks() {
		if t.Team == team {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b outxtest.Task) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// TestTwoCampaignsShareOneAccount runs a one-message campaign and a
// sequence campaign at once on one account: the account's pacer lets one
// task through at a time, spaced, capped and inside its hours, and serves
// both campaigns in turn.
func TestTwoCampaignsShareOneAccount(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-fri", Hours: "09:00-17:00", MinGap: "2m", MaxGap: "4m",
		HourlyCap: ptr(10), DailyCap: ptr(50), Message: senders.Caps{HourlyCap: ptr(6), DailyCap: ptr(20)}}
	h := newStack(t, map[string]senders.Limits{senders.Default: limits}, outxtest.Options{})
	h.env.SetTestTimeout(5 * time.Minute)
	one := unpaced(workflows.CampaignInput{CampaignID: "one", Template: "Hello {{first_name}}", Recipients: crowd("ACoAAOne", 25)})
	seq := unpaced(workflows.CampaignInput{CampaignID: "seq", Recipients: crowd("ACoAASeq", 25), Steps: []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
	}})
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{one, seq}})
	for i, p := range out {
		if p.Counts.Delivered != 25 {
			t.Errorf("campaign %d: %+v, want 25 delivered", i, p.Counts)
		}
	}
	tasks := h.tasksOf(senders.Default)
	if len(tasks) != 50 {
		t.Fatalf("%d tasks, want 50", len(tasks))
	}
	open := func(at time.Time) bool {
		u := at.UTC()
		return u.Weekday() != time.Saturday && u.Weekday() != time.Sunday && u.Hour() >= 9 && u.Hour() < 17
	}
	if err := outxtest.CheckAccountTasks(tasks, outxtest.AccountPacing{MinGap: 2 * time.Minute, HourlyCap: 6, DailyCap: 20, Open: open}); err != nil {
		t.Error(err)
	}
	// Turns: in the first 20 tasks, each campaign has about half.
	n := 0
	for _, task := range tasks[:20] {
		if strings.Contains(task.RecipientURN, "One") {
			n++
		}
	}
	if n < 8 || n > 12 {
		t.Errorf("campaign one had %d of the first 20 tasks, want about half: the campaigns must take turns", n)
	}
	// 50 messages at 20 a day: the third day is reached, on weekdays only.
	last := tasks[len(tasks)-1].CreatedAt
	if last.Weekday() != time.Wednesday {
		t.Errorf("last task on %s, want Wednesday (20 messages a day from Monday)", last.Weekday())
	}
}

// TestSendersDoNotSlowEachOther: two accounts' campaigns, run at once, each
// take as long as the same campaign run alone: each account has its own
// pacer.
func TestSendersDoNotSlowEachOther(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "5m", MaxGap: "5m",
		HourlyCap: ptr(0), DailyCap: ptr(0), Message: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0)}}
	campaign := func(id, sender string) workflows.CampaignInput {
		in := unpaced(workflows.CampaignInput{CampaignID: id, Sender: sender, Template: "Hello {{first_name}}", Recipients: crowd("ACoAA"+id, 10)})
		return in
	}
	span := func(tasks []outxtest.Task) time.Duration {
		return tasks[len(tasks)-1].FinishedAt.Sub(tasks[0].CreatedAt)
	}

	alone := newStack(t, map[string]senders.Limits{"alice": limits}, outxtest.Options{})
	alone.run(t, stackInput{Senders: []string{"alice"}, Campaigns: []workflows.CampaignInput{campaign("a", "alice")}})
	baseline := span(alone.tasksOf("alice"))

	both := newStack(t, map[string]senders.Limits{"alice": limits, "bob": limits}, outxtest.Options{})
	both.run(t, stackInput{Senders: []string{"alice", "bob"}, Campaigns: []workflows.CampaignInput{campaign("a", "alice"), campaign("b", "bob")}})
	ta, tb := both.tasksOf("alice"), both.tasksOf("bob")
	if len(ta) != 10 || len(tb) != 10 {
		t.Fatalf("alice %d tasks, bob %d; want 10 each", len(ta), len(tb))
	}
	for name, tasks := range map[string][]outxtest.Task{"alice": ta, "bob": tb} {
		if got := span(tasks); got > baseline+time.Minute {
			t.Errorf("%s's campaign took %s beside the other account's, %s alone: one account slowed the other", name, got, baseline)
		}
		if err := outxtest.CheckAccountTasks(tasks, outxtest.AccountPacing{MinGap: 5 * time.Minute}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The two accounts acted at the same time.
	overlap := 0
	for _, a := range ta {
		for _, b := range tb {
			if b.CreatedAt.Before(a.FinishedAt) && a.CreatedAt.Before(b.FinishedAt) {
				overlap++
			}
		}
	}
	if overlap == 0 {
		t.Error("no task of bob's ran while one of alice's was in flight: the accounts were paced as one")
	}
}

// TestWeeklyConnectionCap: connection requests stop at the weekly cap and
// resume the next week, whatever the daily cap allows.
func TestWeeklyConnectionCap(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m",
		HourlyCap: ptr(0), DailyCap: ptr(0), Connect: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(10), WeeklyCap: ptr(25)}}
	h := newStack(t, map[string]senders.Limits{senders.Default: limits}, outxtest.Options{})
	h.env.SetTestTimeout(5 * time.Minute)
	in := unpaced(workflows.CampaignInput{CampaignID: "invites", Recipients: crowd("ignores", 40), Steps: []workflows.Step{
		{Type: workflows.StepConnect},
	}})
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if out[0].Counts.Delivered != 40 {
		t.Errorf("counts %+v, want 40 delivered", out[0].Counts)
	}
	perWeek, perDay := map[string]int{}, map[string]int{}
	for _, task := range h.tasksOf(senders.Default) {
		y, w := task.CreatedAt.ISOWeek()
		perWeek[fmt.Sprintf("%d-W%02d", y, w)]++
		perDay[task.CreatedAt.Format(time.DateOnly)]++
	}
	for w, n := range perWeek {
		if n > 25 {
			t.Errorf("week %s: %d connection requests, cap 25", w, n)
		}
	}
	for d, n := range perDay {
		if n > 10 {
			t.Errorf("%s: %d connection requests, cap 10", d, n)
		}
	}
	// Sunday 1 Nov: 10 (week 44); Mon-Tue-Wed: 10+10+5 (week 45, capped);
	// then nothing until Monday 9 Nov.
	if perWeek["2026-W44"] != 10 || perWeek["2026-W45"] != 25 || perWeek["2026-W46"] != 5 {
		t.Errorf("requests per week = %v, want W44 10, W45 25, W46 5", perWeek)
	}
}

// TestStopRecipientEverywhere: a stop sent to the account's pacer, for
// every campaign, keeps the person from any further action in two
// campaigns, one of which has not reached them yet.
func TestStopRecipientEverywhere(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	target := "urn:li:person:ACoAATarget"
	first := sequenceCampaign("first", person(target, "Tia"))
	first.Steps = []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(48 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Following up, {{first_name}}"},
	}
	second := unpaced(workflows.CampaignInput{CampaignID: "second", Template: "Hello {{first_name}}",
		Recipients: append(crowd("ACoAAOther", 3), person(target, "Tia"))})
	second.Pacing.MinGap, second.Pacing.MaxGap = dur(12*time.Hour), dur(12*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		err := h.env.UpdateWorkflowByID(pacer.WorkflowID(testQueue, senders.Default), workflows.UpdateStopRecipient, "stop", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnComplete: func(any, error) {},
		}, workflows.StopRecipientRequest{RecipientURN: target, Reason: "replied to the first campaign"})
		if err != nil {
			t.Errorf("stop-recipient: %v", err)
		}
	}, 6*time.Hour)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{first, second}})
	if got := countOf(types(h.tasks(target)), "send_message"); got != 1 {
		t.Errorf("the stopped person got %d messages, want 1 (before the stop)", got)
	}
	if out[0].Counts.Stopped != 1 || out[1].Counts.Stopped != 1 || out[1].Counts.Delivered != 3 {
		t.Errorf("counts: first %+v, second %+v; want the person stopped in both and the others delivered", out[0].Counts, out[1].Counts)
	}
}

// TestWaitInSendingDays: a 3-day wait counted in sending days, from a
// Thursday with weekends off, ends on Tuesday.
func TestWaitInSendingDays(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	h.env.SetStartTime(time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)) // Thursday
	in := sequenceCampaign("days", person("urn:li:person:ACoAADays", "Di"))
	in.Window = workflows.SendingWindow{TimeZone: "UTC", Days: "mon-fri", Hours: "00:00-24:00"}
	in.Steps = []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(72 * time.Hour), SendingDaysOnly: true},
		{Type: workflows.StepMessage, Template: "Again, {{first_name}}"},
	}
	h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	msgs := messageTasks(h.tasks("urn:li:person:ACoAADays"))
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if d := msgs[1].CreatedAt.Weekday(); d != time.Tuesday {
		t.Errorf("follow-up on %s (%s), want Tuesday: Fri, Mon, Tue are the 3 sending days", d, msgs[1].CreatedAt)
	}
}

// pacerEnv runs SenderPacer alone, as the root, with the grants it signals
// recorded.
func pacerEnv(t *testing.T, limits senders.Limits) (*testsuite.TestWorkflowEnvironment, *[]pacer.Grant) {
	t.Helper()
	return pacerEnvWith(t, limits, nil)
}

// pacerEnvWith is pacerEnv with the suite set up by setup first.
func pacerEnvWith(t *testing.T, limits senders.Limits, setup func(*testsuite.WorkflowTestSuite)) (*testsuite.TestWorkflowEnvironment, *[]pacer.Grant) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	if setup != nil {
		setup(&suite)
	}
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(sunday)
	env.RegisterWorkflow(workflows.SenderPacer)
	client, err := outx.New("http://127.0.0.1:1", "unused") // the pacer makes no OutX call
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterActivity(&activities.Activities{
		Accounts: map[string]*outx.Client{senders.Default: client},
		Senders:  senders.Config{Accounts: []senders.Account{{Name: senders.Default, Limits: limits}}},
	})
	var mu sync.Mutex
	grants := &[]pacer.Grant{}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, pacer.SignalGranted, mock.Anything).
		Return(func(_, _, _, _ string, arg any) error {
			mu.Lock()
			defer mu.Unlock()
			*grants = append(*grants, arg.(pacer.Grant))
			return nil
		})
	return env, grants
}

func slotRequest(id, campaign string) pacer.Request {
	return pacer.Request{ID: id, WorkflowID: "wf-" + id, RunID: "run-" + id, Action: pacer.ActionMessage, Campaign: campaign,
		Recipient: "urn:li:person:ACoAA" + id, Hold: workflows.Duration(time.Hour)}
}

// TestPacerCarriesItsStateThroughContinueAsNew: when its history is long,
// the pacer continues as new with its queue, its pacing memory and its
// stops, and the next run goes on where it stopped: the queued request is
// granted only once the gap after the last task has passed.
func TestPacerCarriesItsStateThroughContinueAsNew(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "10m", MaxGap: "10m"}
	env, grants := pacerEnv(t, limits)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("r1", "a"))
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("r2", "b"))
		env.SignalWorkflow(pacer.StopRecipient, workflows.StopRecipientRequest{RecipientURN: "urn:li:person:ACoAAGone", Reason: "replied"})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(5000)
		env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "r1", Counted: true,
			Start: sunday.Add(time.Second), End: sunday.Add(time.Minute)})
	}, time.Minute)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: senders.Default})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the pacer ended with %v, want it to continue as new", err)
	}
	var next pacer.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if len(*grants) != 1 || (*grants)[0].ID != "r1" {
		t.Fatalf("grants before continuing as new: %+v, want r1 only", *grants)
	}
	if st == nil || st.Holder != nil || len(st.Queue) != 1 || st.Queue[0].ID != "r2" || st.Actions != 1 ||
		!st.Account.LastEnd.Equal(sunday.Add(time.Minute)) || len(st.Stopped) != 1 || !slices.Contains(st.Recent, "r1") {
		t.Fatalf("carried state = %+v, want r2 queued, r1's task recorded, the stop kept", st)
	}

	// The next run, started 4 minutes after r1 ended: r2 waits out the
	// 10-minute gap counted from r1's end (not from the new run's start),
	// and a repeated signal of r1 is not served again.
	env2, grants2 := pacerEnv(t, limits)
	env2.SetStartTime(sunday.Add(5 * time.Minute))
	env2.RegisterDelayedCallback(func() {
		env2.SignalWorkflow(pacer.UpdateAcquire, slotRequest("r1", "a"))
	}, time.Second)
	env2.RegisterDelayedCallback(func() {
		if len(*grants2) != 1 || (*grants2)[0].ID != "r2" {
			t.Errorf("grants of the next run: %+v, want r2 only", *grants2)
		}
		env2.CancelWorkflow()
	}, time.Hour)
	env2.ExecuteWorkflow(workflows.SenderPacer, next)
	v, err := env2.QueryWorkflow(pacer.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st2 pacer.Status
	if err := v.Get(&st2); err != nil {
		t.Fatal(err)
	}
	if st2.Holder == nil || st2.Holder.Request.ID != "r2" {
		t.Fatalf("the next run's holder = %+v, want r2", st2.Holder)
	}
	if got, want := st2.Holder.GrantedAt, sunday.Add(11*time.Minute); !got.Equal(want) {
		t.Errorf("r2 granted at %s, want %s: 10 minutes after r1 ended", got, want)
	}
}

// TestPacerTakesBackASlotWhoseHolderEnded: a holder that ended without
// releasing (terminated by an operator) holds the account up only until
// the pacer's next check on it, not for its whole hold.
func TestPacerTakesBackASlotWhoseHolderEnded(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m"}
	env, grants := pacerEnv(t, limits)
	var a *activities.Activities
	env.OnActivity(a.RunOpen, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RunInput) (bool, error) {
		return in.WorkflowID != "wf-r1", nil // r1's run is gone
	})
	env.RegisterDelayedCallback(func() {
		r1 := slotRequest("r1", "a")
		r1.Hold = workflows.Duration(48 * time.Hour)
		r2 := slotRequest("r2", "b")
		r2.Hold = r1.Hold
		env.SignalWorkflow(pacer.UpdateAcquire, r1)
		env.SignalWorkflow(pacer.UpdateAcquire, r2)
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.CancelWorkflow()
	}, 2*time.Hour)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: senders.Default})
	if len(*grants) != 2 || (*grants)[1].ID != "r2" {
		t.Fatalf("grants %+v, want r1 then r2", *grants)
	}
	status, err := env.QueryWorkflow(pacer.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st pacer.Status
	if err := status.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.Holder == nil || st.Holder.Request.ID != "r2" || st.Actions != 1 {
		t.Fatalf("pacer after taking r1's slot back: %+v, want r2 holding and r1's task counted", st)
	}
	// The check comes 15 minutes after r1's grant, on a 5-minute grid.
	if at := st.Holder.GrantedAt; at.After(sunday.Add(21 * time.Minute)) {
		t.Errorf("r2 granted at %s, want within the check (15 minutes, rounded up to 5) and the 1-minute gap after r1", at)
	}
}

// pacerStatus queries a pacer run in the test environment.
func pacerStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) pacer.Status {
	t.Helper()
	v, err := env.QueryWorkflow(pacer.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st pacer.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// grantOf finds the grant signalled for request id.
func grantOf(grants []pacer.Grant, id string) (pacer.Grant, bool) {
	for _, g := range grants {
		if g.ID == id && g.Notice == nil {
			return g, true
		}
	}
	return pacer.Grant{}, false
}

// The three regressions of the reused-variable defect: the pacer decoded
// every signal of a kind into one variable, so fields a signal omits kept
// the previous signal's values.

// TestPacerSingleSendAfterACampaignCancelIsGranted: a single send (no
// campaign fields) asked after a sequence campaign was cancelled is
// granted, not stopped as that campaign.
func TestPacerSingleSendAfterACampaignCancelIsGranted(t *testing.T) {
	env, grants := pacerEnv(t, anyHours)
	campaignReq := slotRequest("r1", "seqbug")
	campaignReq.CampaignPacing = &workflows.CampaignLimits{Pacing: workflows.Pacing{MinGap: dur(time.Minute), MaxGap: dur(time.Minute)}}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(pacer.UpdateAcquire, campaignReq) }, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "r1", Counted: true, Start: sunday.Add(time.Second), End: sunday.Add(time.Minute)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalCampaignPause, pacer.CampaignPause{Campaign: "seqbug", Cancelled: true})
	}, 2*time.Minute)
	single := pacer.Request{ID: "single", WorkflowID: "send-ACoAASingle3", RunID: "run-single", Action: pacer.ActionMessage,
		Recipient: "urn:li:person:ACoAASingle3", Hold: workflows.Duration(time.Hour)}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(pacer.UpdateAcquire, single) }, 3*time.Minute)
	env.RegisterDelayedCallback(func() {
		st := pacerStatus(t, env)
		if st.Holder == nil || st.Holder.Request.ID != "single" {
			t.Errorf("holder after the single send asked: %+v, want the single send", st.Holder)
		} else if r := st.Holder.Request; r.Campaign != "" || r.CampaignPacing != nil {
			t.Errorf("the single send's request carries campaign %q, pacing %+v: fields of an earlier signal", r.Campaign, r.CampaignPacing)
		}
		env.CancelWorkflow()
	}, 10*time.Minute)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender})
	g, ok := grantOf(*grants, "single")
	if !ok || g.Stopped != "" {
		t.Fatalf("single send: grant %+v (found %v), want granted, not stopped", g, ok)
	}
}

// TestPacerEverywhereStopAfterACampaignStop: a stop for every campaign,
// sent after a stop in one campaign, holds in every campaign.
func TestPacerEverywhereStopAfterACampaignStop(t *testing.T) {
	env, grants := pacerEnv(t, anyHours)
	who := "urn:li:person:ACoAAReplied"
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.StopRecipient, pacer.StopRequest{RecipientURN: who, Campaign: "c1", Reason: "replied in c1"})
		env.SignalWorkflow(pacer.StopRecipient, pacer.StopRequest{RecipientURN: who, Reason: "replied"})
	}, time.Second)
	r := slotRequest("r2", "c2")
	r.Recipient = who
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(pacer.UpdateAcquire, r) }, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender})
	g, ok := grantOf(*grants, "r2")
	if !ok || !strings.Contains(g.Stopped, "every campaign") {
		t.Fatalf("request in campaign c2 for a person stopped everywhere: %+v (found %v), want refused as stopped in every campaign", g, ok)
	}
}

// TestPacerResumeAfterACancelIsNotACancel: a campaign's resume, sent after
// another campaign's cancel, does not cancel it.
func TestPacerResumeAfterACancelIsNotACancel(t *testing.T) {
	env, grants := pacerEnv(t, anyHours)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalCampaignPause, pacer.CampaignPause{Campaign: "a", Cancelled: true})
		env.SignalWorkflow(pacer.SignalCampaignPause, pacer.CampaignPause{Campaign: "b", Paused: true, Reason: "checking"})
		env.SignalWorkflow(pacer.SignalCampaignPause, pacer.CampaignPause{Campaign: "b"})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("b1", "b"))
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("a1", "a"))
	}, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender})
	if g, ok := grantOf(*grants, "b1"); !ok || g.Stopped != "" {
		t.Errorf("campaign b after its resume: %+v (found %v), want granted", g, ok)
	}
	if g, ok := grantOf(*grants, "a1"); !ok || g.Stopped == "" {
		t.Errorf("campaign a after its cancel: %+v (found %v), want refused", g, ok)
	}
}
