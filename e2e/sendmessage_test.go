package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// sent is what `starter send --json --wait` prints.
type sent struct {
	WorkflowID string                      `json:"workflow_id"`
	RunID      string                      `json:"run_id"`
	URL        string                      `json:"url"`
	Existing   bool                        `json:"existing"`
	Result     workflows.SendMessageResult `json:"result"`
}

func (s *stack) send(t *testing.T, urn, message string, extra ...string) (sent, result) {
	t.Helper()
	args := append([]string{"send", "--to", urn, "--message", message, "--wait", "--json"}, extra...)
	r := s.run(t, "starter", args...)
	var out sent
	if r.code <= 4 && r.code != 1 && r.code != 2 {
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("starter printed no JSON: %v\n%s", err, r)
		}
	}
	return out, r
}

func (s *stack) history(t *testing.T, workflowID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	it := s.client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

func TestDeliveredMessage(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-delivered", sandboxOptions())
	urn := "urn:li:person:e2eDelivered"
	out, r := s.send(t, urn, "Hi Ada, thanks for connecting!")
	if r.code != 0 {
		t.Fatalf("starter: %s", r)
	}
	res := out.Result
	if res.Outcome != workflows.Delivered || res.TaskID == "" || res.SendAttempts != 1 {
		t.Fatalf("result = %+v", res)
	}
	tasks := s.sandbox.TasksTo(urn)
	if len(tasks) != 1 || tasks[0].ID != res.TaskID || tasks[0].Message != "Hi Ada, thanks for connecting!" {
		t.Fatalf("sandbox tasks = %+v", tasks)
	}
	if !strings.Contains(out.URL, "/namespaces/default/workflows/"+out.WorkflowID+"/"+out.RunID) {
		t.Fatalf("UI link %q does not point at the run", out.URL)
	}
	desc, err := describe(context.Background(), s.client, out.WorkflowID, out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.WorkflowExecutionInfo.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status %s, want COMPLETED", st)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()["RecipientUrn"]
	if sa == nil || !strings.Contains(string(sa.Data), urn) {
		t.Fatalf("RecipientUrn search attribute = %v", sa)
	}
	t.Logf("history of a delivered message: %d events", len(s.history(t, out.WorkflowID, out.RunID)))
}

func TestNonConnectionFails(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-not-connected", sandboxOptions())
	out, r := s.send(t, outxtest.NotConnected+"-e2e", "Hi Bob")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (not delivered): %s", r.code, r)
	}
	if out.Result.Outcome != workflows.Failed || !strings.Contains(out.Result.Reason, "1st-degree connection") {
		t.Fatalf("result = %+v", out.Result)
	}
	// In the Temporal UI the run is Failed (red), with OutX's reason.
	desc, err := describe(context.Background(), s.client, out.WorkflowID, out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.WorkflowExecutionInfo.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("status %s, want FAILED so the UI does not show success", st)
	}
	if n := len(s.sandbox.TasksTo(outxtest.NotConnected + "-e2e")); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

func TestInvalidInputMakesNoRequest(t *testing.T) {
	s := up(t) // not parallel: it counts every request the sandbox received
	before := len(s.sandbox.Requests())

	r := s.run(t, "starter", "send", "--to", "urn:li:member:42", "--message", " \t ", "--wait")
	if r.code != 2 || !strings.Contains(r.stderr, "recipient_urn: must be a LinkedIn person URN") ||
		!strings.Contains(r.stderr, "message: must not be only whitespace") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("starter on bad input: %s", r)
	}
	r = s.run(t, "starter", "send", "--to", "urn:li:person:ok", "--message", strings.Repeat("😀", 5000)+"!")
	if r.code != 2 || !strings.Contains(r.stderr, "message: is 10001 characters long") {
		t.Fatalf("starter on a long message: %s", r)
	}

	// A client that skips the starter's checks meets the workflow's.
	r = s.run(t, s.temporalCLI, "workflow", "execute", "--address", s.address, "--type", "SendMessage",
		"--task-queue", workflows.TaskQueue, "--workflow-id", "e2e-invalid",
		"--input", `{"recipient_urn":"urn:li:person:e2eInvalid","message":"   "}`)
	if r.code == 0 || !strings.Contains(r.stdout, "invalid: message: must not be only whitespace") {
		t.Fatalf("temporal workflow execute with an invalid input: %s", r)
	}
	if after := len(s.sandbox.Requests()); after != before {
		t.Fatalf("OutX received %d requests for invalid input, want 0", after-before)
	}
}

func TestTemporalCLIStartsAndReadsSendMessage(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := s.run(t, s.temporalCLI, "workflow", "execute", "--address", s.address,
		"--type", "SendMessage", "--task-queue", "outpace", "--workflow-id", "e2e-cli-execute",
		"--input", `{"recipient_urn":"urn:li:person:e2eCli","message":"Hello from the temporal CLI"}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"outcome":"delivered"`) || !strings.Contains(r.stdout, "COMPLETED") {
		t.Fatalf("temporal workflow execute: %s", r)
	}
}

// TestHistoryDoesNotGrowWithPolls runs a message whose task completes at once
// and one whose task stays pending for a minute (dozens of polls, across
// several poll attempts): their histories have the same number of events.
// On a lane, one after the other: neither waits for the account's pacer
// while another task holds it, which would add events of its own.
func TestHistoryDoesNotGrowWithPolls(t *testing.T) {
	s := up(t)
	t.Parallel()
	// Polls at 100ms: the slow task's dozens of polls come within the
	// worker's 10s poll burst even on a loaded machine.
	s = s.lane(t, "e2e-history-polls", sandboxOptions(), "--poll-interval", "100ms")
	fast, fastR := s.send(t, "urn:li:person:e2eFast", "Hi, fast")
	slow, slowR := s.send(t, outxtest.Slow+"-e2e", "Hi, slow")
	if fastR.code != 0 || slowR.code != 0 {
		t.Fatalf("fast: %s\nslow: %s", fastR, slowR)
	}
	if confirm := time.Duration(slow.Result.TimeToConfirm); confirm < slowDelay {
		t.Fatalf("slow task confirmed after %s, want at least %s", confirm, slowDelay)
	}
	if slow.Result.Polls < 50 || slow.Result.Polls <= fast.Result.Polls {
		t.Fatalf("polls: fast %d, slow %d; the slow task should need many more", fast.Result.Polls, slow.Result.Polls)
	}
	nFast := len(s.history(t, fast.WorkflowID, fast.RunID))
	nSlow := len(s.history(t, slow.WorkflowID, slow.RunID))
	t.Logf("history events: %d for %d poll(s), %d for %d polls over %s",
		nFast, fast.Result.Polls, nSlow, slow.Result.Polls, time.Duration(slow.Result.TimeToConfirm).Round(time.Second))
	if nFast != nSlow {
		t.Fatalf("history grew with polling: %d events for the fast task, %d for the slow one", nFast, nSlow)
	}
}

func TestSameCommandTwiceSendsOnce(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-twice", sandboxOptions())
	urn := "urn:li:person:e2eTwice"
	first, r1 := s.send(t, urn, "Hello once")
	second, r2 := s.send(t, urn, "Hello once")
	if r1.code != 0 || r2.code != 0 || !second.Existing || second.RunID != first.RunID {
		t.Fatalf("first: %s\nsecond: %s", r1, r2)
	}
	if n := len(s.sandbox.TasksTo(urn)); n != 1 {
		t.Fatalf("%d tasks for the same command run twice, want 1", n)
	}
	// --id sends again, on purpose.
	third, r3 := s.send(t, urn, "Hello once", "--id", "e2e-twice-on-purpose")
	if r3.code != 0 || third.Existing {
		t.Fatalf("third: %s", r3)
	}
	if n := len(s.sandbox.TasksTo(urn)); n != 2 {
		t.Fatalf("%d tasks after a deliberate resend, want 2", n)
	}
}

// TestAnswerLostIsUnknown: the send's answer is dropped after OutX created
// the task. Not parallel: it injects a sandbox fault.
func TestAnswerLostIsUnknown(t *testing.T) {
	s := up(t)
	urn := "urn:li:person:e2eLost"
	s.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, LoseAnswer: true, Times: 1})
	out, r := s.send(t, urn, "Hi Cleo")
	if r.code != 4 || out.Result.Outcome != workflows.Unknown {
		t.Fatalf("exit %d, want 4 (unknown): %s", r.code, r)
	}
	time.Sleep(time.Second) // a wrong retry would have happened by now
	if n := len(s.sandbox.TasksTo(urn)); n != 1 {
		t.Fatalf("sandbox saw %d tasks, want exactly 1", n)
	}
}

