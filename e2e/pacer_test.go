package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// The account pacer and the runs that wait for it, through the real worker
// and starter binaries on the dev server.

// unlimitedSender is a senders file whose default account holds nothing
// back, so a test's timings are its campaigns' own.
func unlimitedSender() string {
	return "senders:\n" + senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}")
}

// defaultAccountRun is a pace run whose sandbox knows the worker's default
// account and finishes tasks in 300ms, with the senders file given.
func defaultAccountRun(t *testing.T, s *stack, queue, sendersYAML string) *paceRun {
	return newPaceRun(t, s, queue, outxtest.Options{Teams: []outxtest.Team{{Name: "default", APIKey: apiKey}}, TaskDelay: 300 * time.Millisecond}, sendersYAML)
}

// TestCancelledSequenceCampaignDoesNotStopLaterSends is the defect the
// pacer had: it decoded every signal of a kind into one variable, so after
// a sequence campaign was cancelled, every later single send from the
// account carried that campaign's fields and ended "stopped: the campaign
// was cancelled". Now the single send is delivered.
func TestCancelledSequenceCampaignDoesNotStopLaterSends(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-seqbug", unlimitedSender())
	r.file("people.csv", "recipient_urn,first_name\nurn:li:person:ACoAASeqbug1,Ann\nurn:li:person:ACoAASeqbug2,Bo\n")
	file := r.file("seqbug.yaml", `id: e2e-seqbug
recipients: people.csv
`+anytime+`steps:
  - message: "Hi {{first_name}}"
  - wait: 1h
  - message: "Again, {{first_name}}"
`)
	r.startCampaign("--file", file)
	waitUntil(t, 90*time.Second, func() bool { return len(r.sandbox.Tasks()) == 2 })
	if res := s.run(t, "starter", "campaign", "cancel", "--task-queue", r.queue, "--id", "e2e-seqbug"); res.code != 0 {
		t.Fatalf("cancel: %s", res)
	}
	res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAASingle3",
		"--message", "another unrelated person", "--wait")
	if res.code != 0 || !strings.Contains(res.stdout, "Outcome: delivered") {
		t.Fatalf("a single send after the sequence campaign's cancel: %s\nwant delivered", res)
	}
	if n := len(r.sandbox.TasksTo("urn:li:person:ACoAASingle3")); n != 1 {
		t.Errorf("%d tasks for the single send, want 1", n)
	}
}

// TestResumedCampaignStatusOverStarter: a sequence campaign paused while its
// recipients wait in a long step, then resumed, says running through
// `starter campaign status --json` at once, not paused.
func TestResumedCampaignStatusOverStarter(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-heldout", unlimitedSender())
	r.file("people.csv", "recipient_urn,first_name\nurn:li:person:ACoAAHeld1,Ann\nurn:li:person:ACoAAHeld2,Bo\nurn:li:person:ACoAAHeld3,Cy\n")
	file := r.file("heldout.yaml", `id: e2e-heldout
recipients: people.csv
`+anytime+`steps:
  - message: "Hi {{first_name}}"
  - wait: 14d
  - message: "Again, {{first_name}}"
`)
	r.startCampaign("--file", file)
	t.Cleanup(func() { s.run(t, "starter", "campaign", "cancel", "--task-queue", r.queue, "--id", "e2e-heldout") })
	status := func() workflows.CampaignProgress {
		res := s.runWithEnv(t, "starter", r.env, "campaign", "status", "--task-queue", r.queue, "--id", "e2e-heldout", "--json")
		var p workflows.CampaignProgress
		if err := json.Unmarshal([]byte(res.stdout), &p); err != nil {
			t.Fatalf("campaign status --json: %v\n%s", err, res)
		}
		return p
	}
	waitUntil(t, 90*time.Second, func() bool { return len(r.sandbox.Tasks()) == 3 && status().Active == 3 })
	if res := s.run(t, "starter", "campaign", "pause", "--task-queue", r.queue, "--id", "e2e-heldout", "--reason", "heldout pause"); res.code != 0 {
		t.Fatalf("pause: %s", res)
	}
	waitUntil(t, 30*time.Second, func() bool { return status().Status == workflows.StatusPaused })
	if res := s.run(t, "starter", "campaign", "resume", "--task-queue", r.queue, "--id", "e2e-heldout"); res.code != 0 {
		t.Fatalf("resume: %s", res)
	}
	resumed := time.Now()
	var p workflows.CampaignProgress
	waitUntil(t, 10*time.Second, func() bool { p = status(); return p.Status == workflows.StatusRunning })
	t.Logf("running %s after the resume: %q", time.Since(resumed).Round(time.Millisecond), p.Reason)
	if strings.Contains(p.Reason, "pause") || !strings.Contains(p.Reason, "waiting for their sequences to end") {
		t.Errorf("after the resume: %s %q, want running and waiting for the sequences", p.Status, p.Reason)
	}
	time.Sleep(3 * time.Second)
	if p = status(); p.Status != workflows.StatusRunning {
		t.Errorf("3s later: %s %q, want still running", p.Status, p.Reason)
	}
}

