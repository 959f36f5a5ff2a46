package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// sentMessages records, per child run id, the message it was given and
// the variant its memo names.
type sentMessages struct {
	mu   sync.Mutex
	text map[string]string
	rec  *childRecorder
}

func recordMessages(h *campaignHarness) *sentMessages {
	s := &sentMessages{text: map[string]string{}, rec: &childRecorder{}}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{s.rec}})
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in workflows.SendMessageInput
		if err := args.Get(&in); err != nil {
			panic(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.text[info.WorkflowExecution.ID] = in.Message
	})
	return s
}

// memoVariants are the variants named in the memos of the runs rec saw
// started, by workflow id.
func memoVariants(rec *childRecorder) map[string]string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := map[string]string{}
	for _, s := range rec.starts {
		if v, ok := s.memo[workflows.MemoVariant].(string); ok {
			out[s.id] = v
		}
	}
	return out
}

// variantCampaign is a one-message campaign of n people with two variants
// weighted 2:1, the first with spintax.
func variantCampaign(id string, n int) workflows.CampaignInput {
	return anytime(workflows.CampaignInput{CampaignID: id, Recipients: people(n), Variants: []workflows.Variant{
		{Name: "warm", Text: "{Hi|Hello|Hey} {{first_name}}, {how are you|how is it going}?", Weight: 2},
		{Name: "short", Text: "{{first_name}}: quick question."},
	}}, 0)
}

func variantOf(text string) string {
	if strings.HasSuffix(text, "quick question.") {
		return "short"
	}
	return "warm"
}

// TestCampaignVariantsSplit: a one-message campaign of 300 recipients with
// variants weighted 2:1 sends each person the variant drawn from the
// campaign id, the person and the step, within 5% of the weights, names it
// in the child's memo and counts it in the progress; run again, every
// person gets exactly the same text (variant and spintax choices).
func TestCampaignVariantsSplit(t *testing.T) {
	const n = 300
	run := func() (workflows.CampaignProgress, *sentMessages) {
		h := newCampaignHarness(t, thu, outxtest.Options{TaskDelay: time.Second}, "")
		sent := recordMessages(h)
		p, err := h.run(t, variantCampaign("ab", n))
		if err != nil {
			t.Fatal(err)
		}
		return p, sent
	}
	p, sent := run()
	if p.Counts.Delivered != n {
		t.Fatalf("counts %+v, want %d delivered", p.Counts, n)
	}
	split := map[string]int{}
	texts := map[string]bool{}
	memos := memoVariants(sent.rec)
	for i := range n {
		id := "ab/" + urn(i)
		text, memo := sent.text[id], memos[id]
		v := variantOf(text)
		if memo != v {
			t.Fatalf("%s: message %q is variant %s, memo says %q", id, text, v, memo)
		}
		if want := []string{"warm", "short"}[recipients.ChooseVariant(recipients.Draw{Campaign: "ab", Recipient: urn(i), Step: 1}, []int{2, 1})]; v != want {
			t.Fatalf("%s drew %s, want %s: the draw must depend on the campaign, the recipient and the step only", id, v, want)
		}
		split[v]++
		texts[text[:strings.Index(text+",", ",")]] = true
	}
	for v, want := range map[string]float64{"warm": 2.0 / 3, "short": 1.0 / 3} {
		if got := float64(split[v]) / n; math.Abs(got-want) > 0.05 {
			t.Errorf("variant %s: %.3f of recipients, want %.3f ± 0.05", v, got, want)
		}
	}
	t.Logf("split over %d recipients: warm %d (%.1f%%, weight 2/3), short %d (%.1f%%)", n, split["warm"], 100*float64(split["warm"])/n, split["short"], 100*float64(split["short"])/n)
	for _, greeting := range []string{"Hi P", "Hello P", "Hey P"} {
		found := false
		for k := range texts {
			found = found || strings.HasPrefix(k, greeting)
		}
		if !found {
			t.Errorf("no recipient got the greeting %q: spintax choices %v", greeting, texts)
		}
	}
	want := []workflows.VariantCounts{
		{Step: 1, Type: workflows.StepMessage, Variant: "warm", Weight: 2, Recipients: split["warm"], Sent: split["warm"], Delivered: split["warm"]},
		{Step: 1, Type: workflows.StepMessage, Variant: "short", Weight: 1, Recipients: split["short"], Sent: split["short"], Delivered: split["short"]},
	}
	if fmt.Sprint(p.Variants) != fmt.Sprint(want) {
		t.Errorf("progress variants %+v\nwant %+v", p.Variants, want)
	}

	// Again, from scratch (a restart or the campaign started again under
	// the same id renders the same way): the same text for everyone.
	_, again := run()
	for id, text := range sent.text {
		if again.text[id] != text {
			t.Fatalf("%s: %q the first time, %q the second", id, text, again.text[id])
		}
	}
}

