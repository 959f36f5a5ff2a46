package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

func TestParseAt(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		at, tz string
		want   time.Time
		err    string
	}{
		{"", "", time.Time{}, ""},
		{"2026-12-08T09:00", "Europe/Berlin", time.Date(2026, 12, 8, 9, 0, 0, 0, berlin), ""},
		{"2026-12-08T09:00", "", time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC), ""},
		{"2026-12-08 09:00:30", "UTC", time.Date(2026, 12, 8, 9, 0, 30, 0, time.UTC), ""},
		{"2026-12-08T09:00:00+01:00", "America/New_York", time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC), ""},
		{"2026-12-06T12:30", "Europe/Berlin", time.Time{}, "--at 2026-12-06 12:30:00 CET: is in the past (it is now 2026-12-06 13:00:00 CET); give a time to come, or leave --at out to start now"},
		{"2026-12-01T09:00", "", time.Time{}, "--at 2026-12-01 09:00:00 UTC: is in the past"},
		{"tomorrow", "UTC", time.Time{}, `--at "tomorrow": want a time such as 2026-12-08T09:00 (in the campaign's time zone, UTC) or 2026-12-08T09:00+01:00`},
	} {
		got, err := parseAt(c.at, c.tz, now)
		switch {
		case c.err != "" && (err == nil || !strings.HasPrefix(err.Error(), c.err)):
			t.Errorf("parseAt(%q, %q) = %v, %v; want error %q", c.at, c.tz, got, err, c.err)
		case c.err == "" && (err != nil || !got.Equal(c.want)):
			t.Errorf("parseAt(%q, %q) = %v, %v; want %v", c.at, c.tz, got, err, c.want)
		}
	}
}

