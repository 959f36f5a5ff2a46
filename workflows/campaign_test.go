package workflows_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// campaignHarness runs Campaign and its SendMessage children in Temporal's
// test environment (virtual time), with the real activities calling the OutX
// sandbox over HTTP. The sandbox's clock is the environment's virtual clock,
// so an OutX task takes virtual time, as it does in real life.
type campaignHarness struct {
	env *testsuite.TestWorkflowEnvironment
	sb  *outxtest.Server

	mu     sync.Mutex
	starts []childEvent // child runs started, in order
	ends   []childEvent // child runs completed, in order
}

type childEvent struct {
	id string
	at time.Time
}

// thu is Thursday 22 October 2026, 16:00 in Berlin: Germany leaves summer
// time on Sunday 25 October, so a campaign started here crosses a weekend
// and a daylight saving change.
var berlin, _ = time.LoadLocation("Europe/Berlin")
var thu = time.Date(2026, 10, 22, 16, 0, 0, 0, berlin)

func newCampaignHarness(t *testing.T, start time.Time, opts outxtest.Options, apiKey string) *campaignHarness {
	t.Helper()
	h := &campaignHarness{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	h.env = suite.NewTestWorkflowEnvironment()
	h.env.SetStartTime(start)
	h.env.SetTestTimeout(time.Minute)
	if opts.TaskDelay == 0 {
		opts.TaskDelay = 30 * time.Second
	}
	opts.Now = h.env.Now
	h.sb = outxtest.NewServer(opts)
	t.Cleanup(h.sb.Close)
	if apiKey == "" {
		apiKey = outxtest.DefaultAPIKey
	}
	client, err := outx.New(h.sb.URL, apiKey)
	if err != nil {
		t.Fatal(err)
	}
	h.env.RegisterWorkflow(workflows.Campaign)
	h.env.RegisterWorkflow(workflows.SendMessage)
	h.env.RegisterActivity(&activities.Activities{OutX: client, PollInterval: 2 * time.Millisecond, PollBurst: 20 * time.Millisecond})
	newGrantAtOnce(h.env)
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, ctx workflow.Context, _ converter.EncodedValues) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.starts = append(h.starts, childEvent{info.WorkflowExecution.ID, workflow.Now(ctx)})
	})
	h.env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, _ converter.EncodedValue, _ error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ends = append(h.ends, childEvent{info.WorkflowExecution.ID, h.env.Now()})
	})
	return h
}

// run executes a campaign to its end and returns its final progress.
func (h *campaignHarness) run(t *testing.T, in workflows.CampaignInput) (workflows.CampaignProgress, error) {
	t.Helper()
	h.env.ExecuteWorkflow(workflows.Campaign, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("campaign did not complete")
	}
	var p workflows.CampaignProgress
	if err := h.env.GetWorkflowError(); err != nil {
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) && canceled.HasDetails() {
			_ = canceled.Details(&p)
		}
		return p, err
	}
	if err := h.env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	return p, nil
}

func (h *campaignHarness) progress(t *testing.T) workflows.CampaignProgress {
	t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryProgress)
	if err != nil {
		t.Fatalf("progress query: %v", err)
	}
	var p workflows.CampaignProgress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// tasksPerRecipient counts the OutX send tasks the sandbox created, by URN.
func (h *campaignHarness) tasksPerRecipient() map[string]int {
	n := map[string]int{}
	for _, task := range h.sb.Tasks() {
		if task.Type == "agent_send_message" {
			n[task.RecipientURN]++
		}
	}
	return n
}

func dur(d time.Duration) *workflows.Duration { v := workflows.Duration(d); return &v }
func num(n int) *int                          { return &n }

func urn(i int) string { return fmt.Sprintf("urn:li:person:ACoAAPerson%04d", i) }

func people(n int) []recipients.Recipient {
	rs := make([]recipients.Recipient, n)
	for i := range rs {
		rs[i] = recipients.Recipient{RecipientURN: urn(i), Vars: map[string]string{"first_name": fmt.Sprintf("P%d", i)}}
	}
	return rs
}

// anytime: no window, no caps, a fixed gap.
func anytime(in workflows.CampaignInput, gap time.Duration) workflows.CampaignInput {
	in.Window = workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"}
	in.Pacing = workflows.Pacing{MinGap: dur(gap), MaxGap: dur(gap), HourlyCap: num(0), DailyCap: num(0)}
	return in
}

