package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/outpacehq/outpace/workflows"
)

// visibilityRun is a campaign child's visibility record.
func visibilityRun(t *testing.T, id string, status enumspb.WorkflowExecutionStatus, start time.Time, memo map[string]any) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r-" + start.Format("150405.000")},
		Status:    status,
		StartTime: timestamppb.New(start),
		Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{}},
	}
	for k, v := range memo {
		e.Memo.Fields[k] = payload(t, v)
	}
	if urn, ok := strings.CutPrefix(id, "spring/"); ok && strings.HasPrefix(urn, "urn:") {
		e.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RecipientUrn": payload(t, urn)}}
	}
	return e
}

// listing answers the report's visibility queries with runs, in pages of
// two: the Sequence query finds nothing (a one-message campaign).
func listing(runs []*workflowpb.WorkflowExecutionInfo) func(*workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return func(req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
		if strings.Contains(req.Query, workflows.SequenceWorkflow) {
			return &workflowservice.ListWorkflowExecutionsResponse{}, nil
		}
		from := 0
		if len(req.NextPageToken) > 0 {
			from = int(req.NextPageToken[0])
		}
		to := min(from+2, len(runs))
		resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: runs[from:to]}
		if to < len(runs) {
			resp.NextPageToken = []byte{byte(to)}
		}
		return resp, nil
	}
}

func ended(outcome, reason string, line int) map[string]any {
	return map[string]any{workflows.MemoLine: line, workflows.MemoOutcome: outcome, workflows.MemoReason: reason}
}