// TestNoTaskDoesNotBlockALaterAttempt: "never twice" must not become
// "never once". A send that OutX refused (401) without creating a task is
// sent again when the starter is run again; a campaign whose message OutX
// kept refusing until its send deadline tries that person again when it is
// started again under the same id. A delivered one is never sent again.
func TestNoTaskDoesNotBlockALaterAttempt(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-never-once", unlimitedSender())
	send := func(urn string) result {
		return s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", urn, "--message", "Hi from e2e", "--wait")
	}

	// A single send refused with 401: failed, no task; run again, it sends.
	r.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, Times: 1, Status: 401})
	first := send("urn:li:person:ACoAANeverOnce1")
	if first.code != 3 || !strings.Contains(first.stdout, "Outcome: failed") {
		t.Fatalf("first send with a refused key: %s\nwant failed (exit 3)", first)
	}
	second := send("urn:li:person:ACoAANeverOnce1")
	if second.code != 0 || !strings.Contains(second.stdout, "Outcome: delivered") || !strings.Contains(second.stdout, "made no OutX task") {
		t.Fatalf("the same send again: %s\nwant it sent again and delivered", second)
	}
	third := send("urn:li:person:ACoAANeverOnce1")
	if third.code != 0 || !strings.Contains(third.stdout, "not sending it again") {
		t.Fatalf("the same send after delivery: %s\nwant it refused (already delivered)", third)
	}
	if n := len(r.sandbox.TasksTo("urn:li:person:ACoAANeverOnce1")); n != 1 {
		t.Errorf("%d tasks for the person, want 1", n)
	}

	// A campaign whose first message OutX kept refusing (extension offline)
	// past its send deadline: the campaign holds; cancelled and started
	// again under the same id, it tries that person again.
	csv := r.file("people.csv", "recipient_urn,first_name\nurn:li:person:ACoAANeverOnce2,Ann\nurn:li:person:ACoAANeverOnce3,Bo\n")
	campaign := []string{"--id", "e2e-never-once", "--csv", csv, "--template", "Hi {{first_name}}", "--send-deadline", "20s",
		"--anytime", "--min-gap", "0s", "--max-gap", "0s", "--hourly-cap", "0", "--daily-cap", "0"}
	r.sandbox.SetExtensionOffline(true)
	r.startCampaign(campaign...)
	waitUntil(t, 2*time.Minute, func() bool {
		p := s.progress(t, "e2e-never-once")
		return p.Counts.Failed == 1 && p.Status == workflows.StatusPaused
	})
	if res := s.run(t, "starter", "campaign", "cancel", "--task-queue", r.queue, "--id", "e2e-never-once"); res.code != 0 {
		t.Fatalf("cancel: %s", res)
	}
	if _, err := s.finalProgress(t, "e2e-never-once", time.Minute); err == nil {
		t.Fatal("the cancelled campaign ended without an error")
	}
	r.sandbox.SetExtensionOffline(false)
	r.startCampaign(campaign...)
	p, err := s.finalProgress(t, "e2e-never-once", 2*time.Minute)
	if err != nil || p.Counts != (workflows.Counts{Delivered: 2}) {
		t.Fatalf("the campaign started again: %+v, %v; want both delivered (the first person tried again)", p.Counts, err)
	}
	for _, urn := range []string{"urn:li:person:ACoAANeverOnce2", "urn:li:person:ACoAANeverOnce3"} {
		if n := len(r.sandbox.TasksTo(urn)); n != 1 {
			t.Errorf("%s: %d tasks, want exactly 1", urn, n)
		}
	}
}

