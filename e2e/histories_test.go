package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// registerAll registers every workflow the worker hosts.
func registerAll(r worker.WorkflowRegistry) {
	for _, w := range workflows.All() {
		r.RegisterWorkflow(w)
	}
}

// TestRecordedHistories runs SendMessage to every outcome on the real server
// and replays each history against the current code. With
// OUTPACE_UPDATE_HISTORIES=1 it also writes them to
// workflows/testdata/histories, where the replay unit test keeps checking that
// later changes do not break runs recorded by earlier code.
func TestRecordedHistories(t *testing.T) {
	s := up(t)
	t.Parallel()
	// On a lane: its runs take turns on an account of their own. The slow
	// task stays pending past the worker's poll burst (10s), so that its
	// history holds polls across attempts, without holding the account for
	// a minute.
	opts := sandboxOptions()
	opts.SlowDelay = 15 * time.Second
	s = s.lane(t, "e2e-histories", opts)
	type start struct {
		workflow string
		input    any
	}
	send := func(in workflows.SendMessageInput) start { return start{workflows.SendMessageWorkflow, in} }
	gap := workflows.Duration(time.Second)
	noCap := 0
	cases := map[string]start{
		"sendmessage-delivered":         send(workflows.SendMessageInput{RecipientURN: "urn:li:person:histDelivered", Message: "Hi Ada"}),
		"sendmessage-failed":            send(workflows.SendMessageInput{RecipientURN: outxtest.NotConnected + "-hist", Message: "Hi Bob"}),
		"sendmessage-unknown":           send(workflows.SendMessageInput{RecipientURN: outxtest.LostAnswerOnce + "-hist", Message: "Hi Cleo"}),
		"sendmessage-invalid":           send(workflows.SendMessageInput{RecipientURN: "urn:li:person:histInvalid", Message: " "}),
		"sendmessage-ratelimited-retry": send(workflows.SendMessageInput{RecipientURN: outxtest.RateLimitedOnce + "-hist", Message: "Hi Dana"}),
		"sendmessage-unavailable-retry": send(workflows.SendMessageInput{RecipientURN: outxtest.UnavailableOnce + "-hist", Message: "Hi Eve"}),
		"sendmessage-pending-then-sent": send(workflows.SendMessageInput{RecipientURN: outxtest.Slow + "-hist", Message: "Hi Finn"}),
		// A campaign through every outcome, with a duplicate, paced by
		// timers, and continued as new (three recipients per page, and a
		// history limit of 100 events that the first pages reach).
		"campaign-mixed": {workflows.CampaignWorkflow, workflows.CampaignInput{
			CampaignID: "e2e-hist-campaign", Template: "Hi {{first_name}}",
			Recipients: []recipients.Recipient{
				{RecipientURN: "urn:li:person:histCampA", Vars: map[string]string{"first_name": "Ada"}},
				{RecipientURN: outxtest.NotConnected + "-histcamp", Vars: map[string]string{"first_name": "Bob"}},
				{RecipientURN: "urn:li:person:histCampA", Vars: map[string]string{"first_name": "Ada"}},
				{RecipientURN: "urn:li:person:histCampC", Vars: map[string]string{"first_name": ""}},
				{RecipientURN: outxtest.RateLimitedOnce + "-histcamp", Vars: map[string]string{"first_name": "Ray"}},
				{RecipientURN: "urn:li:person:histCampD", Vars: map[string]string{"first_name": "Dan"}},
				{RecipientURN: "urn:li:person:histCampE", Vars: map[string]string{"first_name": "Eve"}},
				{RecipientURN: "urn:li:person:histCampF", Vars: map[string]string{"first_name": "Fay"}},
				{RecipientURN: "urn:li:person:histCampG", Vars: map[string]string{"first_name": "Gus"}},
				{RecipientURN: "urn:li:person:histCampH", Vars: map[string]string{"first_name": "Hal"}},
				{RecipientURN: "urn:li:person:histCampI", Vars: map[string]string{"first_name": "Ivy"}},
				{RecipientURN: "urn:li:person:histCampJ", Vars: map[string]string{"first_name": "Jo"}},
				{RecipientURN: "urn:li:person:histCampK", Vars: map[string]string{"first_name": "Kim"}},
			},
			Window:   workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
			Pacing:   workflows.Pacing{MinGap: &gap, MaxGap: &gap, HourlyCap: &noCap, DailyCap: &noCap},
			PageSize: 3, MaxRunEvents: 100,
		}},
		// A sequence campaign: a person who accepts goes through every
		// step, one who does not ends not_connected.
		"sequence-campaign": {workflows.CampaignWorkflow, workflows.CampaignInput{
			CampaignID: "e2e-hist-sequence",
			Recipients: []recipients.Recipient{
				{RecipientURN: outxtest.Accepts + "-histseq", Vars: map[string]string{"first_name": "Ann"}},
				{RecipientURN: outxtest.Ignores + "-histseq", Vars: map[string]string{"first_name": "Ian"}},
			},
			Steps: []workflows.Step{
				{Type: workflows.StepConnect, Template: "Hi {{first_name}}"},
				{Type: workflows.StepWaitForConnection, CheckEvery: workflows.Duration(10 * time.Second), Timeout: workflows.Duration(25 * time.Second)},
				{Type: workflows.StepMessage, Template: "Thanks, {{first_name}}"},
				{Type: workflows.StepWait, Duration: workflows.Duration(2 * time.Second)},
				{Type: workflows.StepMessage, Template: "Following up, {{first_name}}"},
			},
			Window: workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
			Pacing: workflows.Pacing{MinGap: &gap, MaxGap: &gap, HourlyCap: &noCap, DailyCap: &noCap},
		}},
		// Learning what works: a one-message campaign of two variants with
		// spintax, scheduled a few seconds ahead (the run waits on its own
		// timer); a sequence whose note and message have variants, telling
		// its campaign how each counted step ended.
		"campaign-variants": {workflows.CampaignWorkflow, workflows.CampaignInput{
			CampaignID: "e2e-hist-variants", StartAt: time.Now().Add(3 * time.Second),
			Variants: []workflows.Variant{{Name: "warm", Text: "{Hi|Hello} {{first_name}}", Weight: 2}, {Name: "short", Text: "{{first_name}}?"}},
			Recipients: []recipients.Recipient{
				{RecipientURN: "urn:li:person:histVarA", Vars: map[string]string{"first_name": "Ada"}},
				{RecipientURN: "urn:li:person:histVarB", Vars: map[string]string{"first_name": "Bo"}},
				{RecipientURN: "urn:li:person:histVarC", Vars: map[string]string{"first_name": "Cy"}},
			},
			Window: workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
			Pacing: workflows.Pacing{MinGap: &gap, MaxGap: &gap, HourlyCap: &noCap, DailyCap: &noCap},
		}},
		"sequence-variants": {workflows.CampaignWorkflow, workflows.CampaignInput{
			CampaignID: "e2e-hist-seqvar",
			Recipients: []recipients.Recipient{{RecipientURN: outxtest.Accepts + "-histvar", Vars: map[string]string{"first_name": "Ann"}}},
			Steps: []workflows.Step{
				{Type: workflows.StepConnect, Variants: []workflows.Variant{{Name: "note", Text: "{Hi|Hello} {{first_name}}"}, {Name: "no-note"}}},
				{Type: workflows.StepWaitForConnection, CheckEvery: workflows.Duration(10 * time.Second), Timeout: workflows.Duration(25 * time.Second)},
				{Type: workflows.StepMessage, Variants: []workflows.Variant{{Name: "thanks", Text: "Thanks, {{first_name}}"}, {Name: "question", Text: "{{first_name}}, a question?"}}},
			},
			Window: workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
			Pacing: workflows.Pacing{MinGap: &gap, MaxGap: &gap, HourlyCap: &noCap, DailyCap: &noCap},
		}},
	}
	var wg sync.WaitGroup
	histories := make(map[string]*historypb.History, len(cases))
	var mu sync.Mutex
	for name, in := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "e2e-" + name, TaskQueue: s.queue},
				in.workflow, in.input)
			if err != nil {
				t.Error(err)
				return
			}
			firstRun := run.GetRunID() // Get follows continue-as-new to the last run
			_ = run.Get(ctx, nil)      // failed outcomes are failed runs; the history is what matters
			// A campaign's first run: the one that went through the most.
			h := &historypb.History{Events: s.history(t, run.GetID(), firstRun)}
			mu.Lock()
			histories[name] = h
			mu.Unlock()
			if name == "sequence-campaign" {
				mu.Lock()
				for key, id := range map[string]string{
					"sequence-accepted":      "e2e-hist-sequence/" + outxtest.Accepts + "-histseq",
					"sequence-not-connected": "e2e-hist-sequence/" + outxtest.Ignores + "-histseq",
					"sequence-step-connect":  "e2e-hist-sequence/" + outxtest.Accepts + "-histseq/1-connect",
					"sequence-step-message":  "e2e-hist-sequence/" + outxtest.Accepts + "-histseq/5-message",
					// The account's pacer, still running: what it did so far.
					"pacer": pacer.WorkflowID(s.queue, senders.Default),
				} {
					histories[key] = &historypb.History{Events: s.history(t, id, "")}
				}
				mu.Unlock()
				return
			}
			switch name {
			case "sequence-variants":
				mu.Lock()
				histories["sequence-variants-recipient"] = &historypb.History{Events: s.history(t, "e2e-hist-seqvar/"+outxtest.Accepts+"-histvar", "")}
				mu.Unlock()
				return
			case "campaign-variants":
				return // one run: no continue-as-new
			}
			if in.workflow == workflows.CampaignWorkflow {
				last := &historypb.History{Events: s.history(t, run.GetID(), "")}
				if len(h.Events) == 0 || h.Events[len(h.Events)-1].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
					t.Errorf("%s: the first run did not continue as new", name)
				}
				mu.Lock()
				histories[name+"-last-run"] = last
				// Its children, in the campaign's mode: memo upserts, and a
				// signal to the campaign while OutX refuses the send.
				for child, urn := range map[string]string{
					"delivered": "urn:li:person:histCampA", "ratelimited": outxtest.RateLimitedOnce + "-histcamp", "invalid": "invalid-line-4",
				} {
					histories["campaign-child-"+child] = &historypb.History{Events: s.history(t, "e2e-hist-campaign/"+urn, "")}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	replayer := worker.NewWorkflowReplayer()
	registerAll(replayer)
	for name, h := range histories {
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			t.Errorf("%s does not replay: %v", name, err)
		}
	}
	// OUTPACE_UPDATE_HISTORIES=1 records the histories missing from
	// testdata; any other value is a tag that names a new generation of them
	// (<name>-<tag>.json), recorded beside the old ones when the workflows
	// change, so the replay test checks both.
	tag := os.Getenv("OUTPACE_UPDATE_HISTORIES")
	if tag == "" {
		return
	}
	dir := filepath.Join(s.root, "workflows", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, h := range histories {
		if tag != "1" {
			name += "-" + tag
		}
		path := filepath.Join(dir, name+".json")
		if _, err := os.Stat(path); err == nil {
			// Histories recorded by earlier code are what the replay test
			// checks new code against: never overwrite them.
			continue
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("recorded new histories in %s", dir)
}
