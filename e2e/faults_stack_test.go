package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// faultRun is one scenario of the fault suite: its own OutX sandbox (so its
// faults touch nobody else), its own task queue and worker process, on the
// shared dev server, or on a dev server of its own when the scenario
// restarts it.
type faultRun struct {
	t       *testing.T
	s       *stack
	name    string
	address string
	client  client.Client
	sandbox *outxtest.Sandbox
	url     string
	wire    *wireLog
	queue   string
	worker  *process
	kills   []time.Time
	// downs are the periods the Temporal server was stopped.
	downs [][2]time.Time
	id    string
	urns  []string
	dev   *devstack.Server // the scenario's own server, nil on the shared one
	dir   string
	// store is the contacts store of the scenario's worker and starter: a
	// SQLite file of its own unless a scenario sets it.
	store  string
	devLog *os.File
	// outcomes are the report's, by recipient, once verify has run.
	outcomes map[string]string
}

// newFaultRun prepares a scenario. With ownServer it runs on a dev server of
// its own, on a fixed port and persisting to a file, which it may stop and
// start again; otherwise on the shared one.
func newFaultRun(t *testing.T, s *stack, name string, ownServer bool) *faultRun {
	sb := outxtest.New(outxtest.Options{
		Teams:     []outxtest.Team{{Name: "faults", APIKey: apiKey}},
		TaskDelay: taskDelay,
	})
	wire := &wireLog{sandbox: sb}
	srv := httptest.NewServer(wire)
	t.Cleanup(srv.Close)
	r := &faultRun{t: t, s: s, name: name, sandbox: sb, url: srv.URL, wire: wire,
		queue: "faults-" + name, id: "faults-" + name, dir: t.TempDir()}
	// Cleanups run last first: the worker stops before its server does.
	stopWorker := func() {
		if r.worker != nil {
			r.worker.Stop()
		}
	}
	if !ownServer {
		r.address, r.client = s.address, s.client
		t.Cleanup(stopWorker)
		return r
	}
	r.address = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	devLog, err := os.Create(filepath.Join(r.dir, "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.devLog = devLog
	r.startServer()
	t.Cleanup(func() {
		if r.dev != nil {
			r.stopServer()
		}
		_ = devLog.Close()
	})
	t.Cleanup(stopWorker)
	return r
}

// startServer starts the scenario's own Temporal dev server, on a fixed
// port and persisting to a file, so that it can be stopped and started
// again under the worker's feet.
func (r *faultRun) startServer() {
	r.t.Helper()
	dev, err := devstack.StartServer(context.Background(), devstack.ServerOptions{
		CLI:        r.s.temporalCLI,
		HostPort:   r.address,
		DBFilename: filepath.Join(r.dir, "temporal.db"),
		Log:        r.devLog,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.dev, r.client = dev, dev.Client
}

// stopServer stops the dev server (SIGINT, as an operator would).
func (r *faultRun) stopServer() {
	if err := r.dev.Stop(); err != nil {
		r.t.Logf("%s: dev server stopped: %v", r.name, err)
	}
	r.dev = nil
}

// env is the scenario's environment for the binaries: its server, and a
// contacts store of its own (scenarios reuse recipients).
func (r *faultRun) env(extra ...string) []string {
	store := r.store
	if store == "" {
		store = filepath.Join(r.dir, "contacts.db")
	}
	return append([]string{"TEMPORAL_ADDRESS=" + r.address, contacts.EnvDB + "=" + store}, extra...)
}

// startWorker starts the worker binary on the scenario's queue, pointed at
// its server and its sandbox.
func (r *faultRun) startWorker() {
	r.t.Helper()
	w, err := r.s.startWorkerWithEnv(r.queue, r.env("OUTX_BASE_URL="+r.url))
	if err != nil {
		r.t.Fatal(err)
	}
	r.worker = w
}

// killWorker kills the worker with SIGKILL, as a crash or an OOM kill would.
func (r *faultRun) killWorker() {
	r.kills = append(r.kills, time.Now())
	r.worker.Kill()
	r.worker = nil
}

// starter runs the starter binary against the scenario's server.
func (r *faultRun) starter(args ...string) result {
	r.t.Helper()
	return r.s.runWithEnv(r.t, "starter", r.env(), args...)
}

// startCampaign starts a campaign of n recipients from a CSV file, paced at
// 0 to 1 second between tasks, with no caps and no sending window.
func (r *faultRun) startCampaign(n int) {
	r.t.Helper()
	lines := []string{"recipient_urn,first_name"}
	for i := range n {
		urn := fmt.Sprintf("urn:li:person:ACoAAFault%s%04d", strings.ReplaceAll(r.name, "-", ""), i)
		r.urns = append(r.urns, urn)
		lines = append(lines, fmt.Sprintf("%s,P%d", urn, i))
	}
	path := writeCSV(r.t, lines...)
	res := r.starter("campaign", "start", "--task-queue", r.queue, "--id", r.id, "--csv", path,
		"--template", "Hi {{first_name}}, a word about the fault suite.", "--anytime",
		"--min-gap", "0s", "--max-gap", "1s", "--hourly-cap", "0", "--daily-cap", "0")
	if res.code != 0 {
		r.t.Fatalf("campaign start: %s", res)
	}
}

// done is how many recipients have a final outcome; -1 when the campaign
// cannot be asked (no worker, server down).
func (r *faultRun) done() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := r.client.QueryWorkflow(ctx, r.id, "", workflows.QueryProgress)
	if err != nil {
		return -1
	}
	var p workflows.CampaignProgress
	if v.Get(&p) != nil {
		return -1
	}
	return p.Counts.Done()
}

// waitDone waits until at least n recipients have a final outcome.
func (r *faultRun) waitDone(n int, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for r.done() < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: fewer than %d recipients done after %s", r.name, n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// faultRow is one line of the suite's table.
type faultRow struct {
	scenario, faults                                 string
	recipients, delivered, unknown, duplicates, lost int
	took                                             time.Duration
}

// verify waits for the campaign to end and checks, from independent
// sources, what every scenario must end with:
//   - the sandbox's record of tasks: no recipient has two (no duplicate);
//   - the campaign's report (`starter campaign report`, from visibility):
//     every recipient listed exactly once, with a final outcome (no loss);
//   - the campaign's result: its counts add up to the recipients, and match
//     the report's;
//   - every unknown outcome has a cause the suite injected: the answer to
//     that recipient's send was lost (dropped, or given up on after the
//     client's timeout), or the worker was killed, or the Temporal server
//     was away, while that send was in flight (the worker then cannot report
//     the task id). Each unknown is listed with its cause; conversely, a
//     send whose answer was lost must end unknown, never sent again.
func (r *faultRun) verify(faults string, started time.Time, timeout time.Duration) faultRow {
	t := r.t
	t.Helper()
	n := len(r.urns)
	row := faultRow{scenario: r.name, faults: faults, recipients: n}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var final workflows.CampaignProgress
	if err := r.client.GetWorkflow(ctx, r.id, "").Get(ctx, &final); err != nil {
		t.Fatalf("%s: campaign ended with %v (progress %+v)", r.name, err, r.done())
	}
	row.took = time.Since(started)
	c := final.Counts
	if final.Status != workflows.StatusFinished || final.Total != n || final.Pending != 0 || c.Done() != n {
		t.Errorf("%s: campaign result %+v: want finished, %d recipients, counts adding up to %d", r.name, final, n, n)
	}

	// The sandbox's record: tasks per recipient.
	tasks := map[string][]outxtest.Task{}
	for _, task := range r.sandbox.Tasks() {
		if task.Type == "agent_send_message" {
			tasks[task.RecipientURN] = append(tasks[task.RecipientURN], task)
		}
	}
	inCampaign := map[string]bool{}
	for _, urn := range r.urns {
		inCampaign[urn] = true
		if len(tasks[urn]) > 1 {
			row.duplicates++
			t.Errorf("%s: DUPLICATE: %s got %d messages", r.name, urn, len(tasks[urn]))
		}
	}
	for urn := range tasks {
		if !inCampaign[urn] {
			t.Errorf("%s: a message to %s, who is not in the campaign", r.name, urn)
		}
	}

	// The report: one row per recipient, each with a final outcome.
	report := r.report(n)
	byOutcome := map[string]int{}
	r.outcomes = map[string]string{}
	for _, urn := range r.urns {
		rows := report[urn]
		switch {
		case len(rows) == 0:
			row.lost++
			t.Errorf("%s: LOST: %s is not in the report", r.name, urn)
			continue
		case len(rows) > 1:
			t.Errorf("%s: %s is in the report %d times", r.name, urn, len(rows))
		}
		rep := rows[0]
		byOutcome[rep.outcome]++
		r.outcomes[urn] = rep.outcome
		for _, send := range r.wire.sendsTo(urn) {
			if !send.answered() && rep.outcome != string(workflows.Unknown) {
				// The worker cannot know what came of that request.
				t.Errorf("%s: the answer to %s's send was lost, yet the report says %q", r.name, urn, rep.outcome)
			}
		}
		switch rep.outcome {
		case string(workflows.Delivered):
			row.delivered++
			if len(tasks[urn]) != 1 || tasks[urn][0].Status != outx.StatusCompleted {
				t.Errorf("%s: %s reported delivered, but the sandbox has %d tasks for them: %+v", r.name, urn, len(tasks[urn]), tasks[urn])
			}
		case string(workflows.Unknown):
			row.unknown++
			cause := r.unknownCause(urn)
			if cause == "" {
				t.Errorf("%s: %s is unknown (%q) with no fault that could make it so", r.name, urn, rep.reason)
				cause = "NO CAUSE"
			}
			t.Logf("%s: unknown, for the operator: %s (%d task(s) at OutX) — %s; report: %s", r.name, urn, len(tasks[urn]), cause, rep.reason)
		default:
			row.lost++
			t.Errorf("%s: %s ended %q (%s): every recipient of this campaign is messageable", r.name, urn, rep.outcome, rep.reason)
		}
	}
	if want := (map[string]int{"delivered": c.Delivered, "unknown": c.Unknown}); byOutcome["delivered"] != want["delivered"] ||
		byOutcome["unknown"] != want["unknown"] || c.Failed+c.Invalid+c.Skipped != 0 {
		t.Errorf("%s: the report's outcomes %v do not match the campaign's counts %+v", r.name, byOutcome, c)
	}
	if len(report) != n {
		t.Errorf("%s: report has %d recipients, want %d", r.name, len(report), n)
	}
	return row
}

type faultReportRow struct{ outcome, reason, taskID string }

// report runs `starter campaign report` until visibility lists n finished
// messages, and returns the rows by recipient.
func (r *faultRun) report(n int) map[string][]faultReportRow {
	r.t.Helper()
	var last result
	var out map[string][]faultReportRow
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		last = r.starter("campaign", "report", "--id", r.id)
		if last.code != 0 {
			continue
		}
		rows, err := csv.NewReader(strings.NewReader(last.stdout)).ReadAll()
		if err != nil || len(rows) == 0 {
			r.t.Fatalf("report is not CSV: %v\n%s", err, last)
		}
		out = map[string][]faultReportRow{}
		finished := 0
		for _, row := range rows[1:] {
			out[row[1]] = append(out[row[1]], faultReportRow{outcome: row[2], reason: row[3], taskID: row[4]})
			if row[2] != "pending" {
				finished++
			}
		}
		if finished >= n {
			return out
		}
	}
	r.t.Errorf("%s: the report never listed %d finished messages:\n%s", r.name, n, last.stderr)
	return out
}

// unknownCause names the injected fault that explains why a recipient's
// outcome is unknown, or "" when none does.
func (r *faultRun) unknownCause(urn string) string {
	sends := r.wire.sendsTo(urn)
	// A worker killed while its Send activity ran: the activity times out,
	// and nobody knows whether the request reached OutX.
	if sched, closed, ok := r.sendActivity(urn); ok {
		until := closed
		if len(sends) > 0 && sends[len(sends)-1].answered() {
			// OutX answered at this time; a worker alive a moment later
			// would have reported the task id.
			if last := sends[len(sends)-1].end.Add(3 * time.Second); last.Before(until) {
				until = last
			}
		}
		for _, k := range r.kills {
			if !k.Before(sched.Add(-time.Second)) && !k.After(until) {
				return fmt.Sprintf("the worker was killed at %s, while its send (scheduled %s) was in flight",
					k.Format("15:04:05.000"), sched.Format("15:04:05.000"))
			}
		}
		// Or the Temporal server away, from its stop to its restart, while
		// the send ran: the worker could not report the task id.
		for _, d := range r.downs {
			if !d[1].Before(sched.Add(-time.Second)) && !d[0].After(until) {
				return fmt.Sprintf("the Temporal server stopped at %s while its send (scheduled %s) was in flight",
					d[0].Format("15:04:05.000"), sched.Format("15:04:05.000"))
			}
		}
	}
	for _, s := range sends {
		switch {
		case s.dropped:
			return "the answer to its send was dropped (lost answer)"
		case s.gaveUp:
			return fmt.Sprintf("the answer to its send was not written before the client gave up, %s after the request",
				s.end.Sub(s.at).Round(time.Second))
		}
	}
	return ""
}

// sendActivity reads, from the message's history, when its last Send
// activity was scheduled and when it closed.
func (r *faultRun) sendActivity(urn string) (scheduled, closed time.Time, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := r.client.GetWorkflowHistory(ctx, r.id+"/"+urn, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var sendID int64
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			r.t.Errorf("history of %s: %v", urn, err)
			return scheduled, closed, false
		}
		// The worker registers the activities by their method names.
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "Send" {
			sendID, scheduled, closed = e.GetEventId(), e.GetEventTime().AsTime(), time.Time{}
		}
		var of int64
		switch {
		case e.GetActivityTaskCompletedEventAttributes() != nil:
			of = e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
		case e.GetActivityTaskFailedEventAttributes() != nil:
			of = e.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
		case e.GetActivityTaskTimedOutEventAttributes() != nil:
			of = e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
		}
		if of != 0 && of == sendID {
			closed = e.GetEventTime().AsTime()
		}
	}
	return scheduled, closed, sendID != 0 && !closed.IsZero()
}

// wireLog sits between the workers and the sandbox and records, for every
// request, who it was for and whether its answer reached the client: the
// suite's own record of which answers were lost, independent of the product.
type wireLog struct {
	sandbox *outxtest.Sandbox
	mu      sync.Mutex
	calls   []wireCall
	// open holds the recipients of the send requests being served.
	open map[string]int
}

type wireCall struct {
	path, urn string
	at, end   time.Time
	status    int  // the status written, 0 if none
	dropped   bool // the connection was dropped before an answer
	gaveUp    bool // the client was gone before the answer was written
}

func (l *wireLog) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	call := wireCall{path: req.URL.Path, at: time.Now()}
	if req.URL.Path == outx.PathSendMessage && req.Body != nil {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var m struct {
			URN string `json:"recipient_urn"`
		}
		_ = json.Unmarshal(body, &m)
		call.urn = m.URN
	}
	sw := &statusWriter{ResponseWriter: w}
	if call.path == outx.PathSendMessage {
		l.mu.Lock()
		if l.open == nil {
			l.open = map[string]int{}
		}
		l.open[call.urn]++
		l.mu.Unlock()
	}
	defer func() {
		v := recover()
		call.end, call.status = time.Now(), sw.status
		call.dropped = v == http.ErrAbortHandler
		// Checked before this handler returns, when the server cancels the
		// context itself: a cancelled context means the client left.
		call.gaveUp = !call.dropped && req.Context().Err() != nil
		l.mu.Lock()
		l.calls = append(l.calls, call)
		if call.path == outx.PathSendMessage {
			l.open[call.urn]--
		}
		l.mu.Unlock()
		if v != nil {
			panic(v)
		}
	}()
	l.sandbox.ServeHTTP(sw, req)
}

// count counts the calls for which seen holds.
func (l *wireLog) count(seen func(wireCall) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if seen(c) {
			n++
		}
	}
	return n
}