func TestVariantFlags(t *testing.T) {
	file := writeFile(t, "b.txt", "Hello {{first_name}}, B here\n")
	in, err := sourceInput(t, "--to", "urn:li:person:a", "--variant", "A:2=Hi {a|b} {{first_name}}", "--variant-file", "B="+file)
	if err != nil {
		t.Fatal(err)
	}
	want := []workflows.Variant{{Name: "A", Text: "Hi {a|b} {{first_name}}", Weight: 2}, {Name: "B", Text: "Hello {{first_name}}, B here"}}
	if fmt.Sprint(in.Variants) != fmt.Sprint(want) || in.Template != "" {
		t.Errorf("variants %+v, template %q; want %+v", in.Variants, in.Template, want)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--variant", "Hi there"}, `--variant "Hi there": want NAME[:WEIGHT]=TEXT`},
		{[]string{"--variant", "A:x=Hi"}, `--variant A: the weight "x" must be a whole number from 1`},
		{[]string{"--variant", "A=Hi", "--template", "Yo"}, "give the message or its variants, not both"},
	} {
		_, err := sourceInput(t, append([]string{"--to", "urn:li:person:a"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestPreviewShowsVariants: preview draws each row's variant and choices
// for the campaign id given, exactly as the worker will, and says so.
func TestPreviewShowsVariants(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("recipient_urn,first_name\n")
	for i := range 5 {
		fmt.Fprintf(&csv, "urn:li:person:P%d,Ada\n", i)
	}
	path := writeFile(t, "people.csv", csv.String())
	args := []string{"campaign", "preview", "--csv", path, "--variant", "warm:2={Hi|Hey} {{first_name}}", "--variant", "short={{first_name}}: a question", "--show", "5"}
	code, stdout, stderr := runStarter(t, append(args, "--id", "spring")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"variants: warm 2/3, short 1/3\n", "drawn for campaign spring, as start --id spring sends them"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("preview:\n%s\nwant %q", stdout, want)
		}
	}
	tpl, _ := recipients.ParseVariants([]recipients.Variant{{Name: "warm", Text: "{Hi|Hey} {{first_name}}", Weight: 2}, {Name: "short", Text: "{{first_name}}: a question"}})
	tpl = tpl.ForCampaign("spring")
	for i := range 5 {
		p := recipients.Prepare(i+2, recipients.Recipient{RecipientURN: fmt.Sprintf("urn:li:person:P%d", i), Vars: map[string]string{"first_name": "Ada"}}, tpl)
		want := fmt.Sprintf("  line %d  urn:li:person:P%d  variant %s\n    %s\n", i+2, i, p.Variant, p.Message)
		if !strings.Contains(stdout, want) {
			t.Errorf("preview:\n%s\nwant %q", stdout, want)
		}
	}
	_, stdout, _ = runStarter(t, args...)
	if !strings.Contains(stdout, "none was given, so these are not what start will send; give --id") {
		t.Errorf("preview without --id:\n%s", stdout)
	}
	// JSON: each row's variant, and the campaign id that drew it.
	_, stdout, _ = runStarter(t, append(args, "--id", "spring", "--json")...)
	var out previewOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.CampaignID != "spring" || len(out.Preview) != 5 || out.Preview[0].Variant == "" {
		t.Errorf("preview --json: %v\n%s", err, stdout)
	}
}

// TestPreviewRefusesBadSpintax: an unbalanced brace is named by line and
// column before anything is read.
func TestPreviewRefusesBadSpintax(t *testing.T) {
	code, _, stderr := runStarter(t, "campaign", "preview", "--to", "urn:li:person:a", "--template", "Hi,\n{there|you")
	if code != exitUsage || !strings.Contains(stderr, `template: line 2, column 1: unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestCampaignStartAt: --at starts the run with a start delay and the time
// in its input; status then shows when it starts, without asking the run
// (which cannot answer before its first task); cancel says nothing was
// sent.
func TestCampaignStartAt(t *testing.T) {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	at := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Minute)
	code, stdout, stderr := sendStarter(t, f, "campaign", "start", "--id", "later", "--to", adaURN, "--template", "{Hi|Hello}",
		"--at", at.Format("2006-01-02T15:04"), "--time-zone", "UTC")
	if code != exitOK || !strings.Contains(stdout, "Scheduled campaign later to start at "+at.Format("2006-01-02 15:04:05 UTC")) {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	opts := f.started[0]
	in, _ := f.latest("later").input.(workflows.CampaignInput)
	if d := opts.StartDelay; d < 2*time.Hour || d > 3*time.Hour || !in.StartAt.Equal(at) {
		t.Errorf("start delay %s, input start_at %s; want about 3h and %s", d, in.StartAt, at)
	}

	code, stdout, _ = sendStarter(t, f, "campaign", "status", "--id", "later")
	if code != exitOK || !strings.Contains(stdout, "status: scheduled\nscheduled to start at ") || !strings.Contains(stdout, "total: 1\n") || strings.Contains(stdout, "reason:") {
		t.Errorf("status of a scheduled campaign:\n%s", stdout)
	}
	_, stdout, _ = sendStarter(t, f, "campaign", "status", "--id", "later", "--json")
	var v campaignView
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Status != workflows.StatusScheduled || !strings.HasPrefix(v.Reason, "scheduled to start at") ||
		v.ScheduledAt.Sub(at).Abs() > time.Minute || v.Total != 1 {
		t.Errorf("status --json of a scheduled campaign: %v\n%s", err, stdout)
	}

	code, _, stderr = sendStarter(t, f, "campaign", "start", "--id", "past", "--to", adaURN, "--template", "Hi", "--at", "2020-01-01T09:00")
	if code != exitUsage || !strings.Contains(stderr, "--at 2020-01-01 09:00:00 UTC: is in the past") || len(f.started) != 1 {
		t.Errorf("--at in the past: exit %d\n%s", code, stderr)
	}
}

// TestCancelBeforeTheStart: cancel of a campaign not yet started says
// nothing was sent.
func TestCancelBeforeTheStart(t *testing.T) {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	useFake(t, f)
	r := f.addRun("later", workflows.CampaignWorkflow)
	r.executes = time.Now().Add(time.Hour)
	cancelled := false
	f.onCancel = func(id string) { cancelled = id == "later" }
	code, stdout, stderr := sendStarter(t, f, "campaign", "cancel", "--id", "later")
	if code != exitOK || !cancelled || !strings.HasPrefix(stdout, "Cancelled campaign later before its scheduled start (") || !strings.Contains(stdout, "nothing was sent") {
		t.Errorf("exit %d, cancelled %v\n%s\n%s", code, cancelled, stdout, stderr)
	}
}

// TestStatusShowsVariants: a line per variant, with the acceptance rate of
// a connection request's.
func TestStatusShowsVariants(t *testing.T) {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	useFake(t, f)
	f.addRun("spring", workflows.CampaignWorkflow)
	f.queries["spring/"+workflows.QueryProgress] = func() (any, error) {
		return workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusRunning, Total: 40, Pending: 40, Variants: []workflows.VariantCounts{
			{Step: 1, Type: workflows.StepConnect, Variant: "short", Weight: 2, Recipients: 30, Sent: 28, Delivered: 28, Accepted: 7, Reached: []workflows.StepReach{{Step: 3, Recipients: 7}}},
			{Step: 1, Type: workflows.StepConnect, Variant: "none", Weight: 1, Recipients: 10, Sent: 10, Delivered: 10},
		}}, nil
	}
	_, stdout, _ := sendStarter(t, f, "campaign", "status", "--id", "spring")
	for _, want := range []string{
		"variant: step 1 (connect) short (weight 2): recipients 30  sent 28  delivered 28  accepted 7 of 28 (25.0%)  reached step 3: 7\n",
		"variant: step 1 (connect) none (weight 1): recipients 10  sent 10  delivered 10  accepted 0 of 10 (0.0%)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status:\n%s\nwant %q", stdout, want)
		}
	}
}

// TestReportByVariant: the report tallies each variant from the runs'
// memos: a one-message campaign's sent and delivered, and a sequence's
// per step, with acceptances and later steps reached.
func TestReportByVariant(t *testing.T) {
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	done, failed, running := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	msg := func(line int, outcome, variant string) map[string]any {
		m := ended(outcome, "", line)
		m[workflows.MemoVariant] = variant
		if outcome != "delivered" {
			m[workflows.MemoTaskID] = "task-1"
		}
		return m
	}
	runs := []*workflowpb.WorkflowExecutionInfo{
		visibilityRun(t, "spring/urn:li:person:a", done, start, msg(2, "delivered", "warm")),
		visibilityRun(t, "spring/urn:li:person:b", failed, start, msg(3, "failed", "warm")),
		visibilityRun(t, "spring/urn:li:person:c", done, start, msg(4, "delivered", "short")),
		visibilityRun(t, "spring/urn:li:person:d", running, start, map[string]any{workflows.MemoLine: 5, workflows.MemoVariant: "short"}),
	}
	f := (&fakeTemporal{list: listing(runs)}).worker("1@h outpace senders=default")
	useFake(t, f)
	code, stdout, stderr := sendStarter(t, f, "campaign", "report", "--id", "spring")
	if code != exitOK || !strings.HasPrefix(stdout, "line,recipient_urn,outcome,reason,task_id,workflow_id,status,variant\n2,urn:li:person:a,delivered,,,spring/urn:li:person:a,Completed,warm\n") {
		t.Errorf("report:\n%s\n%s", stdout, stderr)
	}
	for _, want := range []string{
		"report: variant step 1 (message) warm (weight 1): recipients 2  sent 2  delivered 1\n",
		"report: variant step 1 (message) short (weight 1): recipients 2  sent 1  delivered 1\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr:\n%s\nwant %q", stderr, want)
		}
	}
	_, stdout, _ = sendStarter(t, f, "campaign", "report", "--id", "spring", "--by-variant")
	if want := "step,type,variant,weight,recipients,sent,delivered,accepted,acceptance,reached\n1,message,warm,1,2,2,1,,,\n1,message,short,1,2,1,1,,,\n"; stdout != want {
		t.Errorf("--by-variant:\n%s\nwant\n%s", stdout, want)
	}

	// A sequence: the note's variant accepted when the wait for the
	// connection ended connected; later actions reached.
	step := func(n int, typ workflows.StepType, o workflows.Outcome) workflows.StepResult {
		return workflows.StepResult{Step: n, Type: typ, Outcome: o, TaskID: fmt.Sprintf("t%d", n)}
	}
	accepted := []workflows.StepResult{step(1, workflows.StepConnect, workflows.Delivered), step(2, workflows.StepWaitForConnection, workflows.Connected), step(3, workflows.StepMessage, workflows.Delivered)}
	ignored := []workflows.StepResult{step(1, workflows.StepConnect, workflows.Delivered), step(2, workflows.StepWaitForConnection, workflows.NotConnected)}
	seq := func(line int, outcome string, steps []workflows.StepResult, variants ...string) map[string]any {
		m := ended(outcome, "", line)
		m[workflows.MemoSteps], m[workflows.MemoVariants] = steps, variants
		return m
	}
	seqRuns := []*workflowpb.WorkflowExecutionInfo{
		visibilityRun(t, "spring/urn:li:person:a", done, start, seq(2, "delivered", accepted, "short", "", "thanks")),
		visibilityRun(t, "spring/urn:li:person:b", failed, start, seq(3, "not_connected", ignored, "short", "", "question")),
		visibilityRun(t, "spring/urn:li:person:c", done, start, seq(4, "delivered", accepted, "none", "", "thanks")),
	}
	f.list = func(*workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: seqRuns}, nil
	}
	_, stdout, stderr = sendStarter(t, f, "campaign", "report", "--id", "spring", "--by-variant", "--json")
	var got []workflows.VariantCounts
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var v workflows.VariantCounts
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		got = append(got, v)
	}
	want := []workflows.VariantCounts{
		{Step: 1, Type: workflows.StepConnect, Variant: "short", Weight: 1, Recipients: 2, Sent: 2, Delivered: 2, Accepted: 1, Reached: []workflows.StepReach{{Step: 3, Recipients: 1}}},
		{Step: 3, Type: workflows.StepMessage, Variant: "thanks", Weight: 1, Recipients: 2, Sent: 2, Delivered: 2},
		{Step: 3, Type: "", Variant: "question", Weight: 1, Recipients: 1},
		{Step: 1, Type: workflows.StepConnect, Variant: "none", Weight: 1, Recipients: 1, Sent: 1, Delivered: 1, Accepted: 1, Reached: []workflows.StepReach{{Step: 3, Recipients: 1}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("--by-variant --json:\n%+v\nwant\n%+v\n%s", got, want, stderr)
	}
}
