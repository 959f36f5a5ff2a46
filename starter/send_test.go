package main

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/workflows"
)

const adaURN = "urn:li:person:ACoAAAda"

var sendAda = []string{"send", "--to", adaURN, "--message", "Hi Ada"}

// sendStarter runs the starter against f, with no sender or keys from the
// environment.
func sendStarter(t *testing.T, f *fakeTemporal, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(envSender, "")
	t.Setenv(codec.EnvKey, "")
	t.Setenv(codec.EnvKeyFile, "")
	useFake(t, f)
	return runStarter(t, args...)
}

// messageFailure is how a SendMessage run that was not delivered ends.
func messageFailure(res workflows.SendMessageResult) error {
	return temporal.NewNonRetryableApplicationError("message to "+res.RecipientURN+" "+string(res.Outcome)+": "+res.Reason,
		res.Outcome.ErrorType(), nil, res)
}

// settle ends every run started with res: delivered, or failed with it.
func settle(res workflows.SendMessageResult) func(r *fakeRun) {
	return func(r *fakeRun) {
		if res.Outcome == workflows.Delivered {
			r.end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, res, nil)
			return
		}
		r.end(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, nil, messageFailure(res))
	}
}

// TestSendRefusesASenderTheWorkersLack: the workers list their senders in
// their identity; a sender none lists is refused before anything starts.
func TestSendRefusesASenderTheWorkersLack(t *testing.T) {
	f := (&fakeTemporal{}).worker("4242@host outpace senders=default,bob").worker("4343@other outpace senders=default")
	code, stdout, stderr := sendStarter(t, f, append(sendAda, "--sender", "alice")...)
	want := "starter: sender alice is not configured in the workers of task queue outpace (they have: bob, default); nothing was sent\n"
	if code != exitUsage || stderr != want || stdout != "" || len(f.started) != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q, %d started\nwant exit 2 and %q", code, stdout, stderr, len(f.started), want)
	}
	// With no --sender, the account is "default".
	f = (&fakeTemporal{onStart: settle(workflows.SendMessageResult{Outcome: workflows.Delivered})}).worker("1@h outpace senders=alice")
	if code, _, stderr := sendStarter(t, f, sendAda...); code != exitUsage || !strings.Contains(stderr, "sender default is not configured in the workers of task queue outpace (they have: alice)") {
		t.Errorf("default sender: exit %d, stderr %q", code, stderr)
	}
}

// TestSendRefusesWithoutTheWorkersKeys: workers that encrypt payloads say
// so in their identity; a starter without the keys would name the run
// otherwise than one with them (and could send the message twice), so it
// refuses before anything starts.
func TestSendRefusesWithoutTheWorkersKeys(t *testing.T) {
	f := (&fakeTemporal{}).worker("4242@host outpace senders=default encrypted")
	code, stdout, stderr := sendStarter(t, f, sendAda...)
	want := "starter: the workers of task queue outpace encrypt payloads: give the starter the same keys (--encryption-key-file or OUTPACE_ENCRYPTION_KEY_FILE, see docs/encryption.md); nothing was sent\n"
	if code != exitUsage || stderr != want || stdout != "" || len(f.started) != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q, %d started\nwant exit 2 and %q", code, stdout, stderr, len(f.started), want)
	}
}

func TestSendDoesNotRefuseWhatItCannotKnow(t *testing.T) {
	for name, f := range map[string]*fakeTemporal{
		"a worker that lists alice":                 (&fakeTemporal{}).worker("1@h outpace senders=default,alice"),
		"an older worker, without the list":         (&fakeTemporal{}).worker("4242@host@"),
		"one older worker beside one without alice": (&fakeTemporal{}).worker("1@h outpace senders=default").worker("2@h@"),
	} {
		t.Run(name, func(t *testing.T) {
			f.onStart = settle(workflows.SendMessageResult{Outcome: workflows.Delivered})
			code, stdout, stderr := sendStarter(t, f, append(sendAda, "--sender", "alice")...)
			if code != exitOK || !strings.Contains(stdout, "Started SendMessage") || stderr != "" || len(f.started) != 1 {
				t.Errorf("exit %d, %d started, stdout:\n%s\nstderr:\n%s", code, len(f.started), stdout, stderr)
			}
		})
	}
}

