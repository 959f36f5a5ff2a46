package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// A campaign's own pacing (gaps, caps, sending hours) is applied by its
// account's pacer, like every other limit: these tests run the campaign
// with the real pacer, on an account whose own limits hold nothing back, and
// read the OutX tasks' times from the sandbox.

// unlimited is an account that holds nothing back: only the campaign's
// own limits apply.
var unlimited = senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "0s", MaxGap: "0s",
	HourlyCap: ptr(0), DailyCap: ptr(0), Message: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0)}}

// pacedCampaign runs one campaign with the real pacer from start, and
// returns its final progress and the OutX tasks, oldest first.
func pacedCampaign(t *testing.T, start time.Time, opts outxtest.Options, in workflows.CampaignInput, during func(h *stackHarness)) (workflows.CampaignProgress, []outxtest.Task) {
	p, tasks, _ := pacedCampaignEnds(t, start, opts, in, during)
	return p, tasks
}

// pacedCampaignEnds is pacedCampaign that also returns when each message's
// run ended: when outpace saw its task end, from which the next gap counts.
func pacedCampaignEnds(t *testing.T, start time.Time, opts outxtest.Options, in workflows.CampaignInput, during func(h *stackHarness)) (workflows.CampaignProgress, []outxtest.Task, []time.Time) {
	t.Helper()
	h := newStack(t, map[string]senders.Limits{senders.Default: unlimited}, opts)
	h.env.SetStartTime(start)
	h.env.SetTestTimeout(3 * time.Minute)
	if during != nil {
		during(h)
	}
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	return out[0], h.tasksOf(senders.Default), h.messageEnds
}

func TestCampaignSpacingCountsFromPreviousTaskEnd(t *testing.T) {
	// Each OutX task takes 3 virtual minutes; the gap is drawn in [2m, 5m].
	in := anytime(workflows.CampaignInput{CampaignID: "gaps", Template: "Hi {{first_name}}", Recipients: people(12)}, 0)
	in.Pacing.MinGap, in.Pacing.MaxGap = dur(2*time.Minute), dur(5*time.Minute)
	p, tasks, ends := pacedCampaignEnds(t, thu, outxtest.Options{TaskDelay: 3 * time.Minute}, in, nil)
	if p.Counts.Delivered != 12 || len(tasks) != 12 || len(ends) != 12 {
		t.Fatalf("%+v, %d tasks, %d ends; want 12 delivered", p.Counts, len(tasks), len(ends))
	}
	distinct := map[time.Duration]bool{}
	for i := 1; i < 12; i++ {
		prev, next := tasks[i-1], tasks[i]
		if prev.FinishedAt.Before(prev.CreatedAt.Add(3*time.Minute)) || ends[i-1].Before(prev.FinishedAt) {
			t.Fatalf("task %d ended %s after its start, seen at %s; the sandbox task takes 3m", i-1, prev.FinishedAt.Sub(prev.CreatedAt), ends[i-1])
		}
		// From the end outpace saw (its poll read the final status).
		gap := next.CreatedAt.Sub(ends[i-1])
		if gap < 2*time.Minute || gap > 5*time.Minute {
			t.Errorf("gap %d = %s after the previous task's end, want within [2m, 5m]", i, gap)
		}
		distinct[gap.Round(time.Second)] = true
	}
	if len(distinct) < 5 {
		t.Errorf("gaps are not randomized: %v", distinct)
	}
}

