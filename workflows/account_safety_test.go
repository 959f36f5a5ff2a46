package workflows_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// Account safety, over virtual weeks: the warm-up ramp, the ceiling of
// pending invitations, and the pause after LinkedIn's invitation limit.

// connectCampaign is a sequence campaign whose one step is a connection
// request, with no limits of its own.
func connectCampaign(id string, rs []recipients.Recipient, steps ...workflows.Step) workflows.CampaignInput {
	if len(steps) == 0 {
		steps = []workflows.Step{{Type: workflows.StepConnect}}
	}
	return unpaced(workflows.CampaignInput{CampaignID: id, Recipients: rs, Steps: steps})
}

// pacerStatusOf queries the account's pacer inside a stack.
func (h *stackHarness) pacerStatusOf(t *testing.T, sender string) pacer.Status {
	t.Helper()
	v, err := h.env.QueryWorkflowByID(pacer.WorkflowID(testQueue, sender), pacer.QueryStatus)
	if err != nil {
		t.Fatalf("pacer status: %v", err)
	}
	var st pacer.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestWarmupRampsConnectionRequests: a new account's connection requests
// start at 5 on its first sending day and grow by 2 each sending day, up to
// its cap of 11; weekends (closed) do not count as days of the ramp.
func TestWarmupRampsConnectionRequests(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-fri", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m",
		HourlyCap: ptr(0), DailyCap: ptr(0), PendingCeiling: ptr(0),
		Connect: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(11), WeeklyCap: ptr(0), Warmup: &senders.Warmup{Start: 5, Step: 2}}}
	h := newStack(t, map[string]senders.Limits{senders.Default: limits}, outxtest.Options{})
	h.env.SetStartTime(time.Date(2026, 11, 5, 8, 0, 0, 0, time.UTC)) // Thursday
	h.env.SetTestTimeout(3 * time.Minute)
	var day3 pacer.AccountStatus
	h.env.RegisterDelayedCallback(func() { day3 = h.pacerStatusOf(t, senders.Default).Account }, 5*24*time.Hour-2*time.Hour) // Tuesday 06:00
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{connectCampaign("ramp", crowd("ignores-ramp", 60))}})
	if out[0].Counts.Delivered != 60 {
		t.Errorf("counts %+v, want 60 connection requests sent", out[0].Counts)
	}
	perDay := map[string]int{}
	for _, task := range h.tasksOf(senders.Default) {
		perDay[task.CreatedAt.Format("Mon 01-02")]++
	}
	// Thu 5 (day 1), Fri 7 (day 2), the weekend closed, Mon 9 (day 3),
	// Tue 11 (day 4), Wed 11 (capped), Thu 11, Fri the last 6.
	want := map[string]int{"Thu 11-05": 5, "Fri 11-06": 7, "Mon 11-09": 9, "Tue 11-10": 11, "Wed 11-11": 11, "Thu 11-12": 11, "Fri 11-13": 6}
	if fmt.Sprint(perDay) != fmt.Sprint(want) {
		t.Errorf("connection requests per day = %v, want %v", perDay, want)
	}
	if day3.RampDay != 4 || !strings.Contains(fmt.Sprint(day3.Caps), "connect 11 11 5 2") {
		t.Errorf("status on Tuesday (day 4 of the ramp): day %d, caps %+v", day3.RampDay, day3.Caps)
	}
}