func TestCampaignOutcomesAndDuplicates(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	rs := []recipients.Recipient{
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},
		{RecipientURN: urn(2), Vars: map[string]string{"first_name": "Grace"}},
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},                        // listed twice
		{RecipientURN: outxtest.NotConnected + "Bob", Vars: map[string]string{"first_name": "Bob"}}, // task fails
		{RecipientURN: urn(3), Vars: map[string]string{"first_name": "  "}},                         // variable empty
		{RecipientURN: "urn:li:company:123", Vars: map[string]string{"first_name": "Acme"}},         // not a person
	}
	p, err := h.run(t, anytime(workflows.CampaignInput{CampaignID: "spring", Template: "Hi {{first_name}}!", Recipients: rs}, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.Counts{Delivered: 2, Failed: 1, Invalid: 2, Skipped: 1}
	if p.Counts != want || p.Total != 6 || p.Pending != 0 || p.Status != workflows.StatusFinished {
		t.Fatalf("progress = %+v, want counts %+v of 6, finished", p, want)
	}
	if len(p.Unrun) != 1 || p.Unrun[0].Outcome != workflows.Skipped || p.Unrun[0].WorkflowID != "spring/"+urn(1) || p.Unrun[0].Line != 3 {
		t.Errorf("unrun rows %+v, want the repeated row (line 3) naming the run that took the person", p.Unrun)
	}
	tasks := h.tasksPerRecipient()
	if tasks[urn(1)] != 1 || tasks[urn(2)] != 1 || tasks[urn(3)] != 0 || len(tasks) != 3 {
		t.Fatalf("tasks per recipient = %v, want one each for the 3 valid recipients", tasks)
	}
	for _, task := range h.sb.Tasks() {
		if strings.Contains(task.Message, "{{") || task.Message == "Hi !" {
			t.Fatalf("half-rendered message sent: %q", task.Message)
		}
	}
	ids := map[string]bool{}
	for _, s := range h.starts {
		ids[s.id] = true
	}
	for _, id := range []string{"spring/" + urn(1), "spring/" + urn(2), "spring/invalid-line-5", "spring/invalid-line-6"} {
		if !ids[id] {
			t.Errorf("no child run %q; started: %v", id, ids)
		}
	}
}

func TestCampaignPauseResume(t *testing.T) {
	// Each OutX task takes 10 virtual minutes: the pause falls mid-campaign.
	h := newCampaignHarness(t, thu, outxtest.Options{TaskDelay: 10 * time.Minute}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "pr", Template: "Hi {{first_name}}", Recipients: people(10)}, 10*time.Minute)
	pausedAt, resumedAt := thu.Add(25*time.Minute), thu.Add(5*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "checking replies"})
	}, 25*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		p := h.progress(t)
		if p.Status != workflows.StatusPaused || !strings.Contains(p.Reason, "checking replies") {
			t.Errorf("while paused: status %s, reason %q", p.Status, p.Reason)
		}
	}, 3*time.Hour)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalResume, nil) }, 5*time.Hour)
	p, err := h.run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Delivered != 10 {
		t.Fatalf("delivered %d, want 10", p.Counts.Delivered)
	}
	before := 0
	for _, s := range h.starts {
		if s.at.After(pausedAt) && s.at.Before(resumedAt) {
			t.Errorf("child %s started at %s, while paused", s.id, s.at.Sub(thu))
		}
		if !s.at.After(pausedAt) {
			before++
		}
	}
	if before == 0 || before == 10 {
		t.Errorf("%d sends before the pause: the pause did not fall mid-campaign", before)
	}
}

func TestCampaignCancel(t *testing.T) {
	// Each OutX task takes 10 virtual minutes: the cancel falls mid-campaign.
	h := newCampaignHarness(t, thu, outxtest.Options{TaskDelay: 10 * time.Minute}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "cx", Template: "Hi {{first_name}}", Recipients: people(10)}, 10*time.Minute)
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 35*time.Minute)
	p, err := h.run(t, in)
	if !temporal.IsCanceledError(err) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if p.Status != workflows.StatusCancelled || p.Counts.Delivered == 0 || p.Counts.Delivered >= 10 || p.Pending != 10-p.Counts.Done() {
		t.Fatalf("progress = %+v, want cancelled part way", p)
	}
	for _, s := range h.starts {
		if s.at.After(thu.Add(35 * time.Minute)) {
			t.Errorf("child %s started after the cancel", s.id)
		}
	}
}