// TestAPIKeyAppearsNowhere searches the worker's output and every history in
// the namespace for the OutX key. Not parallel: it runs after the others'
// workflows exist, and adds a 401 of its own.
func TestAPIKeyAppearsNowhere(t *testing.T) {
	s := up(t)
	s.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: 401, Times: 1})
	_, r := s.send(t, "urn:li:person:e2eSecret", "Hi")
	if r.code != 3 || !strings.Contains(r.stdout, "Invalid API Key") {
		t.Fatalf("send with a rejected key: %s", r)
	}
	for _, text := range []string{s.worker.Output(), r.stdout, r.stderr} {
		if strings.Contains(text, apiKey) {
			t.Fatalf("the API key leaked into process output:\n%s", text)
		}
	}
	// The e2e workers' senders file reads the default account's key from
	// OUTX_API_KEY.
	if !strings.Contains(s.worker.Output(), `"outx_api_key": "set, from $OUTX_API_KEY"`) {
		t.Fatalf("the worker does not say where its key came from:\n%s", s.worker.Output())
	}
	it, err := s.client.ListWorkflow(context.Background(), listRequest())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range it.Executions {
		n++
		b, err := protojson.Marshal(&historypb.History{Events: s.history(t, e.Execution.WorkflowId, e.Execution.RunId)})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), apiKey) {
			t.Fatalf("the API key is in the history of %s", e.Execution.WorkflowId)
		}
	}
	if n == 0 {
		t.Fatal("no workflow histories to search")
	}
}