// TestPendingCeilingHoldsConnectionRequests: with 3 invitations pending
// (the ceiling), the fourth request waits, saying why, until a check finds
// an acceptance.
func TestPendingCeilingHoldsConnectionRequests(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m",
		HourlyCap: ptr(0), DailyCap: ptr(0), PendingCeiling: ptr(3),
		Connect: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0), WeeklyCap: ptr(0)}, Lookup: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0)}}
	h := newStack(t, map[string]senders.Limits{senders.Default: limits}, outxtest.Options{AcceptDelay: 30 * time.Hour})
	h.env.SetTestTimeout(3 * time.Minute)
	var rs []recipients.Recipient
	for i := range 5 {
		rs = append(rs, person(fmt.Sprintf("%s-ceiling%d", outxtest.Accepts, i), "P"))
	}
	steps := []workflows.Step{
		{Type: workflows.StepConnect},
		{Type: workflows.StepWaitForConnection, CheckEvery: workflows.Duration(12 * time.Hour), Timeout: workflows.Duration(10 * 24 * time.Hour)},
	}
	var held pacer.Status
	h.env.RegisterDelayedCallback(func() { held = h.pacerStatusOf(t, senders.Default) }, 6*time.Hour)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{connectCampaign("ceiling", rs, steps...)}})
	if out[0].Counts.Delivered != 5 {
		t.Errorf("counts %+v, want all 5 connected", out[0].Counts)
	}
	if held.Account.Pending != 3 || held.Account.Ceiling != 3 {
		t.Errorf("6 hours in: %d pending (ceiling %d), want 3 of 3", held.Account.Pending, held.Account.Ceiling)
	}
	if len(held.Waiting) != 1 || held.Waiting[0].Wait.Kind != pacer.WaitPendingInvitations {
		t.Errorf("6 hours in, waiting: %+v, want the fourth request held by the pending ceiling", held.Waiting)
	}
	var requests []time.Time
	for _, task := range h.tasksOf(senders.Default) {
		if task.Type == outxtest.TypeSendConnectionRequest {
			requests = append(requests, task.CreatedAt)
		}
	}
	// The first three at once; the next once the first acceptance is
	// found: accepted 30h after the request, found by the check at 36h.
	if len(requests) != 5 || requests[3].Sub(requests[0]) < 30*time.Hour {
		t.Errorf("connection requests at %v, want the fourth held until an acceptance was found", requests)
	}
}

// TestInvitationLimitPausesConnectionsNotMessages: OutX answers 429 to a
// connection request on Wednesday (LinkedIn's invitation limit): the
// account's connection requests pause until Monday, its messages go on.
func TestInvitationLimitPausesConnectionsNotMessages(t *testing.T) {
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "10m", MaxGap: "10m",
		HourlyCap: ptr(0), DailyCap: ptr(0), PendingCeiling: ptr(0),
		Message: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0)}, Connect: senders.Caps{HourlyCap: ptr(0), DailyCap: ptr(0), WeeklyCap: ptr(0)}}
	h := newStack(t, map[string]senders.Limits{senders.Default: limits}, outxtest.Options{})
	wed := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	h.env.SetStartTime(wed)
	h.env.SetTestTimeout(3 * time.Minute)
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendConnectionRequest, Times: 1, Status: http.StatusTooManyRequests})
	var mid pacer.Status
	h.env.RegisterDelayedCallback(func() { mid = h.pacerStatusOf(t, senders.Default) }, 24*time.Hour)
	invites := connectCampaign("invites", crowd("ignores-limit", 3))
	messages := unpaced(workflows.CampaignInput{CampaignID: "messages", Template: "Hi {{first_name}}", Recipients: crowd("ACoAALimitMsg", 4)})
	messages.Pacing.MinGap, messages.Pacing.MaxGap = dur(6*time.Hour), dur(6*time.Hour)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{invites, messages}})
	if out[0].Counts.Delivered != 3 || out[1].Counts.Delivered != 4 {
		t.Errorf("counts %+v and %+v, want all sent in the end", out[0].Counts, out[1].Counts)
	}
	monday := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	for _, task := range h.tasksOf(senders.Default) {
		switch {
		case task.Type == outxtest.TypeSendConnectionRequest && task.CreatedAt.Before(monday):
			t.Errorf("connection request at %s, while paused until Monday", task.CreatedAt)
		case task.Type == outxtest.TypeSendMessage && !task.CreatedAt.Before(monday):
			t.Errorf("message at %s: messages were held by the invitation limit", task.CreatedAt)
		}
	}
	p := mid.Account.ConnectPaused
	if p == nil || !p.Until.Equal(monday) || !strings.Contains(p.Reason, "invitation limit") || p.By != "outpace" || mid.Account.Paused != nil {
		t.Errorf("Thursday: account %+v, want connection requests paused by outpace until Monday, messages not", mid.Account)
	}
}