// TestReportInLineOrder: one row per line, in line order, whatever order
// visibility gives; a recipient tried again (after a run that made no
// task) is listed by their latest run; rows skipped without a run of their
// own name the line they repeat.
func TestReportInLineOrder(t *testing.T) {
	startedAt := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return startedAt.Add(time.Duration(min) * time.Minute) }
	done, failed, running := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	runs := []*workflowpb.WorkflowExecutionInfo{
		visibilityRun(t, "spring/urn:li:person:ken", running, at(9), map[string]any{workflows.MemoLine: 8}),
		visibilityRun(t, "spring/urn:li:person:ada", done, at(1), ended("delivered", "", 2)),
		visibilityRun(t, "spring/invalid-line-7", failed, at(6), ended("invalid", "recipient_urn: must be a LinkedIn person URN", 7)),
		visibilityRun(t, "spring/urn:li:person:grace", failed, at(-60*24), ended("failed", "sender alice is not configured in this worker", 3)), // an earlier start's run, no task
		visibilityRun(t, "spring/urn:li:person:grace", done, at(2), ended("delivered", "", 3)),                                                  // tried again
		visibilityRun(t, "spring/urn:li:person:bob", failed, at(3), ended("failed", "Recipient is not a 1st-degree connection", 4)),
		visibilityRun(t, "spring/urn:li:person:old", done, at(-60*24), ended("delivered", "", 9)),
	}
	f := (&fakeTemporal{list: listing(runs)}).worker("1@h outpace senders=default")
	useFake(t, f)
	camp := f.addRun("spring", workflows.CampaignWorkflow)
	camp.end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, reportProgress{
		CampaignProgress: workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusFinished, StartedAt: startedAt, Total: 9,
			Counts: workflows.Counts{Delivered: 2, Failed: 1, Invalid: 1, Skipped: 3, Stopped: 1}},
		Unrun: []unrunRow{
			{Line: 5, Outcome: workflows.Skipped, WorkflowID: "spring/urn:li:person:ada"},
			{Line: 3, Outcome: workflows.Skipped, WorkflowID: "spring/urn:li:person:grace"}, // its run is on its own line: not listed twice
			{Line: 6, Outcome: workflows.Stopped, RecipientURN: "urn:li:person:eve"},
			{Line: 10, Outcome: workflows.Skipped, WorkflowID: "spring/urn:li:person:old"},
		},
	}, nil)

	code, stdout, stderr := sendStarter(t, f, "campaign", "report", "--id", "spring", "--page-size", "2")
	want := "line,recipient_urn,outcome,reason,task_id,workflow_id,status\n" +
		"2,urn:li:person:ada,delivered,,,spring/urn:li:person:ada,Completed\n" +
		"3,urn:li:person:grace,delivered,,,spring/urn:li:person:grace,Completed\n" +
		"4,urn:li:person:bob,failed,Recipient is not a 1st-degree connection,,spring/urn:li:person:bob,Failed\n" +
		"5,urn:li:person:ada,skipped,repeats line 2,,spring/urn:li:person:ada,\n" +
		"6,urn:li:person:eve,stopped,stopped before the campaign reached them,,,\n" +
		"7,,invalid,recipient_urn: must be a LinkedIn person URN,,spring/invalid-line-7,Failed\n" +
		"8,urn:li:person:ken,pending,,,spring/urn:li:person:ken,Running\n" +
		"9,urn:li:person:old,delivered,,,spring/urn:li:person:old,Completed\n" +
		"10,urn:li:person:old,skipped,handled by an earlier start of the campaign (line 9 there),,spring/urn:li:person:old,\n"
	if code != exitOK || stdout != want {
		t.Errorf("exit %d, report:\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}
	if !strings.HasPrefix(stderr, "report: rows 9  delivered 3  failed 1  unknown 0  invalid 1  skipped 2  stopped 1  pending 1\n") {
		t.Errorf("stderr: %s", stderr)
	}
	if _, err := csv.NewReader(strings.NewReader(stdout)).ReadAll(); err != nil {
		t.Error(err)
	}

	code, stdout, _ = sendStarter(t, f, "campaign", "report", "--id", "spring", "--json")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var row reportRow
	if code != exitOK || len(lines) != 9 || json.Unmarshal([]byte(lines[3]), &row) != nil || row.Line != 5 || row.Outcome != "skipped" || row.Reason != "repeats line 2" {
		t.Errorf("--json: exit %d:\n%s", code, stdout)
	}
}

// TestReportOfACampaignThatRanNobody: the report says so, and why.
func TestReportOfACampaignThatRanNobody(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(f *fakeTemporal)
		want  string
	}{
		{"refused at its start", func(f *fakeTemporal) {
			f.addRun("spring", workflows.CampaignWorkflow).end(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, nil,
				temporal.NewNonRetryableApplicationError("sender alice is not configured in the workers", "InvalidCampaign", nil))
		}, "report: campaign spring ran nobody: it ended Failed: sender alice is not configured in the workers\n"},
		{"running, nobody yet", func(f *fakeTemporal) {
			f.addRun("spring", workflows.CampaignWorkflow)
			f.queries["spring/"+workflows.QueryProgress] = func() (any, error) {
				return workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusOutsideWindow}, nil
			}
		}, "report: campaign spring has run nobody yet (it is outside_window; visibility lags a few seconds behind)\n"},
		{"every recipient skipped", func(f *fakeTemporal) {
			f.list = listing([]*workflowpb.WorkflowExecutionInfo{visibilityRun(t, "spring/urn:li:person:ada", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
				time.Now().Add(-time.Hour), ended("unknown", "the send's outcome is unknown", 2))})
			f.addRun("spring", workflows.CampaignWorkflow).end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, workflows.CampaignProgress{
				CampaignID: "spring", Status: workflows.StatusFinished, Total: 1, Counts: workflows.Counts{Skipped: 1}, StartedAt: time.Now()}, nil)
		}, "report: campaign spring's latest start ran nobody: its one recipient was skipped (listed twice, or handled by an earlier start of the campaign); the rows are of its earlier runs\n"},
		{"no such campaign", func(f *fakeTemporal) {}, "report: no messages found for campaign spring (visibility lags a few seconds behind)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := useFake(t, (&fakeTemporal{}).worker("1@h outpace senders=default"))
			c.setup(f)
			code, _, stderr := sendStarter(t, f, "campaign", "report", "--id", "spring")
			if code != exitOK || !strings.HasSuffix(stderr, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant it to end:\n%s", code, stderr, c.want)
			}
		})
	}
}