// TestSequenceVariantsCounted: a sequence whose connection note and first
// message have variants counts, per variant, recipients, sent, delivered,
// accepted (the wait for the connection ended connected) and how many
// reached each later action, as the campaign's progress; every step run's
// memo names its variant.
func TestSequenceVariantsCounted(t *testing.T) {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{AcceptDelay: time.Hour})
	rec := &childRecorder{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	var rs []recipients.Recipient
	for i := range 24 {
		who := outxtest.Accepts
		if i%3 == 0 {
			who = outxtest.Ignores
		}
		rs = append(rs, person(fmt.Sprintf("%s-v%02d", who, i), fmt.Sprintf("P%d", i)))
	}
	in := sequenceCampaign("seqab", rs...)
	in.Steps[0] = workflows.Step{Type: workflows.StepConnect, Variants: []workflows.Variant{
		{Name: "note", Text: "{Hi|Hello} {{first_name}}, let's connect"}, {Name: "no-note"}}}
	in.Steps[1].Timeout = workflows.Duration(3 * 24 * time.Hour)
	in.Steps[2] = workflows.Step{Type: workflows.StepMessage, Variants: []workflows.Variant{
		{Name: "thanks", Text: "Thanks, {{first_name}}!", Weight: 3}, {Name: "question", Text: "{{first_name}}, a question?"}}}
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	p := out[0]

	// What each recipient drew and did, from the sequences' results.
	type key struct {
		step    int
		variant string
	}
	want := map[key]*workflows.VariantCounts{}
	get := func(step int, v string) *workflows.VariantCounts {
		k := key{step, v}
		if want[k] == nil {
			want[k] = &workflows.VariantCounts{Step: step, Variant: v}
		}
		return want[k]
	}
	results := h.sequenceResults(t)
	stepVariant := memoVariants(rec)
	for _, r := range rs {
		res := results[r.RecipientURN]
		note := stepVariant["seqab/"+r.RecipientURN+"/1-connect"]
		if note == "" {
			t.Fatalf("%s: the connection request's memo names no variant", r.RecipientURN)
		}
		c := get(1, note)
		c.Recipients, c.Sent, c.Delivered = c.Recipients+1, c.Sent+1, c.Delivered+1
		msgVariant := recipients.ChooseVariant(recipients.Draw{Campaign: "seqab", Recipient: r.RecipientURN, Step: 3}, []int{3, 1})
		m := get(3, []string{"thanks", "question"}[msgVariant])
		m.Recipients++
		if len(res.Steps) < 2 || res.Steps[1].Outcome != workflows.Connected {
			if strings.HasPrefix(r.RecipientURN, outxtest.Accepts) {
				t.Fatalf("%s: %+v, want connected", r.RecipientURN, res)
			}
			continue
		}
		c.Accepted++
		addReach(c, 3)
		addReach(c, 5)
		m.Sent, m.Delivered = m.Sent+1, m.Delivered+1
		addReach(m, 5)
		if got := stepVariant["seqab/"+r.RecipientURN+"/3-message"]; got != m.Variant {
			t.Errorf("%s: the message's memo names variant %q, want %q", r.RecipientURN, got, m.Variant)
		}
	}
	for _, v := range p.Variants {
		w := want[key{v.Step, v.Variant}]
		if w == nil {
			w = &workflows.VariantCounts{}
		}
		if v.Recipients != w.Recipients || v.Sent != w.Sent || v.Delivered != w.Delivered || v.Accepted != w.Accepted || fmt.Sprint(v.Reached) != fmt.Sprint(w.Reached) {
			t.Errorf("step %d variant %s: %+v\nwant %+v", v.Step, v.Variant, v, *w)
		}
		t.Logf("step %d (%s) %s: %+v", v.Step, v.Type, v.Variant, v)
	}
	if len(p.Variants) != 4 {
		t.Errorf("%d variants counted, want 4 (2 notes, 2 messages): %+v", len(p.Variants), p.Variants)
	}
}