func TestCampaignCapsAndWindowAcrossWeekendAndDST(t *testing.T) {
	in := workflows.CampaignInput{
		CampaignID: "caps", Template: "Hi {{first_name}}", Recipients: people(20),
		Window: workflows.SendingWindow{TimeZone: "Europe/Berlin", Days: "mon-fri", Hours: "09:00-18:00"},
		Pacing: workflows.Pacing{MinGap: dur(time.Minute), MaxGap: dur(3 * time.Minute), HourlyCap: num(3), DailyCap: num(5)},
	}
	_, tasks := pacedCampaign(t, thu, outxtest.Options{TaskDelay: 10 * time.Second}, in, nil)
	if len(tasks) != 20 {
		t.Fatalf("%d sends, want 20", len(tasks))
	}
	weekdays9to18 := func(at time.Time) bool {
		local := at.In(berlin)
		m := local.Hour()*60 + local.Minute()
		return local.Weekday() != time.Saturday && local.Weekday() != time.Sunday && m >= 9*60 && m < 18*60
	}
	if err := outxtest.CheckAccountTasks(tasks, outxtest.AccountPacing{
		MinGap: time.Minute, HourlyCap: 3, DailyCap: 5, Location: berlin, Open: weekdays9to18,
	}); err != nil {
		t.Error(err)
	}
	perDay := map[string]int{}
	for _, s := range tasks {
		perDay[s.CreatedAt.In(berlin).Format("2006-01-02")]++
	}
	want := map[string]int{"2026-10-22": 5, "2026-10-23": 5, "2026-10-26": 5, "2026-10-27": 5}
	if fmt.Sprint(perDay) != fmt.Sprint(want) {
		t.Errorf("sends per day = %v, want %v", perDay, want)
	}
	// Friday's cap reached: the next send is Monday at 09:00 Berlin, which
	// is 08:00 UTC after the change to winter time (it was 07:00 on Friday).
	monday := tasks[10].CreatedAt
	if got := monday.In(berlin).Format("Mon 15:04"); got != "Mon 09:00" || monday.UTC().Hour() != 8 {
		t.Errorf("first send after the weekend at %s (%s UTC), want Mon 09:00 Berlin = 08:00 UTC", monday.In(berlin), monday.UTC())
	}
}

func TestCampaignWaitsOutsideWindowAndShowsIt(t *testing.T) {
	sat := time.Date(2026, 10, 24, 11, 0, 0, 0, berlin)
	in := workflows.CampaignInput{CampaignID: "weekend", Template: "Hi {{first_name}}", Recipients: people(2),
		Window: workflows.SendingWindow{TimeZone: "Europe/Berlin"}}
	monday := time.Date(2026, 10, 26, 9, 0, 0, 0, berlin)
	_, tasks := pacedCampaign(t, sat, outxtest.Options{}, in, func(h *stackHarness) {
		h.env.RegisterDelayedCallback(func() {
			p := h.progressOf(t, "weekend")
			if p.Status != workflows.StatusOutsideWindow || !p.NextSendAt.Equal(monday) {
				t.Errorf("on Saturday: %s next %s (%s), want outside_window until Mon 09:00", p.Status, p.NextSendAt.In(berlin), p.Reason)
			}
			if !strings.Contains(p.Reason, "Mon 26 Oct 09:00 CET") || !strings.Contains(p.Reason, "sending hours") {
				t.Errorf("reason %q does not say that the hours are closed until Mon 09:00", p.Reason)
			}
		}, time.Hour)
	})
	if len(tasks) != 2 || !tasks[0].CreatedAt.Equal(monday) {
		t.Errorf("tasks %d, first at %s, want Monday 09:00", len(tasks), tasks[0].CreatedAt.In(berlin))
	}
}

// TestCampaignGapIsTheSameOnReplay runs one campaign twice: the gaps, drawn
// from the campaign id and the campaign's action number, are the same both
// times (a replay re-draws them the same way) and are the policy's draws.
func TestCampaignGapIsTheSameOnReplay(t *testing.T) {
	in := anytime(workflows.CampaignInput{CampaignID: "replay-gaps", Template: "Hi {{first_name}}", Recipients: people(6)}, 0)
	in.Pacing.MinGap, in.Pacing.MaxGap = dur(30*time.Second), dur(90*time.Second)
	policy, err := in.Policy()
	if err != nil {
		t.Fatal(err)
	}
	gaps := func() []time.Duration {
		_, tasks, ends := pacedCampaignEnds(t, thu, outxtest.Options{TaskDelay: time.Millisecond}, in, nil)
		var got []time.Duration
		for i := 1; i < len(tasks) && i <= len(ends); i++ {
			got = append(got, tasks[i].CreatedAt.Sub(ends[i-1]).Round(time.Millisecond))
		}
		return got
	}
	first, second := gaps(), gaps()
	if len(first) != 5 || !slices.Equal(first, second) {
		t.Fatalf("gaps differ between runs: %v and %v", first, second)
	}
	for i, d := range first {
		if want := policy.Gap("replay-gaps", int64(i+1)).Round(time.Millisecond); d != want {
			t.Errorf("gap %d = %s, want the draw %s", i+1, d, want)
		}
	}
}