func TestCampaignRateLimitBacksOff(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: 429, Times: 4})
	in := anytime(workflows.CampaignInput{CampaignID: "rl", Template: "Hi {{first_name}}", Recipients: people(3)}, time.Minute)
	p, err := h.run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Delivered != 3 {
		t.Fatalf("counts = %+v, want 3 delivered", p.Counts)
	}
	if len(h.starts) != 3 {
		t.Fatalf("%d child runs, want 3", len(h.starts))
	}
	// 4 refusals backed off 15s, 30s, 1m, 2m before the first send went in.
	if first := h.ends[0].at.Sub(h.starts[0].at); first < 3*time.Minute+45*time.Second {
		t.Errorf("first message done after %s: it did not back off", first)
	}
}

func TestCampaignStopsOnUnauthorized(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "not-the-key")
	in := anytime(workflows.CampaignInput{CampaignID: "badkey", Template: "Hi {{first_name}}", Recipients: people(50)}, time.Minute)
	p, err := h.run(t, in)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrCampaignStopped || !strings.Contains(app.Error(), "Invalid API Key") {
		t.Fatalf("err = %v, want CampaignStopped naming the 401", err)
	}
	if len(h.starts) != 1 || len(h.sb.Tasks()) != 0 {
		t.Fatalf("%d children, %d tasks: the campaign went on after the 401", len(h.starts), len(h.sb.Tasks()))
	}
	_ = p
}

func TestCampaignFromCSVWithProfileLookups(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	csv := "recipient_urn,profile_url,first_name,company\n" +
		urn(1) + ",,Ada,Analytical\n" +
		",https://www.linkedin.com/in/ACoAAGrace/,Grace,Navy\n" +
		urn(2) + ",,Linus,\n" + // {{company}} empty
		",https://www.linkedin.com/in/ACoAAGrace/,Grace,Navy\n" // the same person again
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := activities.FileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	in := anytime(workflows.CampaignInput{CampaignID: "csv", Template: "Hi {{first_name}} at {{company}}",
		RecipientsFile: &activities.RecipientsFile{Path: path, SHA256: sum}}, time.Minute)
	p, err := h.run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.Counts{Delivered: 2, Invalid: 1, Skipped: 1}
	if p.Counts != want || p.Total != 4 {
		t.Fatalf("progress = %+v, want %+v of 4", p, want)
	}
	lookups := 0
	for _, task := range h.sb.Tasks() {
		if task.Type == "agent_fetch_profile" {
			lookups++
		}
	}
	if lookups != 2 {
		t.Errorf("%d profile look-ups, want 2 (one per row naming a profile)", lookups)
	}
	if n := h.tasksPerRecipient()["urn:li:person:ACoAAGrace"]; n != 1 {
		t.Errorf("Grace got %d messages, want 1", n)
	}
}