// TestSenderTheWorkersLackIsRefused: a send or a campaign naming an account
// the workers do not have is refused before anything starts, naming it.
func TestSenderTheWorkersLackIsRefused(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-no-alice", unlimitedSender())
	res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--sender", "alice", "--to", "urn:li:person:ACoAANoAlice", "--message", "Hi")
	if res.code != 2 || !strings.Contains(res.stderr, "sender alice is not configured") {
		t.Errorf("send --sender alice: %s\nwant exit 2 naming the sender", res)
	}
	csv := r.file("people.csv", "recipient_urn,first_name\nurn:li:person:ACoAANoAlice,Al\n")
	res = s.runWithEnv(t, "starter", r.env, "campaign", "start", "--task-queue", r.queue, "--sender", "alice", "--id", "e2e-no-alice",
		"--csv", csv, "--template", "Hi {{first_name}}")
	if res.code != 2 || !strings.Contains(res.stderr, "sender alice is not configured") {
		t.Errorf("campaign start --sender alice: %s\nwant exit 2 naming the sender", res)
	}
	if _, err := s.client.DescribeWorkflow(t.Context(), "e2e-no-alice", ""); err == nil {
		t.Error("a campaign was started for a sender the workers lack")
	}
	if n := len(r.sandbox.Tasks()); n != 0 {
		t.Errorf("%d OutX tasks, want none", n)
	}
}

// TestSendWaitSaysWhyItWaits: a capped account's second message waits, and
// `starter send --wait` says so, with the time of the next slot; `campaign
// status` of a campaign on that account says so too.
func TestSendWaitSaysWhyItWaits(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-capped", "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 1, daily_cap: 0}"))
	if res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAACapped1", "--message", "Hi", "--wait"); res.code != 0 {
		t.Fatalf("first send: %s", res)
	}
	// The second waits an hour: start it without --wait, then watch it.
	res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAACapped2", "--message", "Hi", "--json")
	var out struct {
		WorkflowID string `json:"workflow_id"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || res.code != 0 {
		t.Fatalf("second send: %v\n%s", err, res)
	}
	t.Cleanup(func() { _ = s.client.CancelWorkflow(t.Context(), out.WorkflowID, "") })
	want := "waiting for account default: hourly cap of 1 messages reached; next slot "
	var text string
	waitUntil(t, 30*time.Second, func() bool {
		v, err := s.client.QueryWorkflow(t.Context(), out.WorkflowID, "", workflows.QueryTask)
		if err != nil {
			return false
		}
		var p workflows.TaskProgress
		if v.Get(&p) != nil {
			return false
		}
		text = p.Text
		return strings.HasPrefix(p.Text, want)
	})
	// send --wait on the same message attaches to the run and prints why it
	// waits; it is stopped after a few seconds (the run goes on).
	wait := s.runWithTimeout(t, 8*time.Second, r.env, "starter", "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAACapped2", "--message", "Hi", "--wait")
	if !strings.Contains(wait.stdout, want) {
		t.Errorf("send --wait on the capped account printed:\n%s\nwant a line %q…", wait.stdout, want)
	}
	t.Logf("the run's progress: %q", text)
	fmt.Fprintln(testOutput{t}, wait.stdout)
}

type testOutput struct{ t *testing.T }

func (o testOutput) Write(b []byte) (int, error) { o.t.Log(string(b)); return len(b), nil }

// runWithTimeout runs a binary that would wait long, and stops it after
// timeout (as Ctrl-C would), returning what it printed by then.
func (s *stack) runWithTimeout(t *testing.T, timeout time.Duration, extraEnv []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Env = s.env(extraEnv...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	}
	return r
}

// TestUnreachedSequenceIsFailedAndSearchable: a sequence that did not reach
// its person (not connected in time) ends failed, as an undelivered message
// does, and one filter on the Outcome search attribute finds it.
func TestUnreachedSequenceIsFailedAndSearchable(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-unreached", unlimitedSender())
	ignores := outxtest.Ignores + "-unreached"
	r.file("people.csv", "recipient_urn,first_name\n"+ignores+",Ian\n")
	file := r.file("unreached.yaml", `id: e2e-unreached
recipients: people.csv
`+anytime+`steps:
  - connect: "Hi {{first_name}}"
  - wait_for_connection: {check_every: 10s, timeout: 15s}
  - message: "Thanks, {{first_name}}"
`)
	r.startCampaign("--file", file)
	p, err := s.finalProgress(t, "e2e-unreached", 2*time.Minute)
	if err != nil || p.Counts.NotConnected != 1 {
		t.Fatalf("campaign: %+v, %v; want one not_connected", p.Counts, err)
	}
	query := `CampaignId = "e2e-unreached" AND WorkflowType = "Sequence" AND Outcome = "not_connected" AND ExecutionStatus = "Failed"`
	var found int
	waitUntil(t, 30*time.Second, func() bool {
		res, err := s.client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		found = len(res.GetExecutions())
		return found == 1
	})
}