// TestCampaignPausesWhileExtensionOffline: with no extension online, OutX
// refuses every send without a task: the account's pacer pauses the
// account, the campaign says so (and when it tries again), and nobody is
// burnt through; once the extension is back, everyone is messaged once.
func TestCampaignPausesWhileExtensionOffline(t *testing.T) {
	in := anytime(workflows.CampaignInput{CampaignID: "offline", Template: "Hi {{first_name}}", Recipients: people(5)}, time.Minute)
	var firstTask time.Time
	p, tasks := pacedCampaign(t, thu, outxtest.Options{}, in, func(h *stackHarness) {
		h.sb.SetExtensionOffline(true)
		h.env.RegisterDelayedCallback(func() {
			p := h.progressOf(t, "offline")
			if p.Status != workflows.StatusPaused || !strings.Contains(p.Reason, "the extension is offline") || p.NextSendAt.IsZero() {
				t.Errorf("while offline: status %s, reason %q, next %s", p.Status, p.Reason, p.NextSendAt)
			}
			if p.Counts.Done() != 0 {
				t.Errorf("recipients burned while offline: %+v", p.Counts)
			}
		}, 2*time.Hour)
		h.env.RegisterDelayedCallback(func() { h.sb.SetExtensionOffline(false) }, 3*time.Hour)
	})
	if p.Counts.Delivered != 5 || len(tasks) != 5 {
		t.Fatalf("counts = %+v, %d tasks, want all 5 delivered once, after the extension came back", p.Counts, len(tasks))
	}
	firstTask = tasks[0].CreatedAt
	if firstTask.Before(thu.Add(3 * time.Hour)) {
		t.Errorf("first task at +%s, before the extension came back", firstTask.Sub(thu))
	}
}

// TestCampaignHoldsWhenOutXRefusesPastTheDeadline: a message that OutX kept
// refusing (extension offline) for its whole send deadline ends failed, and
// the campaign then holds for a person instead of trying the next recipient.
func TestCampaignHoldsWhenOutXRefusesPastTheDeadline(t *testing.T) {
	in := anytime(workflows.CampaignInput{CampaignID: "held", Template: "Hi {{first_name}}", Recipients: people(3),
		SendDeadline: workflows.Duration(50 * time.Minute)}, time.Minute)
	p, tasks := pacedCampaign(t, thu, outxtest.Options{}, in, func(h *stackHarness) {
		h.sb.SetExtensionOffline(true)
		h.env.RegisterDelayedCallback(func() {
			p := h.progressOf(t, "held")
			if p.Status != workflows.StatusPaused || !strings.Contains(p.Reason, "OutX kept refusing sends") || p.Counts.Failed != 1 {
				t.Errorf("after the deadline: %s %q %+v, want paused after one failed recipient", p.Status, p.Reason, p.Counts)
			}
			h.sb.SetExtensionOffline(false)
			h.env.SignalWorkflowByID("held", workflows.SignalResume, nil)
		}, 5*time.Hour)
	})
	if p.Counts != (workflows.Counts{Delivered: 2, Failed: 1}) || len(tasks) != 2 {
		t.Fatalf("counts = %+v, %d tasks, want the two others delivered after the resume", p.Counts, len(tasks))
	}
	if tasks[0].CreatedAt.Before(thu.Add(5 * time.Hour)) {
		t.Errorf("a message was sent at +%s, before the resume", tasks[0].CreatedAt.Sub(thu))
	}
}
