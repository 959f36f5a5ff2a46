package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// A campaign's status says what is true now: it is derived from the
// campaign's state whenever it is read, never remembered from the last
// step that set it (issue: a resumed sequence campaign kept saying
// "paused" for weeks).

func (h *stackHarness) progressOf(t *testing.T, campaignID string) workflows.CampaignProgress {
	t.Helper()
	v, err := h.env.QueryWorkflowByID(campaignID, workflows.QueryProgress)
	if err != nil {
		t.Fatalf("query %s: %v", campaignID, err)
	}
	var p workflows.CampaignProgress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResumedSequenceCampaignSaysRunning: a sequence campaign whose
// recipients all wait days in a step is paused, then resumed: right after
// the resume its status is running, not paused, and stays so.
func TestResumedSequenceCampaignSaysRunning(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	in := sequenceCampaign("heldout", crowd("ACoAAHeld", 3)...)
	in.Steps = []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(14 * 24 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Again, {{first_name}}"},
	}
	in.MaxRunEvents = 100
	var seen []string
	check := func(when string, want workflows.CampaignStatus, wantReason string) {
		p := h.progressOf(t, "heldout")
		seen = append(seen, when+": "+string(p.Status)+" "+p.Reason)
		if p.Status != want || !strings.Contains(p.Reason, wantReason) {
			t.Errorf("%s: status %q, reason %q; want %q with %q", when, p.Status, p.Reason, want, wantReason)
		}
	}
	h.env.RegisterDelayedCallback(func() {
		check("every recipient in the long wait", workflows.StatusRunning, "waiting for their sequences to end")
		h.env.SignalWorkflowByID("heldout", workflows.SignalPause, workflows.PauseRequest{Reason: "heldout pause"})
	}, 24*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		check("paused", workflows.StatusPaused, "heldout pause")
		h.env.SignalWorkflowByID("heldout", workflows.SignalResume, nil)
	}, 24*time.Hour+20*time.Second)
	h.env.RegisterDelayedCallback(func() {
		check("just resumed", workflows.StatusRunning, "")
		if p := h.progressOf(t, "heldout"); strings.Contains(p.Reason, "pause") {
			t.Errorf("resumed, yet the reason still speaks of the pause: %q", p.Reason)
		}
	}, 24*time.Hour+20*time.Second+time.Millisecond)
	h.env.RegisterDelayedCallback(func() {
		check("a week after the resume", workflows.StatusRunning, "waiting for their sequences to end")
	}, 8*24*time.Hour)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if out[0].Counts.Delivered != 3 {
		t.Errorf("counts %+v, want 3 delivered", out[0].Counts)
	}

	t.Logf("statuses seen: %q", seen)
}

// TestFirstStepWaitDisappearsWhenTheStepEnds: "waiting for X's first step"
// is shown only while that step is in progress.
func TestFirstStepWaitDisappearsWhenTheStepEnds(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{TaskDelay: time.Hour})
	in := sequenceCampaign("first", crowd("ACoAAFirst", 2)...)
	in.Steps = []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(3 * 24 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Again, {{first_name}}"},
	}
	h.env.RegisterDelayedCallback(func() {
		p := h.progressOf(t, "first")
		if !strings.Contains(p.Reason, "first step") {
			t.Errorf("while the first recipient's first message is pending: reason %q, want it to name the wait for the first step", p.Reason)
		}
	}, 30*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		p := h.progressOf(t, "first")
		if strings.Contains(p.Reason, "first step") || p.Status != workflows.StatusRunning {
			t.Errorf("after both first steps ended: %s %q, want running without the first-step wait", p.Status, p.Reason)
		}
	}, 24*time.Hour)
	h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
}

