package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"go.temporal.io/sdk/client"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// paceRun is one scenario of the sequence and pacing tests: its own OutX
// sandbox (its timings, its teams), its own senders file and task queue (so
// its own account pacers), and its own worker, on the shared dev server.
// Campaigns are started with the real starter from campaign files the test
// writes; what happened is read from the sandbox's task records.
type paceRun struct {
	t       *testing.T
	s       *stack
	sandbox *outxtest.Server
	queue   string
	dir     string
	env     []string
	worker  *process
	kills   []string // what each SIGKILL interrupted
}

func newPaceRun(t *testing.T, s *stack, queue string, opts outxtest.Options, sendersYAML string) *paceRun {
	t.Helper()
	r := &paceRun{t: t, s: s, queue: queue, dir: t.TempDir(), sandbox: outxtest.NewServer(opts)}
	t.Cleanup(r.sandbox.Close)
	path := filepath.Join(r.dir, "senders.yaml")
	writeFile(t, path, sendersYAML)
	r.env = []string{"OUTX_BASE_URL=" + r.sandbox.URL, "OUTPACE_SENDERS_FILE=" + path,
		contacts.EnvDB + "=" + filepath.Join(r.dir, "contacts.db")}
	r.startWorker()
	t.Cleanup(func() {
		if r.worker != nil {
			r.worker.Stop()
		}
	})
	return r
}

// restartWorker stops the run's worker and starts another with env added
// to the run's environment (for its starter too).
func (r *paceRun) restartWorker(env ...string) {
	r.t.Helper()
	r.env = append(r.env, env...)
	r.worker.Stop()
	r.startWorker()
}

func (r *paceRun) startWorker() {
	r.t.Helper()
	w, err := r.s.startWorkerWithEnv(r.queue, r.env)
	if err != nil {
		r.t.Fatal(err)
	}
	r.worker = w
}

// file writes a campaign file (or a CSV) into the scenario's folder.
func (r *paceRun) file(name, content string) string {
	r.t.Helper()
	path := filepath.Join(r.dir, name)
	writeFile(r.t, path, content)
	return path
}

// startCampaign runs `starter campaign start` on the scenario's queue.
func (r *paceRun) startCampaign(args ...string) {
	r.t.Helper()
	res := r.s.run(r.t, "starter", append([]string{"campaign", "start", "--task-queue", r.queue}, args...)...)
	if res.code != 0 {
		r.t.Fatalf("campaign start %v: %s", args, res)
	}
}

