package e2e

import (
	"context"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/internal/metrics/metricstest"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// TestMetrics runs messages ending in every outcome and a small campaign on a
// worker of its own serving metrics (--metrics-addr 127.0.0.1:0), scrapes
// /metrics over HTTP and checks the values against what the runs report:
// outcomes, latencies, polls, campaign recipients by state, and the Temporal
// SDK's own metrics. Replaying the finished runs (a query makes the worker
// replay them) changes none of outpace's values, and the OutX key is nowhere
// in the scrape.
func TestMetrics(t *testing.T) {
	s := up(t)
	t.Parallel()
	queue := "e2e-metrics"
	w, err := s.startWorker(queue, "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	m := regexp.MustCompile(`serving metrics.*"metrics_addr": ?"([^"]+)"`).FindStringSubmatch(w.Output())
	if m == nil || strings.HasSuffix(m[1], ":0") {
		t.Fatalf("the worker did not log the address it serves metrics on:\n%s", w.Output())
	}
	url := "http://" + m[1] + "/metrics"
	before, _ := scrape(t, url)
	if before.Counter("outpace_messages_total") != 0 {
		t.Fatalf("messages counted before any run")
	}

	// Single messages through the starter: delivered, failed, unknown; an
	// invalid one through the temporal CLI, since the starter refuses it.
	type run struct {
		urn  string
		code int
		want workflows.Outcome
	}
	var results []workflows.SendMessageResult
	for _, r := range []run{
		{"urn:li:person:ACoAAE2eMetricsAda", 0, workflows.Delivered},
		{outxtest.NotConnected + "-e2emetrics", 3, workflows.Failed},
		{outxtest.LostAnswerOnce + "-e2emetrics", 4, workflows.Unknown},
	} {
		out, res := s.send(t, r.urn, "Hi from the metrics test", "--task-queue", queue)
		if res.code != r.code || out.Result.Outcome != r.want {
			t.Fatalf("send to %s: want exit %d, %s: %s", r.urn, r.code, r.want, res)
		}
		results = append(results, out.Result)
	}
	r := s.run(t, s.temporalCLI, "workflow", "execute", "--address", s.address, "--type", "SendMessage",
		"--task-queue", queue, "--workflow-id", "e2e-metrics-invalid",
		"--input", `{"recipient_urn":"urn:li:person:ACoAAE2eMetricsBlank","message":"   "}`)
	if r.code == 0 || !strings.Contains(r.stdout, "invalid") {
		t.Fatalf("temporal workflow execute with a blank message: %s", r)
	}

	// A campaign: two delivered (one named by its profile URL, looked up),
	// one failed, one invalid (empty variable), one skipped (listed twice).
	id := "e2e-metrics-campaign"
	p := func(name string) string { return "urn:li:person:ACoAAE2eMetrics" + name }
	path := writeCSV(t,
		"profile_url,recipient_urn,first_name",
		","+p("Bo")+",Bo",
		","+outxtest.NotConnected+"-e2emetricscampaign,Cy",
		","+p("Bo")+",Bo",
		","+p("Dee")+",",
		"https://www.linkedin.com/in/ACoAAE2eMetricsEve/,,Eve",
	)
	r = s.run(t, "starter", "campaign", "start", "--task-queue", queue, "--id", id, "--csv", path,
		"--template", "Hi {{first_name}}", "--anytime", "--min-gap", "100ms", "--max-gap", "200ms", "--allow-invalid")
	if r.code != 0 {
		t.Fatalf("campaign start: %s", r)
	}
	final, err := s.finalProgress(t, id, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := (workflows.Counts{Delivered: 2, Failed: 1, Invalid: 1, Skipped: 1}); final.Counts != want {
		t.Fatalf("campaign counts = %+v, want %+v", final.Counts, want)
	}
	for _, who := range []string{p("Bo"), outxtest.NotConnected + "-e2emetricscampaign", p("Eve")} {
		results = append(results, s.childResult(t, id+"/"+who))
	}

	// What the runs themselves report, to compare the metrics with.
	var confirmed, polls int
	var confirm time.Duration
	for _, res := range results {
		if res.Outcome == workflows.Delivered || res.Outcome == workflows.Failed {
			confirmed++
			polls += res.Polls
			confirm += time.Duration(res.TimeToConfirm)
		}
	}
	if confirmed != 5 || polls < 5 || confirm <= 0 {
		t.Fatalf("runs: %d confirmed, %d polls, %s to confirm; want 5 confirmed tasks: %+v", confirmed, polls, confirm, results)
	}
	tasks := 0
	for _, who := range []string{"urn:li:person:ACoAAE2eMetricsAda", outxtest.NotConnected + "-e2emetrics", outxtest.LostAnswerOnce + "-e2emetrics",
		p("Bo"), outxtest.NotConnected + "-e2emetricscampaign", p("Eve"), p("Dee"), "urn:li:person:ACoAAE2eMetricsBlank"} {
		tasks += len(s.sandbox.TasksTo(who))
	}
	lookupPolls := s.lookupPolls(t, id)

	f, text := scrape(t, url)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "outpace_") && !strings.Contains(line, "_bucket") {
			t.Log(line)
		}
	}
	q := []string{"task_queue", queue, "namespace", "default"}
	with := func(labels ...string) []string { return append(append([]string{}, q...), labels...) }
	for outcome, want := range map[string]float64{"delivered": 3, "failed": 2, "unknown": 1, "invalid": 2} {
		if got := f.Counter("outpace_messages_total", with("outcome", outcome, "workflow_type", "SendMessage")...); got != want {
			t.Errorf("outpace_messages_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	for state, want := range map[string]float64{"delivered": 2, "failed": 1, "unknown": 0, "invalid": 1, "skipped": 1} {
		if got := f.Counter("outpace_campaign_recipients_total", with("state", state, "workflow_type", "Campaign")...); got != want {
			t.Errorf("outpace_campaign_recipients_total{state=%q} = %v, want %v", state, got, want)
		}
	}
	// One POST per message that got past validation: 6, one OutX task each.
	if n, sum := f.Histogram("outpace_send_latency_seconds", with("activity_type", "Send")...); n != 6 || tasks != 6 || sum <= 0 {
		t.Errorf("outpace_send_latency_seconds: count %d (sum %v), OutX tasks %d; want 6 each", n, sum, tasks)
	}
	if n, sum := f.Histogram("outpace_confirmation_latency_seconds", with("workflow_type", "SendMessage")...); n != 5 || math.Abs(sum-confirm.Seconds()) > 1e-6 {
		t.Errorf("outpace_confirmation_latency_seconds: count %d, sum %v; want 5, %v (the results' time_to_confirm)", n, sum, confirm.Seconds())
	}
	if n, sum := f.Histogram("outpace_polls_per_task", with("activity_type", "PollStatus")...); n != 5 || int(sum) != polls {
		t.Errorf("outpace_polls_per_task{activity_type=PollStatus}: count %d, sum %v; want 5, %d (the results' polls)", n, sum, polls)
	}
	if n, sum := f.Histogram("outpace_polls_per_task", with("activity_type", "LookupProfile")...); n != 1 || int(sum) != lookupPolls {
		t.Errorf("outpace_polls_per_task{activity_type=LookupProfile}: count %d, sum %v; want 1, %d (the look-up's polls)", n, sum, lookupPolls)
	}

	// The Temporal SDK's own metrics, through the same handler.
	if got := f.Counter("temporal_workflow_completed_total", with("workflow_type", "SendMessage")...); got != 3 {
		t.Errorf("temporal_workflow_completed_total{workflow_type=SendMessage} = %v, want 3 (the delivered runs)", got)
	}
	if got := f.Counter("temporal_workflow_failed_total", with("workflow_type", "SendMessage")...); got != 5 {
		t.Errorf("temporal_workflow_failed_total{workflow_type=SendMessage} = %v, want 5 (failed, unknown, invalid)", got)
	}
	if got := f.Counter("temporal_workflow_completed_total", with("workflow_type", "Campaign")...); got != 1 {
		t.Errorf("temporal_workflow_completed_total{workflow_type=Campaign} = %v, want 1", got)
	}
	if got := f.Counter("temporal_request_total", "namespace", "default"); got <= 0 {
		t.Errorf("temporal_request_total = %v, want > 0", got)
	}
	for _, h := range []string{"temporal_activity_execution_latency_seconds", "temporal_workflow_endtoend_latency_seconds",
		"temporal_request_latency_seconds", "temporal_workflow_task_schedule_to_start_latency_seconds"} {
		if n, _ := f.Histogram(h); n == 0 {
			t.Errorf("%s: no observations", h)
		}
	}
	for _, name := range []string{"temporal_worker_task_slots_available", "go_goroutines", "process_resident_memory_bytes"} {
		if f[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if strings.Contains(text, apiKey) {
		t.Fatal("the OutX API key is in the metrics")
	}

	// Queries on the closed runs make the worker replay their whole
	// histories: the SDK's replay metric moves, outpace's values do not.
	replays, _ := f.Histogram("temporal_workflow_task_replay_latency_seconds", with()...)
	if got := s.progress(t, id); got.Counts != final.Counts {
		t.Fatalf("progress query after the end = %+v", got.Counts)
	}
	if _, err := s.client.QueryWorkflow(context.Background(), "e2e-metrics-invalid", "", "__stack_trace"); err != nil {
		t.Fatalf("querying a closed message run: %v", err)
	}
	after, text := scrape(t, url)
	if n, _ := after.Histogram("temporal_workflow_task_replay_latency_seconds", with()...); n < replays+2 {
		t.Errorf("replays: %d before the queries, %d after; want at least 2 more", replays, n)
	}
	for _, name := range []string{"outpace_messages_total", "outpace_campaign_recipients_total"} {
		if a, b := f.Counter(name), after.Counter(name); a != b {
			t.Errorf("%s went from %v to %v on replay", name, a, b)
		}
	}
	if a, _ := f.Histogram("outpace_confirmation_latency_seconds"); a != 5 {
		t.Errorf("confirmation latency count %d before replay", a)
	} else if b, _ := after.Histogram("outpace_confirmation_latency_seconds"); b != a {
		t.Errorf("outpace_confirmation_latency_seconds count went from %d to %d on replay", a, b)
	}
	if strings.Contains(text, apiKey) {
		t.Fatal("the OutX API key is in the metrics")
	}
}

// scrape GETs a /metrics endpoint and parses it.
func scrape(t *testing.T, url string) (metricstest.Families, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s %v", url, resp.Status, err)
	}
	f, err := metricstest.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s is not the Prometheus text format: %v", url, err)
	}
	return f, string(body)
}

// childResult reads a campaign's message run's result, from its return value
// or from the failure that carries it.
func (s *stack) childResult(t *testing.T, workflowID string) workflows.SendMessageResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.SendMessageResult
	if err := s.client.GetWorkflow(ctx, workflowID, "").Get(ctx, &res); err != nil {
		var ok bool
		if res, ok = workflows.ResultFromError(err); !ok {
			t.Fatalf("%s: %v", workflowID, err)
		}
	}
	return res
}

// lookupPolls reads the poll count of the campaign's one profile look-up from
// its history.
func (s *stack) lookupPolls(t *testing.T, campaignID string) int {
	t.Helper()
	scheduled := map[int64]bool{}
	polls, found := 0, 0
	for _, e := range s.history(t, campaignID, "") {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "LookupProfile" {
			scheduled[e.GetEventId()] = true
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED {
			a := e.GetActivityTaskCompletedEventAttributes()
			if !scheduled[a.GetScheduledEventId()] {
				continue
			}
			var res activities.LookupResult
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetResult(), &res); err != nil {
				t.Fatal(err)
			}
			polls += res.Polls
			found++
		}
	}
	if found != 1 {
		t.Fatalf("%d completed look-ups in %s's history, want 1", found, campaignID)
	}
	if polls < 1 {
		t.Fatalf("look-up made %d polls", polls)
	}
	return polls
}