func TestHelpAtEveryLevel(t *testing.T) {
	s := up(t)
	t.Parallel()
	for _, tc := range []struct {
		bin  string
		args []string
		want []string
	}{
		{"starter", []string{"--help"}, []string{"Commands:", "send"}},
		{"starter", []string{"help", "send"}, []string{"--to", "--message-file", "--wait"}},
		{"starter", []string{"send", "--help"}, []string{"--to", "--message-file", "--wait", "--address", "TEMPORAL_ADDRESS"}},
		{"worker", []string{"--help"}, []string{"--outx-base-url", "OUTX_BASE_URL", "OUTX_API_KEY", "--log-format"}},
		{"sandbox", []string{"--help"}, []string{"--addr", "notconnected", "/_sandbox/faults"}},
	} {
		r := s.run(t, tc.bin, tc.args...)
		out := r.stdout + r.stderr
		for _, w := range tc.want {
			if r.code != 0 || !strings.Contains(out, w) {
				t.Errorf("%s %v: exit %d, output lacks %q:\n%s", tc.bin, tc.args, r.code, w, out)
			}
		}
	}
	r := s.run(t, "starter", "send", "--to")
	if r.code != 2 || !strings.Contains(r.stderr, "flag needs an argument") {
		t.Errorf("a flag without its value: %s", r)
	}
	r = s.run(t, "starter", "launch")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "launch"`) {
		t.Errorf("an unknown command: %s", r)
	}
}

func TestWorkerStopsGracefullyOnSIGTERM(t *testing.T) {
	s := up(t)
	t.Parallel()
	w, err := s.startWorker("e2e-shutdown", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	// JSON logs: one object a line, the SDK's own lines included.
	for _, line := range strings.Split(strings.TrimSpace(w.Output()), "\n") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil || fields["msg"] == nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Exited():
	case <-time.After(45 * time.Second):
		t.Fatal("the worker did not stop within 45s of SIGTERM")
	}
	if w.ExitCode() != 0 || !strings.Contains(w.Output(), "worker stopped cleanly") {
		t.Fatalf("exit %d:\n%s", w.ExitCode(), w.Output())
	}
}

func TestWorkerRefusesToStartWithoutKey(t *testing.T) {
	s := up(t)
	t.Parallel()
	cmd := s.run(t, "worker", "--outx-api-key-file", filepath.Join(t.TempDir(), "missing"))
	if cmd.code != 1 || !strings.Contains(cmd.stderr, "--outx-api-key-file") {
		t.Fatalf("worker with a missing key file: %s", cmd)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = s.run(t, "worker", "--outx-api-key-file", empty)
	if cmd.code != 1 || !strings.Contains(cmd.stderr, "is empty") {
		t.Fatalf("worker with an empty key file: %s", cmd)
	}
	cmd = s.run(t, "worker", "--log-format", "xml")
	if cmd.code != 2 || !strings.Contains(cmd.stderr, `--log-format "xml"`) {
		t.Fatalf("worker with a bad log format: %s", cmd)
	}
}

func listRequest() *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", PageSize: 1000}
}

func TestMessageFromFileAndStdin(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-message-file", sandboxOptions())
	file := filepath.Join(t.TempDir(), "message.txt")
	text := "Hi Gus,\n\nGreat talk yesterday. Coffee next week? 😀"
	if err := os.WriteFile(file, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.run(t, "starter", "send", "--to", "urn:li:person:e2eFile", "--message-file", file, "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "Outcome: delivered") {
		t.Fatalf("--message-file: %s", r)
	}
	if tasks := s.sandbox.TasksTo("urn:li:person:e2eFile"); len(tasks) != 1 || tasks[0].Message != text {
		t.Fatalf("sent %+v, want the file's text without the editor's final newline", tasks)
	}

	cmd := exec.Command(filepath.Join(s.bin, "starter"), "send", "--to", "urn:li:person:e2eStdin", "--message-file", "-", "--wait")
	cmd.Env = s.env()
	cmd.Stdin = strings.NewReader("Hello from a pipe\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("--message-file -: %v\n%s", err, out)
	}
	if tasks := s.sandbox.TasksTo("urn:li:person:e2eStdin"); len(tasks) != 1 || tasks[0].Message != "Hello from a pipe" {
		t.Fatalf("sent %+v", tasks)
	}

	r = s.run(t, "starter", "send", "--to", "urn:li:person:e2eFile", "--message", "x", "--message-file", file)
	if r.code != 2 || !strings.Contains(r.stderr, "not both") {
		t.Fatalf("both --message and --message-file: %s", r)
	}
	r = s.run(t, "starter", "send", "--to", "urn:li:person:e2eFile", "--message-file", filepath.Join(t.TempDir(), "nope.txt"))
	if r.code != 2 || !strings.Contains(r.stderr, "--message-file") {
		t.Fatalf("a missing --message-file: %s", r)
	}
}

func TestCtrlCStopsWaitingNotTheWorkflow(t *testing.T) {
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-ctrl-c", sandboxOptions())
	cmd := exec.Command(filepath.Join(s.bin, "starter"), "send", "--to", outxtest.Stuck+"-e2e", "--message", "Hi", "--wait", "--id", "e2e-ctrl-c")
	cmd.Env = s.env()
	p, err := devstack.StartProcess(cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor("Waiting for the outcome", 30*time.Second); err != nil {
		t.Fatalf("starter: %v\n%s", err, p.Output())
	}
	_ = p.Signal(os.Interrupt)
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("starter did not stop waiting on SIGINT")
	}
	if p.ExitCode() != 1 || !strings.Contains(p.Output(), "stopped waiting; the workflow goes on") {
		t.Fatalf("exit %d:\n%s", p.ExitCode(), p.Output())
	}
	desc, err := describe(context.Background(), s.client, "e2e-ctrl-c", "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.WorkflowExecutionInfo.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow status %s after Ctrl-C in the starter, want RUNNING", st)
	}
	_ = s.client.CancelWorkflow(context.Background(), "e2e-ctrl-c", "")
}
