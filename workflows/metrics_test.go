package workflows_test

import (
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/internal/metrics"
	"github.com/outpacehq/outpace/internal/metrics/metricstest"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// metricsEnv is a test environment whose SDK metrics handler is the worker's
// (OpenTelemetry to a Prometheus registry), with the real activities calling
// a sandbox whose clock is the environment's: an OutX task takes 30 virtual
// seconds.
func metricsEnv(t *testing.T, m *metrics.Metrics, start time.Time) (*testsuite.TestWorkflowEnvironment, *outxtest.Server) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))))
	suite.SetMetricsHandler(m.Handler)
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 30 * time.Second, Now: env.Now})
	t.Cleanup(sb.Close)
	client, err := outx.New(sb.URL, outxtest.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterWorkflow(workflows.SendMessage)
	env.RegisterWorkflow(workflows.Campaign)
	env.RegisterActivity(&activities.Activities{OutX: client, PollInterval: 2 * time.Millisecond, PollBurst: 20 * time.Millisecond})
	newGrantAtOnce(env)
	return env, sb
}

func gather(t *testing.T, m *metrics.Metrics) metricstest.Families {
	t.Helper()
	f, err := metricstest.Gather(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sendRequests(sb *outxtest.Server) int {
	n := 0
	for _, r := range sb.Requests() {
		if r.Path == outx.PathSendMessage {
			n++
		}
	}
	return n
}

// TestMessageMetrics runs one message per outcome and reads the worker's
// metrics: one count per outcome, a confirmation latency and a poll count
// per confirmed task (equal to the results' figures), a send latency per
// POST the sandbox received.
func TestMessageMetrics(t *testing.T) {
	m, err := metrics.New(func(err error) { t.Errorf("meter error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	var confirm time.Duration
	polls, sends := 0, 0
	for urn, want := range map[string]workflows.Outcome{
		"urn:li:person:ACoAAMetricsAda":         workflows.Delivered,
		outxtest.NotConnected + "-metrics":      workflows.Failed,
		outxtest.LostAnswerOnce + "-metrics":    workflows.Unknown,
		"https://www.linkedin.com/in/not-a-urn": workflows.Invalid,
	} {
		env, sb := metricsEnv(t, m, thu)
		env.ExecuteWorkflow(workflows.SendMessage, workflows.SendMessageInput{RecipientURN: urn, Message: "Hi"})
		res, ok := workflows.SendMessageResult{}, false
		if err := env.GetWorkflowError(); err != nil {
			res, ok = workflows.ResultFromError(err)
		} else {
			ok = env.GetWorkflowResult(&res) == nil
		}
		if !ok || res.Outcome != want {
			t.Fatalf("%s: result %+v, want outcome %s", urn, res, want)
		}
		sends += sendRequests(sb)
		if want == workflows.Delivered || want == workflows.Failed {
			confirm += time.Duration(res.TimeToConfirm)
			polls += res.Polls
		}
	}

	f := gather(t, m)
	for _, o := range []string{"delivered", "failed", "unknown", "invalid"} {
		if got := f.Counter("outpace_messages_total", "outcome", o); got != 1 {
			t.Errorf("outpace_messages_total{outcome=%q} = %v, want 1", o, got)
		}
	}
	if n, sum := f.Histogram("outpace_confirmation_latency_seconds"); n != 2 || math.Abs(sum-confirm.Seconds()) > 1e-6 || confirm < time.Minute {
		t.Errorf("outpace_confirmation_latency_seconds: count %d, sum %v; want 2, %v (the results' time_to_confirm)", n, sum, confirm.Seconds())
	}
	if n, sum := f.Histogram("outpace_polls_per_task", "activity_type", "PollStatus"); n != 2 || int(sum) != polls || polls < 2 {
		t.Errorf("outpace_polls_per_task: count %d, sum %v; want 2, %d (the results' polls)", n, sum, polls)
	}
	if n, _ := f.Histogram("outpace_send_latency_seconds", "activity_type", "Send"); n != 3 || sends != 3 {
		t.Errorf("outpace_send_latency_seconds count %d, sandbox received %d sends; want 3 each", n, sends)
	}
	if b := f.Buckets("outpace_polls_per_task"); !slices.Equal(b, activities.PollsBuckets) {
		t.Errorf("polls buckets = %v, want %v", b, activities.PollsBuckets)
	}
}

// TestCampaignRecipientMetrics runs a campaign whose recipients end in every
// state: the metric counts each state as the campaign's own counts do, and
// each child run counts as a message.
func TestCampaignRecipientMetrics(t *testing.T) {
	m, err := metrics.New(func(err error) { t.Errorf("meter error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	env, _ := metricsEnv(t, m, thu)
	rs := []recipients.Recipient{
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},
		{RecipientURN: urn(2), Vars: map[string]string{"first_name": "Grace"}},
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},                        // skipped
		{RecipientURN: outxtest.NotConnected + "Bob", Vars: map[string]string{"first_name": "Bob"}}, // failed
		{RecipientURN: outxtest.LostAnswerOnce + "Cy", Vars: map[string]string{"first_name": "Cy"}}, // unknown
		{RecipientURN: urn(3), Vars: map[string]string{"first_name": " "}},                          // invalid
	}
	env.ExecuteWorkflow(workflows.Campaign, anytime(workflows.CampaignInput{CampaignID: "metrics", Template: "Hi {{first_name}}", Recipients: rs}, time.Second))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var p workflows.CampaignProgress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	want := workflows.Counts{Delivered: 2, Failed: 1, Unknown: 1, Invalid: 1, Skipped: 1}
	if p.Counts != want {
		t.Fatalf("counts = %+v, want %+v", p.Counts, want)
	}

	f := gather(t, m)
	for state, n := range map[string]int{"delivered": 2, "failed": 1, "unknown": 1, "invalid": 1, "skipped": 1} {
		if got := f.Counter("outpace_campaign_recipients_total", "state", state); got != float64(n) {
			t.Errorf("outpace_campaign_recipients_total{state=%q} = %v, want %d", state, got, n)
		}
	}
	for outcome, n := range map[string]int{"delivered": 2, "failed": 1, "unknown": 1, "invalid": 1} {
		if got := f.Counter("outpace_messages_total", "outcome", outcome); got != float64(n) {
			t.Errorf("outpace_messages_total{outcome=%q} = %v, want %d", outcome, got, n)
		}
	}
	for _, l := range f.Labels("outpace_campaign_recipients_total") {
		if len(l) != 1 {
			t.Errorf("campaign recipients labels %v: want the state only (the test environment adds no workflow tags), no per-campaign label", l)
		}
	}
}

// TestAccountWaitingGauge: while a request waits for its account's hourly
// cap, outpace_account_waiting{wait="hourly_cap"} says so; once it is
// granted, the gauge is back to 0.
func TestAccountWaitingGauge(t *testing.T) {
	m, err := metrics.New(func(err error) { t.Errorf("meter error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	limits := senders.Limits{TimeZone: "UTC", Days: "mon-sun", Hours: "00:00-24:00", MinGap: "1m", MaxGap: "1m",
		Message: senders.Caps{HourlyCap: ptr(1)}}
	env, grants := pacerEnvWith(t, limits, func(s *testsuite.WorkflowTestSuite) { s.SetMetricsHandler(m.Handler) })
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("r1", ""))
		env.SignalWorkflow(pacer.UpdateAcquire, slotRequest("r2", ""))
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "r1", Counted: true, Start: sunday.Add(time.Second), End: sunday.Add(time.Minute)})
	}, time.Minute)
	var capped float64
	env.RegisterDelayedCallback(func() {
		capped = gather(t, m).Gauge("outpace_account_waiting", "wait", "hourly_cap", "sender", "default")
	}, 10*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Hour)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender})
	if capped != 1 {
		t.Errorf("while r2 waits for the hourly cap: outpace_account_waiting{wait=hourly_cap} = %v, want 1", capped)
	}
	if g, ok := grantOf(*grants, "r2"); !ok || g.Stopped != "" {
		t.Fatalf("r2 was not granted after the hour: %+v", *grants)
	}
	if got := gather(t, m).Gauge("outpace_account_waiting", "wait", "hourly_cap"); got != 0 {
		t.Errorf("after r2's grant: outpace_account_waiting{wait=hourly_cap} = %v, want 0", got)
	}
}

// TestAccountPausedGauge: while OutX's push-back pauses an account's
// connection requests, outpace_account_paused{scope="connect"} is 1, and
// outpace_pending_invitations counts the requests sent and not accepted.
func TestAccountPausedGauge(t *testing.T) {
	m, err := metrics.New(func(err error) { t.Errorf("meter error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	env, _ := pacerEnvWith(t, anyHours, func(s *testsuite.WorkflowTestSuite) { s.SetMetricsHandler(m.Handler) })
	r1, r2 := slotRequest("r1", ""), slotRequest("r2", "")
	r1.Action, r2.Action = pacer.ActionConnect, pacer.ActionConnect
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(pacer.UpdateAcquire, r1) }, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "r1", Counted: true, Invited: true})
		env.SignalWorkflow(pacer.UpdateAcquire, r2)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(pacer.SignalRelease, pacer.Release{ID: "r2", PushBack: pacer.PushBackInvitationLimit})
	}, 10*time.Minute) // after r2's grant (the default gap is at most 3 minutes)
	var paused, pending, accountPaused float64
	env.RegisterDelayedCallback(func() {
		f := gather(t, m)
		paused = f.Gauge("outpace_account_paused", "scope", "connect", "sender", "default")
		accountPaused = f.Gauge("outpace_account_paused", "scope", "account", "sender", "default")
		pending = f.Gauge("outpace_pending_invitations", "sender", "default")
	}, time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Hour)
	env.ExecuteWorkflow(workflows.SenderPacer, pacer.Input{Sender: pacer.DefaultSender})
	if paused != 1 || accountPaused != 0 || pending != 1 {
		t.Errorf("after the 429: paused{connect} %v, paused{account} %v, pending %v; want 1, 0, 1", paused, accountPaused, pending)
	}
}
