package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// writeCSV writes a recipients file into the test's temporary directory.
func writeCSV(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recipients.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// finalProgress waits for a campaign (following continue-as-new) to close
// and returns its result.
func (s *stack) finalProgress(t *testing.T, id string, timeout time.Duration) (workflows.CampaignProgress, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var p workflows.CampaignProgress
	err := s.client.GetWorkflow(ctx, id, "").Get(ctx, &p)
	if ctx.Err() != nil {
		t.Fatalf("campaign %s did not finish within %s", id, timeout)
	}
	return p, err
}

// progress queries a campaign; a failed query (a worker restarting) reads as
// no progress, and the callers wait for a condition on it.
func (s *stack) progress(t *testing.T, id string) workflows.CampaignProgress {
	t.Helper()
	var p workflows.CampaignProgress
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.client.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
	if err != nil {
		t.Logf("progress of %s: %v", id, err)
		return p
	}
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// report runs `starter campaign report` until visibility lists want rows
// (it is eventually consistent) and returns the rows by recipient.
func (s *stack) report(t *testing.T, id string, want int) map[string][]string {
	t.Helper()
	return s.reportWithEnv(t, id, want, nil)
}

// reportWithEnv is report with extra environment for the starter (a key).
func (s *stack) reportWithEnv(t *testing.T, id string, want int, env []string) map[string][]string {
	t.Helper()
	var last result
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		last = s.runWithEnv(t, "starter", env, "campaign", "report", "--id", id)
		if last.code != 0 {
			continue
		}
		rows, err := csv.NewReader(strings.NewReader(last.stdout)).ReadAll()
		if err != nil {
			t.Fatalf("report is not CSV: %v\n%s", err, last)
		}
		if len(rows)-1 != want {
			continue
		}
		header := strings.Join(rows[0], ",")
		if header != "line,recipient_urn,outcome,reason,task_id,workflow_id,status" {
			t.Fatalf("report header = %q", header)
		}
		// Rows by recipient; a row with no URN, or one that repeats an
		// earlier row's person (skipped), by its line ("line 7").
		out := map[string][]string{}
		pending := false
		lines := map[string]bool{}
		for _, r := range rows[1:] {
			if lines[r[0]] {
				t.Fatalf("report lists line %s twice:\n%s", r[0], last.stdout)
			}
			lines[r[0]] = true
			key := r[1]
			if _, dup := out[key]; key == "" || dup {
				key = "line " + r[0]
			}
			out[key] = r
			pending = pending || r[2] == "pending"
		}
		if !pending {
			return out
		}
	}
	t.Fatalf("report never listed %d finished recipients:\n%s", want, last)
	return nil
}

func TestCampaignFromCSV(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-campaign-csv", sandboxOptions())
	id := "e2e-campaign-csv"
	p := func(name string) string { return "urn:li:person:ACoAAE2eCsv" + name }
	path := writeCSV(t,
		"recipient_urn,first_name,company",
		p("Ada")+",Ada,Analytical Engines",
		p("Grace")+",Grace,Navy",
		outxtest.NotConnected+"-e2ecsv,Bob,Nowhere",
		p("Ada")+",Ada,Analytical Engines",            // listed twice
		p("Linus")+",Linus,",                          // {{company}} empty
		"https://www.linkedin.com/in/x,Eve,Elsewhere", // not a URN
		p("Ken")+",Ken,Bell Labs",
	)
	template := "Hi {{first_name}}, I enjoyed reading about {{company}}."

	// Without --allow-invalid, invalid rows refuse the start and are named.
	r := s.run(t, "starter", "campaign", "start", "--id", id, "--csv", path, "--template", template, "--anytime")
	if r.code != 2 || !strings.Contains(r.stderr+r.stdout, "line 6") || !strings.Contains(r.stderr+r.stdout, "line 7") {
		t.Fatalf("start with invalid rows: want exit 2 naming lines 6 and 7\n%s", r)
	}
	if _, err := describe(context.Background(), s.client, id, ""); err == nil {
		t.Fatal("the refused campaign was started")
	}

	r = s.run(t, "starter", "campaign", "start", "--id", id, "--csv", path, "--template", template,
		"--anytime", "--min-gap", "100ms", "--max-gap", "300ms", "--allow-invalid")
	if r.code != 0 || !strings.Contains(r.stdout, "CampaignId") {
		t.Fatalf("start: %s", r)
	}
	w := s.run(t, "starter", "campaign", "watch", "--id", id)
	if w.code != 0 || !strings.Contains(w.stdout, "delivered 3") {
		t.Fatalf("watch: %s\nthe campaign's run: %s\nthe worker's log:\n%s", w, pendingWork(s.client, id), tail(s.worker.Output(), 3000))
	}
	final, err := s.finalProgress(t, id, 3*time.Minute) // the shared account may be busy with other tests' slow tasks
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.Counts{Delivered: 3, Failed: 1, Invalid: 2, Skipped: 1}
	if final.Counts != want || final.Total != 7 || final.Pending != 0 || final.Status != workflows.StatusFinished {
		t.Fatalf("final = %+v, want %+v of 7", final, want)
	}

	// The report lists every row of the file once, in line order, with
	// its outcome: the repeated row as skipped, naming the line it repeats.
	rows := s.report(t, id, 7)
	for who, outcome := range map[string]string{
		p("Ada"): "delivered", p("Grace"): "delivered", p("Ken"): "delivered",
		outxtest.NotConnected + "-e2ecsv": "failed", p("Linus"): "invalid", "line 7": "invalid", "line 5": "skipped",
	} {
		if rows[who] == nil || rows[who][2] != outcome {
			t.Errorf("report row for %s = %v, want %s", who, rows[who], outcome)
		}
	}
	if rows["line 5"] == nil || rows["line 5"][3] != "repeats line 2" {
		t.Errorf("the repeated row: %v, want skipped, repeating line 2", rows["line 5"])
	}
	if !strings.Contains(rows[p("Linus")][3], "company") {
		t.Errorf("Linus's reason %q does not name the empty variable", rows[p("Linus")][3])
	}

	// OutX saw at most one task per recipient, none for invalid rows.
	for _, who := range []string{p("Ada"), p("Grace"), p("Ken"), outxtest.NotConnected + "-e2ecsv"} {
		if n := len(s.sandbox.TasksTo(who)); n != 1 {
			t.Errorf("%s: %d tasks, want 1", who, n)
		}
	}
	if n := len(s.sandbox.TasksTo(p("Linus"))); n != 0 {
		t.Errorf("Linus: %d tasks for an invalid row", n)
	}
	// From the sandbox's own clock: one task at a time, and each gap (at
	// least --min-gap) counted from the end of the previous task.
	var tasks []outxtest.Task
	for _, who := range []string{p("Ada"), p("Grace"), outxtest.NotConnected + "-e2ecsv", p("Ken")} {
		tasks = append(tasks, s.sandbox.TasksTo(who)...)
	}
	if err := outxtest.CheckAccountTasks(tasks, outxtest.AccountPacing{MinGap: 100 * time.Millisecond}); err != nil {
		t.Errorf("the campaign's tasks, want at least the 100ms minimum gap from each one's end: %v", err)
	}

	// Starting the same campaign again sends nothing new.
	before := len(s.sandbox.Tasks())
	r = s.run(t, "starter", "campaign", "start", "--id", id, "--csv", path, "--template", template,
		"--anytime", "--min-gap", "100ms", "--max-gap", "300ms", "--allow-invalid")
	if r.code != 0 {
		t.Fatalf("second start: %s", r)
	}
	again, err := s.finalProgress(t, id, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Everyone messaged (or failed by OutX's task) is skipped; the two
	// invalid rows made no task the first time, so they are looked at
	// again, and are still invalid.
	if again.Counts != (workflows.Counts{Skipped: 5, Invalid: 2}) {
		t.Errorf("second run counts = %+v, want 5 skipped, the 2 invalid rows invalid again", again.Counts)
	}

	// Linus's row corrected, the same campaign started again: he was never
	// messaged, so now he is; everyone else is skipped.
	fixed := writeCSV(t,
		"recipient_urn,first_name,company",
		p("Ada")+",Ada,Analytical Engines",
		p("Linus")+",Linus,Linux",
	)
	r = s.run(t, "starter", "campaign", "start", "--id", id, "--csv", fixed, "--template", template,
		"--anytime", "--min-gap", "100ms", "--max-gap", "300ms")
	if r.code != 0 {
		t.Fatalf("start with the corrected list: %s", r)
	}
	third, err := s.finalProgress(t, id, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if third.Counts != (workflows.Counts{Delivered: 1, Skipped: 1}) || len(s.sandbox.TasksTo(p("Linus"))) != 1 {
		t.Errorf("corrected run: counts %+v, %d tasks to Linus; want him messaged once, Ada skipped", third.Counts, len(s.sandbox.TasksTo(p("Linus"))))
	}
	if n := len(s.sandbox.Tasks()); n != before {
		// Other tests share the sandbox: count only this campaign's people.
		for _, who := range []string{p("Ada"), p("Grace"), p("Ken"), outxtest.NotConnected + "-e2ecsv"} {
			if n := len(s.sandbox.TasksTo(who)); n != 1 {
				t.Errorf("after the second start, %s has %d tasks", who, n)
			}
		}
	}
}

func TestCampaignPauseResumeCancel(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-campaign-pause", sandboxOptions())
	var to []string
	for i := range 11 {
		to = append(to, "--to", fmt.Sprintf("urn:li:person:ACoAAE2ePause%d", i))
	}
	to = append(to, "--to", "urn:li:person:ACoAAE2ePause0") // again, in a later run
	// Two recipients a page and a 100-event history limit: the campaign
	// continues as new every few recipients, and the controls and the
	// progress must follow it from run to run.
	id := "e2e-campaign-pause"
	args := append([]string{"campaign", "start", "--id", id, "--template", "Hello there", "--anytime",
		"--min-gap", "300ms", "--max-gap", "300ms", "--page-size", "2", "--max-run-events", "100"}, to...)
	if r := s.run(t, "starter", args...); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	waitUntil(t, time.Minute, func() bool { return s.progress(t, id).Run >= 2 })
	r := s.run(t, "starter", "campaign", "pause", "--id", id, "--reason", "checking replies")
	if r.code != 0 {
		t.Fatalf("pause: %s", r)
	}
	// The message in flight, if any, finishes; then nothing more is sent.
	waitUntil(t, 30*time.Second, func() bool { p := s.progress(t, id); return p.Status == workflows.StatusPaused })
	st := s.run(t, "starter", "campaign", "status", "--id", id)
	if st.code != 0 || !strings.Contains(st.stdout, "paused") || !strings.Contains(st.stdout, "checking replies") {
		t.Fatalf("status while paused: %s", st)
	}
	held := s.progress(t, id).Counts.Done()
	time.Sleep(3 * time.Second)
	if now := s.progress(t, id).Counts.Done(); now != held {
		t.Fatalf("%d recipients handled while paused (from %d)", now-held, held)
	}
	if r := s.run(t, "starter", "campaign", "resume", "--id", id); r.code != 0 {
		t.Fatalf("resume: %s", r)
	}
	final, err := s.finalProgress(t, id, 3*time.Minute)
	if err != nil || final.Counts != (workflows.Counts{Delivered: 11, Skipped: 1}) || final.Total != 12 || final.Run < 2 {
		t.Fatalf("after resume: %+v, %v; want 11 delivered and the repeat skipped, over several runs", final, err)
	}
	for i := range 11 {
		if n := len(s.sandbox.TasksTo(fmt.Sprintf("urn:li:person:ACoAAE2ePause%d", i))); n != 1 {
			t.Errorf("recipient %d: %d tasks", i, n)
		}
	}

	// Cancel: the campaign stops part way, as cancelled, and says so. It
	// writes to the same people again, which the contact policy allows.
	id = "e2e-campaign-cancel"
	args = append([]string{"campaign", "start", "--id", id, "--template", "Hello there", "--anytime", "--min-gap", "2s", "--max-gap", "2s",
		"--contact-policy", "allow"}, to...)
	if r := s.run(t, "starter", args...); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	waitUntil(t, 30*time.Second, func() bool { return s.progress(t, id).Counts.Done() >= 1 })
	if r := s.run(t, "starter", "campaign", "cancel", "--id", id); r.code != 0 {
		t.Fatalf("cancel: %s", r)
	}
	_, err = s.finalProgress(t, id, 3*time.Minute)
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled campaign ended with %v", err)
	}
	st = s.run(t, "starter", "campaign", "status", "--id", id)
	if !strings.Contains(st.stdout, "cancelled") {
		t.Errorf("status after cancel: %s", st)
	}
}

// TestCampaignSurvivesWorkerKill kills the worker (SIGKILL) in the middle of
// a campaign and starts another: the campaign finishes, nobody is messaged
// twice and nobody is lost.
func TestCampaignSurvivesWorkerKill(t *testing.T) {
	s := up(t)
	t.Parallel()
	queue := "e2e-kill"
	w, err := s.startWorker(queue)
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	lines := []string{"recipient_urn,first_name"}
	for i := range n {
		lines = append(lines, fmt.Sprintf("urn:li:person:ACoAAE2eKill%02d,P%d", i, i))
	}
	path := writeCSV(t, lines...)
	id := "e2e-campaign-kill"
	r := s.run(t, "starter", "campaign", "start", "--task-queue", queue, "--id", id, "--csv", path,
		"--template", "Hi {{first_name}}", "--anytime", "--min-gap", "50ms", "--max-gap", "150ms",
		"--hourly-cap", "0", "--daily-cap", "0")
	if r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	for _, at := range []int{5, 14} {
		waitUntil(t, time.Minute, func() bool { return s.progress(t, id).Counts.Done() >= at })
		w.Kill()
		time.Sleep(time.Second)
		if w, err = s.startWorker(queue); err != nil {
			t.Fatal(err)
		}
	}
	defer w.Stop()
	final, err := s.finalProgress(t, id, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := final.Counts
	if c.Done() != n || c.Delivered+c.Unknown != n || c.Unknown > 2 || final.Pending != 0 {
		t.Fatalf("counts = %+v of %d: every recipient must end delivered (or unknown, at most once per kill)", c, n)
	}
	for i := range n {
		who := fmt.Sprintf("urn:li:person:ACoAAE2eKill%02d", i)
		if got := len(s.sandbox.TasksTo(who)); got > 1 || (got == 0 && c.Unknown == 0) {
			t.Errorf("%s: %d tasks", who, got)
		}
	}
	rows := s.report(t, id, n)
	if len(rows) != n {
		t.Errorf("report has %d rows, want %d", len(rows), n)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("condition not met within %s", timeout)
}

// TestCampaignStopsOn401 (not parallel: it makes the shared sandbox answer
// 401): the campaign stops with an error that says what to fix, and its
// message in flight, which OutX refused without creating a task, waits on its
// own and is sent once when the key works again; nobody else is tried.
func TestCampaignStopsOn401(t *testing.T) {
	s := up(t)
	id := "e2e-campaign-401"
	s.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: 401, Times: 1})
	defer s.sandbox.ClearFaults()
	r := s.run(t, "starter", "campaign", "start", "--id", id, "--template", "Hello there", "--anytime",
		"--to", "urn:li:person:ACoAAE2e401a", "--to", "urn:li:person:ACoAAE2e401b", "--watch")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "status: stopped") || !strings.Contains(r.stdout+r.stderr, "Invalid API Key") {
		t.Fatalf("start --watch: want exit 1, stopped, naming the 401\n%s", r)
	}
	if _, err := s.finalProgress(t, id, 3*time.Minute); err == nil || !strings.Contains(err.Error(), "CampaignStopped") {
		t.Fatalf("campaign ended with %v, want CampaignStopped", err)
	}
	// The first message retries 15s later, now with a working key.
	waitUntil(t, time.Minute, func() bool { return len(s.sandbox.TasksTo("urn:li:person:ACoAAE2e401a")) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.SendMessageResult
	if err := s.client.GetWorkflow(ctx, id+"/urn:li:person:ACoAAE2e401a", "").Get(ctx, &res); err != nil || res.Outcome != workflows.Delivered || res.SendAttempts != 2 {
		t.Fatalf("the stopped campaign's message: %+v, %v; want delivered on its second attempt", res, err)
	}
	if n := len(s.sandbox.TasksTo("urn:li:person:ACoAAE2e401b")); n != 0 {
		t.Errorf("the second recipient got %d tasks after the stop", n)
	}
}

// TestCampaignWithProfileURLs: rows that name a profile instead of a URN are
// looked up with OutX's Fetch Profile (a paced LinkedIn action) and messaged
// under the URN found; the same person named twice is messaged once.
func TestCampaignWithProfileURLs(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-campaign-profiles", sandboxOptions())
	id := "e2e-campaign-profiles"
	path := writeCSV(t,
		"profile_url,recipient_urn,first_name",
		"https://www.linkedin.com/in/ACoAAE2eProfA/,,Ada",
		",urn:li:person:ACoAAE2eProfB,Bo",
		"https://www.linkedin.com/in/ACoAAE2eProfA,,Ada again",
	)
	r := s.run(t, "starter", "campaign", "start", "--id", id, "--csv", path, "--template", "Hi {{first_name}}",
		"--anytime", "--min-gap", "100ms", "--max-gap", "200ms", "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "delivered 2  failed 0  unknown 0  invalid 0  skipped 1  excluded 0  pending 0") {
		t.Fatalf("start --watch: %s", r)
	}
	lookups := 0
	for _, task := range s.sandbox.Tasks() {
		if task.Type == "agent_fetch_profile" && task.ProfileSlug == "ACoAAE2eProfA" {
			lookups++
		}
	}
	if lookups != 2 {
		t.Errorf("%d look-ups of the profile, want 2 (one per row)", lookups)
	}
	if n := len(s.sandbox.TasksTo("urn:li:person:ACoAAE2eProfA")); n != 1 {
		t.Errorf("the person named twice by profile got %d messages, want 1", n)
	}
	rows := s.report(t, id, 3)
	if rows["urn:li:person:ACoAAE2eProfA"] == nil || rows["urn:li:person:ACoAAE2eProfA"][2] != "delivered" {
		t.Errorf("report: %v", rows)
	}
}

// pendingWork says what a run waits on (its pending activities and
// children), for a test's failure message.
func pendingWork(c client.Client, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := describe(ctx, c, id, "")
	if err != nil {
		return err.Error()
	}
	out := d.GetWorkflowExecutionInfo().GetStatus().String()
	for _, a := range d.GetPendingActivities() {
		out += fmt.Sprintf("\n  activity %s: %s, attempt %d, last failure %q", a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastFailure().GetMessage())
	}
	for _, ch := range d.GetPendingChildren() {
		out += "\n  child " + ch.GetWorkflowId()
	}
	return out
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