// pacer asks a sender's pacer on the scenario's queue for its status.
func (r *paceRun) pacer(sender string) (pacer.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st pacer.Status
	v, err := r.s.client.QueryWorkflow(ctx, pacer.WorkflowID(r.queue, sender), "", pacer.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// teamTasks are the tasks of one team (one LinkedIn account), oldest first.
func (r *paceRun) teamTasks(team string) []outxtest.Task {
	var out []outxtest.Task
	for _, task := range r.sandbox.Tasks() {
		if task.Team == team {
			out = append(out, task)
		}
	}
	return out
}

// checkOneAtATime asserts that an account's tasks never overlapped, and
// that each started at least minGap after the previous one finished, by
// the sandbox's own clock.
func checkOneAtATime(t *testing.T, account string, tasks []outxtest.Task, minGap time.Duration) {
	t.Helper()
	if err := outxtest.CheckAccountTasks(tasks, outxtest.AccountPacing{MinGap: minGap}); err != nil {
		t.Errorf("%s: %v", account, err)
	}
}

// anytime is the window and pacing of campaigns that leave all pacing to
// their account: every day, every hour, no gap or cap of their own.
const anytime = `window: {time_zone: UTC, days: mon-sun, hours: "00:00-24:00"}
pacing: {min_gap: 0s, max_gap: 0s, hourly_cap: 0, daily_cap: 0}
`

// senderYAML is one account of a senders file: every day and hour, the
// gaps given, and caps given as YAML (the rest 0, no cap).
func senderYAML(name, key, minGap, maxGap, messageCaps string) string {
	return fmt.Sprintf(`  - name: %s
    %s
    time_zone: UTC
    days: mon-sun
    hours: "00:00-24:00"
    min_gap: %s
    max_gap: %s
    hourly_cap: 0
    daily_cap: 0
    message: %s
    connect: {hourly_cap: 0, daily_cap: 0, weekly_cap: 0}
    lookup: {hourly_cap: 0, daily_cap: 0}
`, name, key, minGap, maxGap, messageCaps)
}

// TestTwoCampaignsShareOneSender: a sequence campaign and a one-message
// campaign on one account go through its one pacer: one task at a time, the
// account's gap after each, its message cap across both campaigns (the
// seventh message waits an hour, and the pacer says so), and turns shared
// between the campaigns.
func TestTwoCampaignsShareOneSender(t *testing.T) {
	s := up(t)
	t.Parallel()
	const team, minGap, messageCap = "share", 3 * time.Second, 6
	r := newPaceRun(t, s, "e2e-share", outxtest.Options{
		Teams:       []outxtest.Team{{Name: team, APIKey: apiKey}},
		TaskDelay:   time.Second,
		AcceptDelay: 2 * time.Second,
	}, "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "3s", "5s", "{hourly_cap: 6, daily_cap: 0}"))

	// Campaign A: connect, wait for the connection, thank (3 messages).
	var aPeople []string
	for i := range 3 {
		aPeople = append(aPeople, fmt.Sprintf("%s-share%d", outxtest.Accepts, i))
	}
	aCSV := r.file("a.csv", "recipient_urn,first_name\n"+aPeople[0]+",Ada\n"+aPeople[1]+",Bo\n"+aPeople[2]+",Cy\n")
	aFile := r.file("a.yaml", `name: Share A
id: e2e-share-a
`+anytime+`steps:
  - connect: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {check_every: 10s, timeout: 5m}
  - message: "Thanks for connecting, {{first_name}}!"
`)
	// Campaign B: one message each, from flags (5 messages).
	bLines := []string{"recipient_urn,first_name"}
	var bPeople []string
	for i := range 5 {
		urn := fmt.Sprintf("urn:li:person:ACoAAE2eShareB%d", i)
		bPeople = append(bPeople, urn)
		bLines = append(bLines, fmt.Sprintf("%s,P%d", urn, i))
	}
	bCSV := writeCSV(t, bLines...)
	r.startCampaign("--file", aFile, "--csv", aCSV)
	r.startCampaign("--id", "e2e-share-b", "--csv", bCSV, "--template", "Hello {{first_name}}, a note from campaign B.",
		"--anytime", "--min-gap", "0s", "--max-gap", "0s", "--hourly-cap", "0", "--daily-cap", "0")

	// The seventh message waits for the hourly cap: the pacer holds no
	// slot, has a request queued, and says why.
	var st pacer.Status
	waitFor(t, 100*time.Second, func() bool {
		var err error
		st, err = r.pacer("default")
		return err == nil && st.Holder == nil && st.Queued > 0 && strings.Contains(st.Reason, "hourly cap")
	}, func() string { return fmt.Sprintf("pacer: %+v\ntasks: %d", st, len(r.teamTasks(team))) })
	if !strings.Contains(st.Reason, "hourly cap of 6 messages reached") {
		t.Errorf("pacer reason %q: want the message type's hourly cap", st.Reason)
	}
	// Longer than the largest gap and a task: nothing more is sent.
	time.Sleep(7 * time.Second)

	tasks := r.teamTasks(team)
	checkOneAtATime(t, "account default", tasks, minGap)
	var messages []outxtest.Task
	for _, task := range tasks {
		if task.Type == outxtest.TypeSendMessage {
			messages = append(messages, task)
		}
	}
	if len(messages) != messageCap {
		t.Fatalf("%d messages created, want exactly the hourly cap of %d (A and B need 8)", len(messages), messageCap)
	}
	if want := messages[0].CreatedAt.Add(time.Hour); st.NextAt.Sub(want).Abs() > 10*time.Second {
		t.Errorf("pacer's next action at %s, want about an hour after the first message (%s)", st.NextAt, want)
	}

	// Fair turns: up to the capped message, both campaigns had tasks, and
	// B (whose requests arrived second) got one of the first three.
	campaignOf := func(task outxtest.Task) string {
		if task.Type == outxtest.TypeFetchConnections || slices.Contains(aPeople, task.RecipientURN) {
			return "A"
		}
		if slices.Contains(bPeople, task.RecipientURN) {
			return "B"
		}
		return "?"
	}
	turns := map[string]int{}
	order := ""
	for _, task := range tasks {
		c := campaignOf(task)
		turns[c]++
		order += c
		if task.ID == messages[messageCap-1].ID {
			break
		}
	}
	if turns["A"] < 3 || turns["B"] < 3 || turns["?"] > 0 || !strings.Contains(order[:min(3, len(order))], "B") {
		t.Errorf("turns before the cap: %s (%v); want both campaigns served, B among the first three", order, turns)
	}
	t.Logf("tasks before the cap: %s; pacer: next %s (%s)", order, st.NextAt.Format(time.TimeOnly), st.Reason)

	// Cancel what still runs: the campaign whose message waits for the
	// cap, and the other unless all of its messages fitted under it.
	cancelled := 0
	for _, id := range []string{"e2e-share-a", "e2e-share-b"} {
		d, err := describe(context.Background(), s.client, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			if p, err := s.finalProgress(t, id, 5*time.Second); err != nil || p.Counts.Done() != p.Total {
				t.Errorf("campaign %s ended before the cancel with %+v, %v; want every recipient done", id, p, err)
			}
			continue
		}
		if res := s.run(t, "starter", "campaign", "cancel", "--id", id); res.code != 0 {
			t.Errorf("cancel %s: %s", id, res)
		}
		if _, err := s.finalProgress(t, id, 30*time.Second); err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("campaign %s ended with %v, want cancelled", id, err)
		}
		cancelled++
	}
	if cancelled == 0 {
		t.Errorf("both campaigns had finished under a cap of %d messages for 8", messageCap)
	}
}

// TestTwoSendersDoNotSlowEachOther: two accounts, each with its own pacer,
// act at the same time. Each account's own tasks never overlap; the two
// accounts' tasks do; and each campaign takes about as long as its own five
// tasks need, not the ten one shared pacer would make it wait for.
func TestTwoSendersDoNotSlowEachOther(t *testing.T) {
	s := up(t)
	t.Parallel()
	const gap = 2 * time.Second
	r := newPaceRun(t, s, "e2e-two-senders", outxtest.Options{
		// The worker's default account (OUTX_API_KEY) must be accepted too:
		// the worker checks every account's key at start-up.
		Teams: []outxtest.Team{{Name: "alice", APIKey: "key-alice"}, {Name: "bob", APIKey: "key-bob"}, {Name: "default", APIKey: apiKey}},
		// Tasks longer than the gaps: two accounts acting at once must
		// overlap, whatever their phase.
		TaskDelay: 3 * time.Second,
	}, "senders:\n"+
		senderYAML("alice", "api_key: key-alice", "2s", "2s", "{hourly_cap: 0, daily_cap: 0}")+
		senderYAML("bob", "api_key: key-bob", "2s", "2s", "{hourly_cap: 0, daily_cap: 0}"))

	var files []string
	for _, who := range []string{"alice", "bob"} {
		lines := "recipient_urn,first_name\n"
		for i := range 5 {
			lines += fmt.Sprintf("urn:li:person:ACoAAE2eTwo%s%d,P%d\n", who, i, i)
		}
		csvPath := r.file(who+".csv", lines)
		files = append(files, r.file(who+".yaml", fmt.Sprintf(`id: e2e-two-%s
sender: %s
recipients: %s
%ssteps:
  - message: "Hi {{first_name}}, this is %s."
`, who, who, filepath.Base(csvPath), anytime, who)))
	}
	for _, f := range files {
		r.startCampaign("--file", f)
	}
	for _, who := range []string{"alice", "bob"} {
		p, err := s.finalProgress(t, "e2e-two-"+who, 90*time.Second)
		if err != nil || p.Counts != (workflows.Counts{Delivered: 5}) {
			t.Fatalf("%s's campaign: %+v, %v; want 5 delivered", who, p.Counts, err)
		}
	}

	alice, bob := r.teamTasks("alice"), r.teamTasks("bob")
	if len(alice) != 5 || len(bob) != 5 {
		t.Fatalf("alice has %d tasks, bob %d: want 5 each", len(alice), len(bob))
	}
	checkOneAtATime(t, "alice", alice, gap)
	checkOneAtATime(t, "bob", bob, gap)
	// Alice's tasks ran while bob's were in flight: one pacer for both would
	// never let two tasks overlap. Her tasks begun while his campaign was
	// under way overlap his (his gaps are shorter than her tasks), at
	// least two of them: the campaigns start a moment apart, more on a
	// loaded machine, and a stretched gap may let one through. (How long
	// each campaign took is a speed figure, for benchmarks, not a test.)
	overlapped, during := 0, 0
	for _, a := range alice {
		if a.CreatedAt.Before(bob[0].CreatedAt) || a.CreatedAt.After(bob[len(bob)-1].CreatedAt) {
			continue
		}
		during++
		for _, b := range bob {
			if a.CreatedAt.Before(b.FinishedAt) && b.CreatedAt.Before(a.FinishedAt) {
				overlapped++
				break
			}
		}
	}
	t.Logf("%d of alice's %d tasks begun while bob's campaign ran overlapped one of his", overlapped, during)
	if overlapped < 2 {
		t.Errorf("%d of alice's %d tasks begun while bob's campaign ran overlapped one of his, want at least 2: the accounts were paced as one", overlapped, during)
	}
}

// TestSequenceSurvivesWorkerKill kills the worker (SIGKILL) three times in
// a five-step sequence campaign: while every recipient waits for their
// connection, while someone is in the 15s wait, and right after a
// follow-up message. The campaign finishes; no step is taken twice; each
// step comes in order, the follow-up a full 15s after the first message;
// the person who never accepts ends not_connected with no message; and the
// report says how far each recipient went.
func TestSequenceSurvivesWorkerKill(t *testing.T) {
	s := up(t)
	t.Parallel()
	const team, wait = "killseq", 15 * time.Second
	r := newPaceRun(t, s, "e2e-seq-kill", outxtest.Options{
		Teams:       []outxtest.Team{{Name: team, APIKey: apiKey}},
		TaskDelay:   time.Second,
		AcceptDelay: 2 * time.Second,
	}, "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "1s", "1s", "{hourly_cap: 0, daily_cap: 0}"))

	accepts := []string{outxtest.Accepts + "-seqkill0", outxtest.Accepts + "-seqkill1", outxtest.Accepts + "-seqkill2"}
	ignores := outxtest.Ignores + "-seqkill"
	csvText := "recipient_urn,first_name\n"
	for i, urn := range append(slices.Clone(accepts), ignores) {
		csvText += fmt.Sprintf("%s,P%d\n", urn, i)
	}
	r.file("people.csv", csvText)
	id := "e2e-seq-kill"
	file := r.file("seq.yaml", `name: Kill sequence
id: `+id+`
recipients: people.csv
`+anytime+`steps:
  - connect: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {check_every: 20s, timeout: 60s}
  - message: "Thanks for connecting, {{first_name}}!"
  - wait: 15s
  - message:
      name: follow-up
      text: "{{first_name}}, a follow-up to my note."
`)
	r.startCampaign("--file", file)

	messagesTo := func(tasks []outxtest.Task, urn string) (out []outxtest.Task) {
		for _, task := range tasks {
			if task.Type == outxtest.TypeSendMessage && task.RecipientURN == urn {
				out = append(out, task)
			}
		}
		return out
	}
	// Every request sent and no message yet: each recipient waits for their
	// connection (a loaded machine may space the four requests past the
	// first checks, which are part of that wait).
	r.killQuietly("every recipient waiting for their connection", time.Minute, func(tasks []outxtest.Task) bool {
		requests, messages := 0, 0
		for _, task := range tasks {
			requests += b2i(task.Type == outxtest.TypeSendConnectionRequest)
			messages += b2i(task.Type == outxtest.TypeSendMessage)
		}
		return requests == 4 && messages == 0
	})
	// A kill may still catch an activity whose task just ended at OutX (the
	// sandbox's quiet moment is not the worker's): Temporal retries it
	// after its heartbeat timeout, a minute, so each later moment may come
	// that much later.
	r.killQuietly("a recipient in the 15s wait", 2*time.Minute, func(tasks []outxtest.Task) bool {
		for _, urn := range accepts {
			if m := messagesTo(tasks, urn); len(m) == 1 && time.Since(m[0].FinishedAt) < wait-3*time.Second {
				return true
			}
		}
		return false
	})
	r.killQuietly("right after a follow-up message", 2*time.Minute, func(tasks []outxtest.Task) bool {
		last := tasks[len(tasks)-1]
		return last.Type == outxtest.TypeSendMessage && strings.Contains(last.Message, "follow-up")
	})

	final, err := s.finalProgress(t, id, 2*time.Minute)
	if err != nil {
		t.Fatalf("campaign: %v (kills: %v)", err, r.kills)
	}
	if want := (workflows.Counts{Delivered: 3, NotConnected: 1}); final.Counts != want || final.Pending != 0 {
		t.Errorf("counts = %+v, pending %d; want %+v", final.Counts, final.Pending, want)
	}

	tasks := r.teamTasks(team)
	checkOneAtATime(t, "account default", tasks, time.Second)
	for _, urn := range accepts {
		requests, messages := r.sandbox.ConnectionRequestsTo(urn), messagesTo(tasks, urn)
		if len(requests) != 1 || len(messages) != 2 {
			t.Errorf("%s: %d connection requests and %d messages, want 1 and 2", urn, len(requests), len(messages))
			continue
		}
		first, follow := messages[0], messages[1]
		if !requests[0].CreatedAt.Before(first.CreatedAt) || !strings.HasPrefix(first.Message, "Thanks for connecting") ||
			!strings.Contains(follow.Message, "follow-up") {
			t.Errorf("%s: request at %s, then %q at %s, then %q: want the request, the thanks, the follow-up",
				urn, requests[0].CreatedAt.Format(time.TimeOnly), first.Message, first.CreatedAt.Format(time.TimeOnly), follow.Message)
		}
		if d := follow.CreatedAt.Sub(first.FinishedAt); d < wait {
			t.Errorf("%s: the follow-up came %s after the first message finished, want at least %s", urn, d, wait)
		}
	}
	if n, m := len(r.sandbox.ConnectionRequestsTo(ignores)), len(messagesTo(tasks, ignores)); n != 1 || m != 0 {
		t.Errorf("%s: %d connection requests and %d messages, want 1 and 0", ignores, n, m)
	}

	rows := r.sequenceReport(id, 4)
	for urn, want := range map[string][3]string{
		accepts[0]: {"delivered", "5/5 message",
			"1 connect delivered, 2 wait_for_connection connected, 3 message delivered, 4 wait done, 5 message delivered"},
		ignores: {"not_connected", "2/5 wait_for_connection", "1 connect delivered, 2 wait_for_connection not_connected"},
	} {
		row := rows[urn]
		if row["outcome"] != want[0] || row["step"] != want[1] || row["steps"] != want[2] {
			t.Errorf("report row of %s: outcome %q, step %q, steps %q; want %q", urn, row["outcome"], row["step"], row["steps"], want)
		}
	}
	t.Logf("kills: %v", r.kills)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// killQuietly waits until ready holds of the sandbox's tasks at a moment
// when no OutX task is in flight: the latest one finished 400ms to 1s ago
// (its poll has seen it end, and the account's 1s gap holds the next one
// back). It then kills the worker with SIGKILL and starts another. Killing
// in the middle of an OutX call is the fault suite's concern; here the
// question is whether the sequence resumes where it was.
func (r *paceRun) killQuietly(moment string, timeout time.Duration, ready func([]outxtest.Task) bool) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for ; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tasks := r.sandbox.Tasks()
		if len(tasks) == 0 || !ready(tasks) {
			continue
		}
		var latest time.Time
		inFlight := false
		for _, task := range tasks {
			inFlight = inFlight || task.FinishedAt.IsZero()
			if task.FinishedAt.After(latest) {
				latest = task.FinishedAt
			}
		}
		if since := time.Since(latest); inFlight || since < 400*time.Millisecond || since > time.Second {
			continue
		}
		r.worker.Kill()
		r.kills = append(r.kills, fmt.Sprintf("%s (task %d)", moment, len(tasks)))
		r.startWorker()
		return
	}
	r.t.Fatalf("no quiet moment with %s within %s; kills so far: %v; tasks: %d", moment, timeout, r.kills, len(r.sandbox.Tasks()))
}

// sequenceReport runs `starter campaign report` for a sequence campaign
// until it lists want finished recipients, and returns each recipient's
// row by column name.
func (r *paceRun) sequenceReport(id string, want int) map[string]map[string]string {
	r.t.Helper()
	var last result
	var rows map[string]map[string]string
	waitFor(r.t, 20*time.Second, func() bool {
		last = r.s.run(r.t, "starter", "campaign", "report", "--id", id)
		records, err := csv.NewReader(strings.NewReader(last.stdout)).ReadAll()
		if last.code != 0 || err != nil || len(records) != want+1 {
			return false
		}
		rows = map[string]map[string]string{}
		for _, rec := range records[1:] {
			row := map[string]string{}
			for i, col := range records[0] {
				row[col] = rec[i]
			}
			if row["outcome"] == "pending" {
				return false
			}
			rows[row["recipient_urn"]] = row
		}
		return len(rows) == want
	}, func() string { return last.String() })
	return rows
}

// TestSequenceCampaignContinuesAsNew: a sequence campaign whose history
// fills up continues as new several times while its recipients' sequences
// are in progress, and every sequence still reports to it: each recipient
// gets both messages once, and the counts add up.
func TestSequenceCampaignContinuesAsNew(t *testing.T) {
	s := up(t)
	t.Parallel()
	const team, n = "canseq", 24
	r := newPaceRun(t, s, "e2e-seq-can", outxtest.Options{
		Teams: []outxtest.Team{{Name: team, APIKey: apiKey}}, TaskDelay: 200 * time.Millisecond,
	}, "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}"))
	var rs []recipients.Recipient
	for i := range n {
		rs = append(rs, recipients.Recipient{RecipientURN: fmt.Sprintf("urn:li:person:ACoAACan%02d", i), Vars: map[string]string{"name": fmt.Sprint(i)}})
	}
	zero, noCap := workflows.Duration(0), 0
	id := "e2e-seq-can"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: r.queue}, workflows.CampaignWorkflow, workflows.CampaignInput{
		CampaignID: id, Recipients: rs, MaxRunEvents: 100, PageSize: 4,
		Steps: []workflows.Step{
			{Type: workflows.StepMessage, Template: "Hi {{name}}"},
			{Type: workflows.StepWait, Duration: workflows.Duration(time.Second)},
			{Type: workflows.StepMessage, Template: "Again, {{name}}"},
		},
		Window: workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
		Pacing: workflows.Pacing{MinGap: &zero, MaxGap: &zero, HourlyCap: &noCap, DailyCap: &noCap},
	})
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.CampaignProgress
	if err := run.Get(ctx, &p); err != nil {
		pacer, perr := r.pacer(senders.Default)
		t.Fatalf("campaign: %v\nprogress: %+v\npacer: %+v %v\ntasks: %d", err, s.progress(t, id), pacer, perr, len(r.teamTasks(team)))
	}
	if p.Counts != (workflows.Counts{Delivered: n}) || p.Pending != 0 || p.Active != 0 {
		t.Errorf("final progress: counts %+v, pending %d, active %d; want %d delivered", p.Counts, p.Pending, p.Active, n)
	}
	if p.Run < 3 {
		t.Errorf("the campaign ended in run %d; want it to have continued as new at least twice", p.Run)
	}
	per := map[string]int{}
	for _, task := range r.teamTasks(team) {
		per[task.RecipientURN]++
	}
	for _, rec := range rs {
		if per[rec.RecipientURN] != 2 {
			t.Errorf("%s: %d messages, want 2", rec.RecipientURN, per[rec.RecipientURN])
		}
	}
}
