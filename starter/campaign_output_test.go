package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/workflows"
)

func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	v := campaignView{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	v.Total, v.Status, v.Reason = 20, workflows.StatusSpacing, "spacing 12s before the next send"
	v.Counts = workflows.Counts{Delivered: 5, Failed: 1, Invalid: 1, Excluded: 1}
	v.NextSendAt = now.Add(12 * time.Second)
	line, key := progressLine(v, now)
	want := "[########............] 8/20  delivered 5 failed 1 invalid 1 skipped 0 excluded 1 unknown 0 | spacing 12s before the next send"
	if key != want || line != want+" (next send in 12s)" {
		t.Errorf("line = %q\nkey  = %q\nwant %q", line, key, want)
	}

	v.Status, v.Reason, v.Current, v.NextSendAt = workflows.StatusSending, "", "urn:li:person:ada", time.Time{}
	if _, key := progressLine(v, now); !strings.HasSuffix(key, "| sending to urn:li:person:ada") {
		t.Errorf("sending: %q", key)
	}
	v.Total = 0
	if _, key := progressLine(v, now); !strings.HasPrefix(key, "[....................] 8/0 ") {
		t.Errorf("no total yet: %q", key)
	}
}

func TestPrintCampaign(t *testing.T) {
	now := time.Now()
	v := campaignView{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, WorkflowStatus: "Running", URL: "http://ui/run", RunsURL: "http://ui/runs"}
	v.CampaignID, v.Name, v.Status, v.Reason = "spring", "Spring", workflows.StatusPaused, "paused by operator: lunch"
	v.Counts, v.Total, v.Pending, v.Run = workflows.Counts{Delivered: 2, Skipped: 1, Excluded: 1}, 10, 6, 2
	v.NextSendAt = now.Add(72 * time.Second)
	var out strings.Builder
	printCampaign(&out, v, now)
	for _, want := range []string{
		"campaign: spring (Spring)\n",
		"status: paused\n",
		"reason: paused by operator: lunch\n",
		"delivered 2  failed 0  unknown 0  invalid 0  skipped 1  excluded 1  pending 6\n",
		"total: 10\n",
		"(in 1m12s)\n",
		"run: 2\n",
		"workflow: Running\n",
		"view: http://ui/run\n",
		"all runs: http://ui/runs\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	b, _ := json.Marshal(v)
	for _, want := range []string{`"status":"paused"`, `"workflow_status":"Running"`, `"counts":{"delivered":2`, `"pending":6`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

func TestRelative(t *testing.T) {
	now := time.Now()
	for d, want := range map[time.Duration]string{72 * time.Second: "in 1m12s", -3 * time.Second: "3s ago", 0: "now"} {
		if got := relative(now.Add(d), now); got != want {
			t.Errorf("relative(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCampaignRunsURL(t *testing.T) {
	o := &common{uiURL: "http://localhost:8233/", namespace: "default"}
	want := "http://localhost:8233/namespaces/default/workflows?query=CampaignId%3D%22spring+2026%22"
	if got := o.campaignRunsURL("spring 2026"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := reportQuery(`a"b`, workflows.SendMessageWorkflow); got != `WorkflowType = "SendMessage" AND CampaignId = "a\"b"` {
		t.Errorf("query = %s", got)
	}
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReportRows(t *testing.T) {
	exec := func(status enumspb.WorkflowExecutionStatus, memo map[string]*commonpb.Payload, urn string) *workflowpb.WorkflowExecutionInfo {
		e := &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: "spring/" + urn, RunId: "r"},
			Status:    status,
			Memo:      &commonpb.Memo{Fields: memo},
		}
		if urn != "" {
			e.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RecipientUrn": payload(t, urn)}}
		}
		return e
	}
	done := exec(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, map[string]*commonpb.Payload{
		workflows.MemoLine: payload(t, 7), workflows.MemoOutcome: payload(t, "failed"),
		workflows.MemoReason: payload(t, "not a connection"), workflows.MemoTaskID: payload(t, "task-1"),
	}, "urn:li:person:ada")
	running := exec(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, map[string]*commonpb.Payload{workflows.MemoLine: payload(t, 8)}, "urn:li:person:bob")
	killed := exec(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, map[string]*commonpb.Payload{workflows.MemoLine: payload(t, 9)}, "")

	var out strings.Builder
	w := newReportWriter(&out, false, false, false)
	for _, e := range []*workflowpb.WorkflowExecutionInfo{done, running, killed} {
		if err := w.write(rowFromExecution(e, converter.GetDefaultDataConverter())); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	want := "line,recipient_urn,outcome,reason,task_id,workflow_id,status\n" +
		"7,urn:li:person:ada,failed,not a connection,task-1,spring/urn:li:person:ada,Failed\n" +
		"8,urn:li:person:bob,pending,,,spring/urn:li:person:bob,Running\n" +
		"9,,unknown,the run ended (Terminated) without recording an outcome,,spring/,Terminated\n"
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	w = newReportWriter(&out, true, false, false)
	_ = w.write(rowFromExecution(done, converter.GetDefaultDataConverter()))
	if got := out.String(); got != `{"line":7,"recipient_urn":"urn:li:person:ada","outcome":"failed","reason":"not a connection","task_id":"task-1","workflow_id":"spring/urn:li:person:ada","status":"Failed"}`+"\n" {
		t.Errorf("JSON line: %s", got)
	}
}

func TestFitTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "30")
	if got := fitTerminal(strings.Repeat("#", 40)); got != strings.Repeat("#", 28)+"…" {
		t.Errorf("got %q", got)
	}
	t.Setenv("COLUMNS", "")
	if got := fitTerminal(strings.Repeat("#", 200)); len(got) != 200 {
		t.Errorf("without COLUMNS the line must stay whole, got %d", len(got))
	}
}