func addReach(v *workflows.VariantCounts, step int) {
	for i := range v.Reached {
		if v.Reached[i].Step == step {
			v.Reached[i].Recipients++
			return
		}
	}
	v.Reached = append(v.Reached, workflows.StepReach{Step: step, Recipients: 1})
}

// TestCampaignScheduledStart: a campaign with a start time waits for it
// (status scheduled, with the time), then runs; a pause signalled before
// the start (which wakes a delayed run on a server) does not start it
// early.
func TestCampaignScheduledStart(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	startAt := thu.Add(3 * time.Hour)
	in := anytime(workflows.CampaignInput{CampaignID: "later", Template: "{Hi|Hello} {{first_name}}", Recipients: people(3), StartAt: startAt}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		p := h.progress(t)
		if p.Status != workflows.StatusScheduled || !p.ScheduledAt.Equal(startAt) || !strings.Contains(p.Reason, "scheduled to start at") {
			t.Errorf("before the start: %s %q scheduled %s", p.Status, p.Reason, p.ScheduledAt)
		}
		h.env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "wait"})
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		if p := h.progress(t); p.Status != workflows.StatusPaused {
			t.Errorf("paused before the start: %s %q", p.Status, p.Reason)
		}
		h.env.SignalWorkflow(workflows.SignalResume, nil)
	}, 2*time.Hour)
	p, err := h.run(t, in)
	if err != nil || p.Counts.Delivered != 3 {
		t.Fatalf("%+v, %v", p, err)
	}
	if len(h.starts) != 3 || h.starts[0].at.Before(startAt) {
		t.Errorf("first message started at %s, want at or after %s", h.starts[0].at, startAt)
	}
	if !p.StartedAt.Equal(startAt) {
		t.Errorf("started at %s, want %s", p.StartedAt, startAt)
	}
}

// TestCampaignCancelledBeforeItsStart: cancelled before its scheduled
// start, a campaign ends cancelled at once, having done nothing: no
// activity, no child, no OutX task.
func TestCampaignCancelledBeforeItsStart(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "never", Template: "Hi {{first_name}}", Recipients: people(3), StartAt: thu.Add(24 * time.Hour)}, time.Minute)
	activities := 0
	h.env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { activities++ })
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Hour)
	p, err := h.run(t, in)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if p.Status != workflows.StatusCancelled || !strings.Contains(p.Reason, "before its scheduled start") || p.Counts.Done() != 0 {
		t.Errorf("progress %s %q %+v", p.Status, p.Reason, p.Counts)
	}
	if len(h.starts) != 0 || activities != 0 || len(h.sb.Tasks()) != 0 {
		t.Errorf("%d children, %d activities, %d OutX tasks; want none", len(h.starts), activities, len(h.sb.Tasks()))
	}
}

// TestCampaignRefusesBadSpintax: the Campaign workflow's own validation
// names an unbalanced brace by line and column, before anything is sent.
func TestCampaignRefusesBadSpintax(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	_, err := h.run(t, anytime(workflows.CampaignInput{CampaignID: "bad", Template: "Hi {{first_name}},\n{how are you|how is it going?", Recipients: people(2)}, 0))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrInvalidCampaign ||
		!strings.Contains(app.Message(), `template: line 2, column 1: unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`) {
		t.Fatalf("err = %v, want InvalidCampaign naming line 2, column 1", err)
	}
	if len(h.starts) != 0 || len(h.sb.Tasks()) != 0 {
		t.Errorf("%d children, %d tasks; want none", len(h.starts), len(h.sb.Tasks()))
	}
}