func TestCampaignRefusesChangedFile(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte("recipient_urn\n"+urn(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := anytime(workflows.CampaignInput{CampaignID: "changed", Template: "Hi",
		RecipientsFile: &activities.RecipientsFile{Path: path, SHA256: strings.Repeat("0", 64)}}, time.Minute)
	_, err := h.run(t, in)
	if err == nil || !strings.Contains(err.Error(), "changed since the campaign was checked") {
		t.Fatalf("err = %v, want the file refused", err)
	}
	if len(h.sb.Requests()) != 0 {
		t.Fatal("OutX was called")
	}
}

func TestCampaignRejectsBadInputBeforeSending(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	_, err := h.run(t, workflows.CampaignInput{Template: "Hi {{first_name", Recipients: people(1),
		Window: workflows.SendingWindow{TimeZone: "Mars/Olympus", Hours: "18:00-09:00"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrInvalidCampaign {
		t.Fatalf("err = %v, want InvalidCampaign", err)
	}
	for _, field := range []string{"template", "window.time_zone"} {
		if !strings.Contains(app.Error(), field) {
			t.Errorf("error %q does not name %s", app.Error(), field)
		}
	}
	if len(h.starts) != 0 || len(h.sb.Requests()) != 0 {
		t.Fatal("something was sent")
	}
}

// continueAsNewInput returns the next run's input when the run continued as new.
func continueAsNewInput(t *testing.T, err error) (workflows.CampaignInput, bool) {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		return workflows.CampaignInput{}, false
	}
	var next workflows.CampaignInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next, true
}

func TestCampaignContinuesAsNewWhenSuggested(t *testing.T) {
	// The first task takes 30 virtual minutes: the pause arrives while it is
	// in flight, and must be carried into the next run, which starts right
	// after that first recipient, in the middle of the page.
	h := newCampaignHarness(t, thu, outxtest.Options{TaskDelay: 30 * time.Minute}, "")
	in := anytime(workflows.CampaignInput{CampaignID: "can", Template: "Hi {{first_name}}", Recipients: people(7), PageSize: 3}, time.Minute)
	h.env.SetContinueAsNewSuggested(true)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalPause, workflows.PauseRequest{Reason: "lunch"}) }, 15*time.Minute)
	_, err := h.run(t, in)
	next, ok := continueAsNewInput(t, err)
	if !ok {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
	st := next.State
	if st == nil || st.Run != 1 || st.Cursor.Offset != 0 || st.PageDone != 1 || st.Counts.Delivered != 1 || st.Total != 7 {
		t.Fatalf("carried state = %+v, want the page's cursor, one recipient done, counts", st)
	}
	if len(h.starts) != 1 {
		t.Fatalf("%d recipients started before continuing as new, want 1", len(h.starts))
	}
	if !strings.Contains(st.Paused, "lunch") {
		t.Errorf("the pause signalled mid-run was not carried: %q", st.Paused)
	}
}

func TestCampaignSpanningSeveralRunsKeepsProgress(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: time.Millisecond})
	t.Cleanup(sb.Close)
	// Every run is told to continue as new, so it handles one recipient and
	// hands the rest on: the cursor moves inside pages of 4 and across them.
	const n = 23
	in := anytime(workflows.CampaignInput{CampaignID: "long", Template: "Hi {{first_name}}", Recipients: people(n), PageSize: 4}, time.Second)
	client, _ := outx.New(sb.URL, outxtest.DefaultAPIKey)
	runs := 0
	seen := map[string]bool{}
	var final workflows.CampaignProgress
	for {
		runs++
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		// As a real server does when a history grows: every run is told to
		// continue as new, which it does at the end of its page.
		env.SetContinueAsNewSuggested(true)
		env.RegisterWorkflow(workflows.Campaign)
		env.RegisterWorkflow(workflows.SendMessage)
		env.RegisterActivity(&activities.Activities{OutX: client, PollInterval: time.Millisecond, PollBurst: 50 * time.Millisecond})
		newGrantAtOnce(env)
		env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
			if seen[info.WorkflowExecution.ID] {
				t.Errorf("run %d started %s again", runs, info.WorkflowExecution.ID)
			}
			seen[info.WorkflowExecution.ID] = true
		})
		env.ExecuteWorkflow(workflows.Campaign, in)
		err := env.GetWorkflowError()
		if next, ok := continueAsNewInput(t, err); ok {
			in = next
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := env.GetWorkflowResult(&final); err != nil {
			t.Fatal(err)
		}
		break
	}
	if runs != n {
		t.Fatalf("%d runs for %d recipients, want one run each", runs, n)
	}
	if final.Run != runs || final.Total != n || final.Counts.Delivered != n || final.Pending != 0 {
		t.Fatalf("final progress = %+v after %d runs", final, runs)
	}
	per := map[string]int{}
	for _, task := range sb.Tasks() {
		per[task.RecipientURN]++
	}
	for u, n := range per {
		if n != 1 {
			t.Errorf("%s messaged %d times", u, n)
		}
	}
	if len(per) != n {
		t.Errorf("%d distinct recipients messaged, want %d", len(per), n)
	}
}

// TestCampaignStopsOnFirst401: a 401 stops the campaign as soon as the
// message in flight reports it, before any other recipient is tried. (That
// the message then waits for the fix and is sent once is shown on the real
// server, where it outlives its campaign: e2e TestCampaignStopsOn401.)
func TestCampaignStopsOnFirst401(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	h.sb.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: 401, Times: 3})
	in := anytime(workflows.CampaignInput{CampaignID: "key", Template: "Hi {{first_name}}", Recipients: people(3)}, time.Minute)
	_, err := h.run(t, in)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrCampaignStopped {
		t.Fatalf("err = %v, want CampaignStopped", err)
	}
	if len(h.starts) != 1 || len(h.sb.TasksTo(urn(1))) != 0 || len(h.sb.TasksTo(urn(2))) != 0 {
		t.Fatalf("%d recipients started: the campaign went on after the 401", len(h.starts))
	}
}
