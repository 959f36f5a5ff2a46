package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/workflows"
)

// TestCampaignStartRefusesASenderTheWorkersLack: nothing starts.
func TestCampaignStartRefusesASenderTheWorkersLack(t *testing.T) {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	code, stdout, stderr := sendStarter(t, f, "campaign", "start", "--id", "spring-try", "--to", adaURN, "--template", "Hi", "--sender", "alice")
	want := "starter: sender alice is not configured in the workers of task queue outpace (they have: default); nothing was started\n"
	if code != exitUsage || stderr != want || stdout != "" || len(f.started) != 0 {
		t.Errorf("exit %d, %d started, stdout %q, stderr %q\nwant %q", code, len(f.started), stdout, stderr, want)
	}
}

// TestCampaignStartWarnsWithoutAWorker: started, and told that nothing
// serves its task queue.
func TestCampaignStartWarnsWithoutAWorker(t *testing.T) {
	fast(t)
	f := &fakeTemporal{}
	code, stdout, stderr := sendStarter(t, f, "campaign", "start", "--id", "spring", "--to", adaURN, "--template", "Hi")
	if code != exitOK || !strings.Contains(stdout, "Started campaign spring") || len(f.started) != 1 ||
		!strings.Contains(stderr, "warning: no poller seen for task queue outpace: no worker is running for it") || !strings.Contains(stderr, "the campaign waits until one polls it") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestCampaignAlreadyRunning(t *testing.T) {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	useFake(t, f)
	f.addRun("spring", workflows.CampaignWorkflow).input = workflows.CampaignInput{CampaignID: "spring"}
	code, stdout, stderr := sendStarter(t, f, "campaign", "start", "--id", "spring", "--to", adaURN, "--template", "Hi")
	if code != exitError || !strings.HasPrefix(stdout, "Campaign spring is already running; nothing was started.\n") || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// capped is a pacer whose queue holds three of spring's actions (two for
// the hourly cap, one behind another action) and others' actions.
func capped(now time.Time) pacer.Status {
	cap := pacer.Wait{Kind: pacer.WaitHourlyCap, Reason: "hourly cap of 20 messages reached", NextAt: now.Add(6 * time.Minute)}
	return pacer.Status{Sender: "default", Queued: 5, Waiting: []pacer.Waiting{
		{ID: "1", WorkflowID: "spring/urn:li:person:a", Action: pacer.ActionMessage, Campaign: "spring", Wait: cap},
		{ID: "2", WorkflowID: "autumn/urn:li:person:b", Action: pacer.ActionMessage, Campaign: "autumn", Wait: cap},
		{ID: "3", WorkflowID: "spring/urn:li:person:c/step-3", Action: pacer.ActionMessage, Campaign: "spring", Wait: cap},
		{ID: "4", WorkflowID: "send-x", Action: pacer.ActionMessage, Wait: cap},
		{ID: "5", WorkflowID: "spring/urn:li:person:d/step-1", Action: pacer.ActionConnect, Campaign: "spring",
			Wait: pacer.Wait{Kind: pacer.WaitBusy, Reason: "another action of the account is in flight"}},
	}}
}

// runningCampaign is spring, running, answering its progress query.
func runningCampaign(t *testing.T) *fakeTemporal {
	f := (&fakeTemporal{}).worker("1@h outpace senders=default")
	useFake(t, f)
	f.addRun("spring", workflows.CampaignWorkflow)
	f.queries["spring/"+workflows.QueryProgress] = func() (any, error) {
		return workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusRunning, Sender: "default", Total: 10, Pending: 10, Active: 3}, nil
	}
	return f
}

// TestCampaignStatusShowsWhyItsActionsWait: besides the campaign's own
// progress, its account's pacer says why its actions (messages and
// sequence steps) wait: a line per reason, with how many.
func TestCampaignStatusShowsWhyItsActionsWait(t *testing.T) {
	now := time.Now()
	f := runningCampaign(t)
	f.queries[pacer.WorkflowID("outpace", "default")+"/"+pacer.QueryStatus] = func() (any, error) { return capped(now), nil }
	code, stdout, stderr := sendStarter(t, f, "campaign", "status", "--id", "spring")
	st := capped(now)
	hourly := workflows.WaitText("default", st.Waiting[0].Wait, now) + " (2 of this campaign's actions)\n"
	busy := workflows.WaitText("default", st.Waiting[4].Wait, now) + " (1 action of this campaign)\n"
	if code != exitOK || !strings.Contains(stdout, "status: running\n") || !strings.Contains(stdout, hourly+busy) || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s%s\nstderr: %s", code, stdout, hourly, busy, stderr)
	}
	if !strings.HasPrefix(hourly, "waiting for account default: hourly cap of 20 messages reached; next slot ") {
		t.Errorf("line %q", hourly)
	}

	code, stdout, _ = sendStarter(t, f, "campaign", "status", "--id", "spring", "--json")
	var v struct {
		Status       string        `json:"status"`
		AccountWaits []accountWait `json:"account_waits"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != exitOK || len(v.AccountWaits) != 2 ||
		v.AccountWaits[0].Actions != 2 || v.AccountWaits[0].Kind != pacer.WaitHourlyCap || v.AccountWaits[1].Actions != 1 || v.Status != "running" {
		t.Errorf("--json: exit %d, %v: %s", code, err, stdout)
	}

	// No pacer yet (or it does not answer): the campaign's progress alone.
	f = runningCampaign(t)
	code, stdout, stderr = sendStarter(t, f, "campaign", "status", "--id", "spring")
	if code != exitOK || strings.Contains(stdout, "waiting for account") || stderr != "" {
		t.Errorf("no pacer: exit %d, stdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
}

// TestCampaignStatusWithoutAWorker: the progress query finds no worker,
// and says so in the words send uses.
func TestCampaignStatusWithoutAWorker(t *testing.T) {
	f := &fakeTemporal{}
	useFake(t, f)
	f.addRun("spring", workflows.CampaignWorkflow)
	f.queries["spring/"+workflows.QueryProgress] = func() (any, error) {
		return nil, serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")
	}
	code, _, stderr := sendStarter(t, f, "campaign", "status", "--id", "spring")
	if code != exitError || stderr != "starter: asking campaign spring for its progress: "+noPollerText("outpace")+"\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestCampaignWatchShowsWhyItsActionsWait: watch prints the reasons under
// the progress line when they change, and the final status.
func TestCampaignWatchShowsWhyItsActionsWait(t *testing.T) {
	now := time.Now()
	f := runningCampaign(t)
	run := f.latest("spring")
	polls := 0
	f.queries[pacer.WorkflowID("outpace", "default")+"/"+pacer.QueryStatus] = func() (any, error) {
		polls++
		if polls == 3 {
			run.end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusFinished,
				Total: 10, Counts: workflows.Counts{Delivered: 10}}, nil)
		}
		return capped(now), nil
	}
	code, stdout, stderr := sendStarter(t, f, "campaign", "watch", "--id", "spring", "--interval", "10ms")
	line := "  " + workflows.WaitText("default", capped(now).Waiting[0].Wait, now) + " (2 of this campaign's actions)\n"
	if code != exitOK || strings.Count(stdout, line) != 1 || !strings.Contains(stdout, "status: finished\n") || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nwant once:\n%s\nstderr: %s", code, stdout, line, stderr)
	}
}