// TestSendWarnsWithoutAWorker: with no worker on the task queue (none
// running, or --task-queue mistyped), send says so within seconds, instead
// of waiting silently; the run is started all the same.
func TestSendWarnsWithoutAWorker(t *testing.T) {
	fast(t)
	f := &fakeTemporal{}
	code, stdout, stderr := sendStarter(t, f, append(sendAda, "--task-queue", "outpcae")...)
	want := "starter: warning: no poller seen for task queue outpcae: no worker is running for it (is the worker running? is outpcae the task queue it serves? see --task-queue); the message waits until one polls it\n"
	if code != exitOK || !strings.Contains(stdout, "Started SendMessage") || stderr != want || len(f.started) != 1 {
		t.Errorf("exit %d, %d started, stdout:\n%s\nstderr: %q\nwant %q", code, len(f.started), stdout, stderr, want)
	}
	// With --wait, the progress query fails for want of a worker: the
	// same warning, once, and the wait goes on until the run ends.
	f = &fakeTemporal{}
	release := make(chan struct{})
	f.onStart = func(r *fakeRun) {
		go func() {
			<-release
			r.end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, workflows.SendMessageResult{Outcome: workflows.Delivered}, nil)
		}()
	}
	f.queries = map[string]func() (any, error){}
	var queries atomic.Int32
	var ended sync.Once
	noPoller := func() (any, error) {
		if queries.Add(1) > 5 { // the run ends after a few failed queries
			ended.Do(func() { close(release) })
		}
		return nil, serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")
	}
	useFake(t, f)
	f.queries[sendWorkflowID(adaURN, "Hi Ada")+"/"+workflows.QueryTask] = noPoller
	code, stdout, stderr = sendStarter(t, f, append(sendAda, "--wait")...)
	if code != exitOK || strings.Count(stderr, "no poller seen for task queue outpace") != 1 || !strings.Contains(stdout, "Outcome: delivered") {
		t.Errorf("--wait without a worker: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestSendWaitShowsWhyItWaits: send --wait prints each new thing the run
// says it does, such as why it waits for its account, and --json gives
// the last of them.
func TestSendWaitShowsWhyItWaits(t *testing.T) {
	fast(t)
	capped := "waiting for account default: hourly cap of 20 messages reached; next slot 10:06 UTC"
	answers := []workflows.TaskProgress{
		{Status: "waiting", Text: "asking account default's pacer for a slot"},
		{Status: "waiting", Text: capped, Wait: &pacer.Wait{Kind: pacer.WaitHourlyCap, Reason: "hourly cap of 20 messages reached"}},
		{Status: "waiting", Text: capped, Wait: &pacer.Wait{Kind: pacer.WaitHourlyCap, Reason: "hourly cap of 20 messages reached"}},
		{Status: "sending", Text: "sending the message"},
		{Status: "confirming", Text: "waiting for OutX task t-1 to be performed", TaskID: "t-1"},
	}
	for _, asJSON := range []bool{false, true} {
		f := &fakeTemporal{}
		f.worker("1@h outpace senders=default")
		var run *fakeRun
		f.onStart = func(r *fakeRun) { run = r }
		useFake(t, f)
		i := 0
		f.queries[sendWorkflowID(adaURN, "Hi Ada")+"/"+workflows.QueryTask] = func() (any, error) {
			if i < len(answers) {
				i++
				return answers[i-1], nil
			}
			if i == len(answers) {
				i++
				run.end(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, nil, messageFailure(workflows.SendMessageResult{
					RecipientURN: adaURN, Outcome: workflows.Unknown, TaskID: "t-1", Reason: "no final status"}))
			}
			return answers[len(answers)-1], nil
		}
		args := append(sendAda, "--wait")
		if asJSON {
			args = append(args, "--json")
		}
		code, stdout, stderr := sendStarter(t, f, args...)
		if code != exitUnknown {
			t.Errorf("json %v: exit %d, want %d; stderr %s", asJSON, code, exitUnknown, stderr)
		}
		if asJSON {
			var out sendOutput
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Progress == nil || out.Progress.Text != answers[4].Text || out.Result == nil || out.Result.Outcome != workflows.Unknown {
				t.Errorf("--json: %v\n%s", err, stdout)
			}
			continue
		}
		want := "Waiting for the outcome (Ctrl-C stops waiting, not the workflow)...\n" +
			"  asking account default's pacer for a slot\n" +
			"  " + capped + "\n" +
			"  sending the message\n" +
			"  waiting for OutX task t-1 to be performed\n" +
			"Outcome: unknown\n"
		if !strings.Contains(stdout, want) || stderr != "" {
			t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", stdout, want, stderr)
		}
	}
}

// TestSendAgainAfterARunThatMadeNoTask: a message whose earlier run ended
// without an OutX task (a bad key, a sender the worker lacked) is sent
// again under the same id; one whose run made a task, or may have, is
// never sent again.
func TestSendAgainAfterARunThatMadeNoTask(t *testing.T) {
	id := sendWorkflowID(adaURN, "Hi Ada")
	noTask := workflows.SendMessageResult{RecipientURN: adaURN, Outcome: workflows.Failed, Reason: "OutX refused the API key (401)", NotSentCode: "Unauthorized"}
	for _, c := range []struct {
		name    string
		earlier func(r *fakeRun)
		again   bool
	}{
		{"failed, no task", settle(noTask), true},
		{"invalid, no task", settle(workflows.SendMessageResult{Outcome: workflows.Invalid, Reason: "OutX refused the request"}), true},
		{"failed by OutX", settle(workflows.SendMessageResult{Outcome: workflows.Failed, TaskID: "t-1", Reason: "not a connection"}), false},
		{"unknown", settle(workflows.SendMessageResult{Outcome: workflows.Unknown, Reason: "the send's outcome is unknown"}), false},
		{"delivered", settle(workflows.SendMessageResult{Outcome: workflows.Delivered, TaskID: "t-1"}), false},
		{"terminated", func(r *fakeRun) {
			r.end(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, nil, &temporal.TerminatedError{})
		}, false},
		{"still running", func(*fakeRun) {}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := (&fakeTemporal{}).worker("1@h outpace senders=default")
			useFake(t, f)
			c.earlier(f.addRun(id, workflows.SendMessageWorkflow))
			f.onStart = settle(workflows.SendMessageResult{Outcome: workflows.Delivered, TaskID: "t-2"})
			code, stdout, stderr := sendStarter(t, f, sendAda...)
			if code != exitOK || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			if !c.again {
				if len(f.started) != 0 || !strings.Contains(stdout, "already started; not sending it again") || !strings.Contains(stdout, "run id:      run-1") {
					t.Errorf("%d started, stdout:\n%s\nwant the earlier run, not sent again", len(f.started), stdout)
				}
				return
			}
			if len(f.started) != 1 || f.started[0].ID != id || f.started[0].WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
				t.Fatalf("started %+v, want one run under %s allowing the duplicate", f.started, id)
			}
			if !strings.HasPrefix(stdout, "The earlier run made no OutX task (") || !strings.Contains(stdout, "); sending again.\nStarted SendMessage\n") || !strings.Contains(stdout, "run id:      run-2") {
				t.Errorf("stdout:\n%s", stdout)
			}
		})
	}
	// The message names what the earlier run said; --json says it too.
	f := (&fakeTemporal{onStart: settle(workflows.SendMessageResult{Outcome: workflows.Delivered})}).worker("1@h outpace senders=default")
	useFake(t, f)
	settle(noTask)(f.addRun(id, workflows.SendMessageWorkflow))
	_, stdout, _ := sendStarter(t, f, sendAda...)
	if !strings.HasPrefix(stdout, "The earlier run made no OutX task (failed: OutX refused the API key (401)); sending again.\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	f = (&fakeTemporal{onStart: settle(workflows.SendMessageResult{Outcome: workflows.Delivered})}).worker("1@h outpace senders=default")
	useFake(t, f)
	settle(noTask)(f.addRun(id, workflows.SendMessageWorkflow))
	_, stdout, _ = sendStarter(t, f, append(sendAda, "--json", "--wait")...)
	var out sendOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || !out.SentAgain || out.Existing || out.Earlier == nil || out.Earlier.Reason != noTask.Reason || out.Result.Outcome != workflows.Delivered {
		t.Errorf("--json: %v %s", err, stdout)
	}
}

// TestSendExitStatusByOutcome: send --wait exits by the outcome.
func TestSendExitStatusByOutcome(t *testing.T) {
	for o, want := range map[workflows.Outcome]int{workflows.Delivered: exitOK, workflows.Failed: exitFailed, workflows.Unknown: exitUnknown, workflows.Invalid: exitUsage} {
		f := (&fakeTemporal{onStart: settle(workflows.SendMessageResult{Outcome: o, Reason: "why"})}).worker("1@h outpace senders=default")
		code, stdout, stderr := sendStarter(t, f, append(sendAda, "--wait")...)
		if code != want || !strings.Contains(stdout, "Outcome: "+string(o)) || stderr != "" {
			t.Errorf("%s: exit %d, want %d\n%s%s", o, code, want, stdout, stderr)
		}
	}
	// A run that ends without a result says so, exit 1.
	f := (&fakeTemporal{onStart: func(r *fakeRun) {
		r.end(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, nil, errors.New("terminated by operator"))
	}}).worker("1@h outpace senders=default")
	if code, _, stderr := sendStarter(t, f, append(sendAda, "--wait")...); code != exitError || !strings.Contains(stderr, "starter: waiting for send-") {
		t.Errorf("terminated: exit %d, %s", code, stderr)
	}
}