// TestResumedCampaignSaysSendingWithinOneTask: a one-message campaign,
// paused between sends and resumed, is no longer paused as soon as the
// resume is applied.
func TestResumedCampaignSaysSendingWithinOneTask(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "pr2", Template: "Hi {{first_name}}", Recipients: people(6)}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "lunch"})
	}, 90*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		if p := h.progress(t); p.Status != workflows.StatusPaused {
			t.Errorf("paused: %s %q", p.Status, p.Reason)
		}
		h.env.SignalWorkflow(workflows.SignalResume, nil)
	}, 3*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		p := h.progress(t)
		if p.Status == workflows.StatusPaused || strings.Contains(p.Reason, "lunch") {
			t.Errorf("just resumed: status %s, reason %q; want it no longer paused", p.Status, p.Reason)
		}
	}, 3*time.Hour+time.Millisecond)
	p, err := h.run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Delivered != 6 || p.Status != workflows.StatusFinished || p.Reason != "" {
		t.Errorf("final: %+v", p)
	}
}

// TestCampaignRefusesASenderTheWorkersLack: a campaign naming an account
// the workers do not have fails at its start as invalid, naming it, and
// nothing is sent.
func TestCampaignRefusesASenderTheWorkersLack(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "alice-try", Sender: "alice", Template: "Hi {{first_name}}", Recipients: people(3)}, time.Minute)
	_, err := h.run(t, in)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrInvalidCampaign || !strings.Contains(app.Error(), `sender "alice" is not configured`) {
		t.Fatalf("err = %v, want InvalidCampaign naming the sender", err)
	}
	if len(h.starts) != 0 || len(h.sb.Requests()) != 0 {
		t.Errorf("%d children started, %d OutX requests: nothing may start", len(h.starts), len(h.sb.Requests()))
	}
}

// TestSequenceCampaignStatusAcrossContinueAsNew: a sequence campaign
// waiting for its sequences continues as new (its history grows with their
// events, which it did not before: the wait never ended its run); paused
// before, its next run says paused, and once resumed says running at once.
func TestSequenceCampaignStatusAcrossContinueAsNew(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	h.env.RegisterWorkflow(workflows.Sequence)
	in := anytime(workflows.CampaignInput{CampaignID: "long-wait", Recipients: people(3), Steps: []workflows.Step{
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(14 * 24 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Again, {{first_name}}"},
	}}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		if p := h.progress(t); p.Active != 3 || !strings.Contains(p.Reason, "waiting for their sequences to end") {
			t.Errorf("all started: %+v", p)
		}
		h.env.SetContinueAsNewSuggested(true)
		h.env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "heldout pause"})
	}, 2*time.Hour)
	_, err := h.run(t, in)
	next, ok := continueAsNewInput(t, err)
	if !ok {
		t.Fatalf("err = %v, want the campaign to continue as new while its sequences wait", err)
	}
	if st := next.State; st == nil || st.Active != 3 || !strings.Contains(st.Paused, "heldout pause") {
		t.Fatalf("carried state %+v, want 3 active and the pause", next.State)
	}

	h2 := newCampaignHarness(t, thu.Add(2*time.Hour), outxtest.Options{}, "")
	h2.env.RegisterWorkflow(workflows.Sequence)
	h2.env.RegisterDelayedCallback(func() {
		if p := h2.progress(t); p.Status != workflows.StatusPaused || p.Run != 2 {
			t.Errorf("next run, still paused: %s %q run %d", p.Status, p.Reason, p.Run)
		}
		h2.env.SignalWorkflow(workflows.SignalResume, nil)
	}, time.Minute)
	h2.env.RegisterDelayedCallback(func() {
		p := h2.progress(t)
		if p.Status != workflows.StatusRunning || !strings.Contains(p.Reason, "waiting for their sequences to end") {
			t.Errorf("next run, just resumed: %s %q, want running", p.Status, p.Reason)
		}
		for i := range 3 {
			h2.env.SignalWorkflow(workflows.SignalSequenceEvent, workflows.SequenceEvent{Key: urn(i), Final: true, Outcome: workflows.Delivered})
		}
	}, time.Minute+time.Millisecond)
	p, err := h2.run(t, next)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.StatusFinished || p.Counts.Delivered != 3 || p.Active != 0 {
		t.Errorf("final: %+v", p)
	}
}