// answered says whether the client received an answer.
func (c wireCall) answered() bool { return !c.dropped && !c.gaveUp && c.status != 0 }

// sendInFlight names a recipient whose send request has arrived and not
// been answered, or "" when there is none.
func (l *wireLog) sendInFlight() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for urn, n := range l.open {
		if n > 0 {
			return urn
		}
	}
	return ""
}

func (l *wireLog) sendsTo(urn string) []wireCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []wireCall
	for _, c := range l.calls {
		if c.path == outx.PathSendMessage && c.urn == urn {
			out = append(out, c)
		}
	}
	return out
}

// tally describes the faults the sandbox actually applied, as the workers
// saw them: error answers by status, answers lost, answers too late.
func (l *wireLog) tally() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	byStatus := map[int]int{}
	dropped, late := 0, 0
	for _, c := range l.calls {
		switch {
		case c.dropped:
			dropped++
		case c.gaveUp:
			late++
		case c.status >= 400:
			byStatus[c.status]++
		}
	}
	var parts []string
	var statuses []int
	for s := range byStatus {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	for _, s := range statuses {
		parts = append(parts, fmt.Sprintf("%d×%d", s, byStatus[s]))
	}
	if dropped > 0 {
		parts = append(parts, fmt.Sprintf("lost answers×%d", dropped))
	}
	if late > 0 {
		parts = append(parts, fmt.Sprintf("answers past the timeout×%d", late))
	}
	return strings.Join(parts, ", ")
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// faultTable renders the suite's rows as a Markdown table.
type faultTable struct {
	mu   sync.Mutex
	rows []faultRow
}

func (ft *faultTable) add(r faultRow) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.rows = append(ft.rows, r)
}

func (ft *faultTable) String() string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	sort.Slice(ft.rows, func(i, j int) bool { return ft.rows[i].scenario < ft.rows[j].scenario })
	var b strings.Builder
	b.WriteString("| scenario | faults injected | recipients | delivered | unknown | duplicates | lost | took |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range ft.rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s |\n", r.scenario, r.faults, r.recipients,
			r.delivered, r.unknown, r.duplicates, r.lost, r.took.Round(time.Second))
	}
	return b.String()
}

// faultsEnv reads OUTPACE_FAULTS: "full" for the long form of the suite.
func faultsFull() bool { return os.Getenv("OUTPACE_FAULTS") == "full" }
