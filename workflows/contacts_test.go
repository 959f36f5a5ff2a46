package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/pgtest"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// openContacts opens a real store (SQLite in a file, or a PostgreSQL URL).
func openContacts(t *testing.T, dsn string) contacts.Store {
	t.Helper()
	s, err := contacts.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sqliteContacts(t *testing.T) (contacts.Store, string) {
	dsn := filepath.Join(t.TempDir(), "contacts.db")
	return openContacts(t, dsn), dsn
}

// ledgerStack is the stack (pacer, campaigns, children) with its
// activities keeping the ledger in store.
func ledgerStack(t *testing.T, store contacts.Store) *stackHarness {
	h := newStack(t, map[string]senders.Limits{senders.Default: anyHours}, outxtest.Options{})
	h.acts.Contacts = store
	return h
}

func messageCampaign(id string, rs ...recipients.Recipient) workflows.CampaignInput {
	in := sequenceCampaign(id, rs...)
	in.Steps, in.Template = nil, "Hello {{first_name}}"
	return in
}

func (h *stackHarness) message(t *testing.T, campaign, urn string) workflows.SendMessageResult {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.messages[campaign+"/"+urn]
	if !ok {
		t.Fatalf("no message run for %s in %s", urn, campaign)
	}
	return r
}

func addDNC(t *testing.T, store contacts.Store, urn, reason string) {
	t.Helper()
	if err := store.AddDNC(t.Context(), contacts.DNCEntry{RecipientURN: urn, Reason: reason, AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

var (
	ann = "urn:li:person:ACoAAAnn"
	bob = "urn:li:person:ACoAABob"
	cat = "urn:li:person:ACoAACat"
)

// TestCampaignExcludesDoNotContact: a campaign whose second recipient is on
// the do-not-contact list sends to the others; that row ends excluded with
// the list's reason, nothing is sent to them, and the counts add up.
func TestCampaignExcludesDoNotContact(t *testing.T) {
	store, _ := sqliteContacts(t)
	addDNC(t, store, bob, "asked us to stop")
	h := ledgerStack(t, store)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{
		messageCampaign("spring", person(ann, "Ann"), person(bob, "Bob"), person(cat, "Cat"))}})
	if want := (workflows.Counts{Delivered: 2, Excluded: 1}); out[0].Counts != want || out[0].Counts.Done() != 3 || out[0].Pending != 0 {
		t.Errorf("counts = %+v (done %d, pending %d), want %+v", out[0].Counts, out[0].Counts.Done(), out[0].Pending, want)
	}
	r := h.message(t, "spring", bob)
	if r.Outcome != workflows.Excluded || !strings.Contains(r.Reason, "asked us to stop") || r.TaskID != "" || !r.NoTask() {
		t.Errorf("Bob's run = %+v, want excluded with the list's reason and no task", r)
	}
	if n := len(h.tasks(bob)); n != 0 {
		t.Errorf("%d tasks for Bob, want none", n)
	}
	for _, u := range []string{ann, cat} {
		if n := len(h.tasks(u)); n != 1 {
			t.Errorf("%d tasks for %s, want 1", n, u)
		}
	}
	// The ledger has the two messages, delivered.
	hist, err := store.History(t.Context(), ann)
	if err != nil || len(hist) != 1 || hist[0].Outcome != "delivered" || hist[0].CampaignID != "spring" || hist[0].TaskID == "" {
		t.Errorf("Ann's history %+v (%v)", hist, err)
	}
}

// TestSequenceExcludedBetweenSteps: a person added to the do-not-contact
// list after their connection request, during the wait, ends excluded: the
// follow-up message is never sent.
func TestSequenceExcludedBetweenSteps(t *testing.T) {
	store, _ := sqliteContacts(t)
	h := ledgerStack(t, store)
	in := sequenceCampaign("intro", person(ann, "Ann"), person(cat, "Cat"))
	in.Steps = []workflows.Step{
		{Type: workflows.StepConnect, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(2 * 24 * time.Hour)},
		{Type: workflows.StepMessage, Name: "follow-up", Template: "Thanks, {{first_name}}"},
	}
	h.env.RegisterDelayedCallback(func() { addDNC(t, store, ann, "she is a customer now") }, 24*time.Hour)
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if want := (workflows.Counts{Delivered: 1, Excluded: 1}); out[0].Counts != want {
		t.Errorf("counts = %+v, want %+v", out[0].Counts, want)
	}
	r := h.sequenceResults(t)[ann]
	if r.Outcome != workflows.Excluded || !strings.Contains(r.Reason, "step 3 (follow-up)") || !strings.Contains(r.Reason, "she is a customer now") {
		t.Errorf("Ann's sequence = %+v, want excluded at step 3 with the reason", r)
	}
	if got := types(h.tasks(ann)); len(got) != 1 || got[0] != "send_connection_request" {
		t.Errorf("Ann's tasks = %v, want only the connection request", got)
	}
	if got := types(h.tasks(cat)); countOf(got, "send_message") != 1 {
		t.Errorf("Cat's tasks = %v, want her follow-up", got)
	}
}

// TestSecondCampaignSkipsTheFirstsPeople: a second campaign over the same
// people skips them, naming the first; its new person is messaged; a third
// with contact_policy allow messages them again.
func TestSecondCampaignSkipsTheFirstsPeople(t *testing.T) {
	store, _ := sqliteContacts(t)
	first := ledgerStack(t, store)
	out := first.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{
		messageCampaign("spring", person(ann, "Ann"), person(bob, "Bob"))}})
	if want := (workflows.Counts{Delivered: 2}); out[0].Counts != want {
		t.Fatalf("first campaign: counts = %+v, want %+v", out[0].Counts, want)
	}

	second := ledgerStack(t, store)
	out = second.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{
		messageCampaign("autumn", person(ann, "Ann"), person(bob, "Bob"), person(cat, "Cat"))}})
	if want := (workflows.Counts{Delivered: 1, Skipped: 2}); out[0].Counts != want || out[0].Counts.Done() != 3 {
		t.Errorf("second campaign: counts = %+v, want %+v", out[0].Counts, want)
	}
	for _, u := range []string{ann, bob} {
		r := second.message(t, "autumn", u)
		if r.Outcome != workflows.Skipped || !strings.Contains(r.Reason, `campaign "spring"`) || r.TaskID != "" {
			t.Errorf("%s in autumn = %+v, want skipped naming spring", u, r)
		}
		if n := len(second.tasks(u)); n != 0 {
			t.Errorf("autumn sent %d tasks to %s, want none", n, u)
		}
	}
	if n := len(second.tasks(cat)); n != 1 {
		t.Errorf("autumn sent %d tasks to Cat, want 1", n)
	}

	third := ledgerStack(t, store)
	allow := messageCampaign("winter", person(ann, "Ann"))
	allow.ContactPolicy = &workflows.ContactPolicy{Scope: contacts.ScopeAllow}
	out = third.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{allow}})
	if want := (workflows.Counts{Delivered: 1}); out[0].Counts != want || len(third.tasks(ann)) != 1 {
		t.Errorf("contact_policy allow: counts = %+v, %d tasks, want one delivered", out[0].Counts, len(third.tasks(ann)))
	}
}

// TestStoreUnavailableThenBack: with the contacts store (a real
// PostgreSQL) stopped, a campaign's message waits, saying why, and is sent
// once when the store is back.
func TestStoreUnavailableThenBack(t *testing.T) {
	pg := pgtest.New(t)
	store := openContacts(t, pg.NewDatabase(t))
	h := ledgerStack(t, store)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	var taskText, campaignReason string
	h.env.RegisterDelayedCallback(func() {
		if v, err := h.env.QueryWorkflowByID("outage/"+ann, workflows.QueryTask); err != nil {
			t.Errorf("task query: %v", err)
		} else {
			var p workflows.TaskProgress
			_ = v.Get(&p)
			taskText = p.Text
		}
		if v, err := h.env.QueryWorkflowByID("outage", workflows.QueryProgress); err != nil {
			t.Errorf("progress query: %v", err)
		} else {
			var p workflows.CampaignProgress
			_ = v.Get(&p)
			campaignReason = p.Reason
		}
		if err := pg.Restart(); err != nil {
			t.Errorf("restarting PostgreSQL: %v", err)
		}
	}, 20*time.Minute)
	in := messageCampaign("outage", person(ann, "Ann"))
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if want := (workflows.Counts{Delivered: 1}); out[0].Counts != want {
		t.Errorf("counts = %+v, want %+v", out[0].Counts, want)
	}
	if n := len(h.tasks(ann)); n != 1 {
		t.Errorf("%d tasks for Ann, want exactly 1", n)
	}
	r := h.message(t, "outage", ann)
	if r.SendAttempts < 3 || h.env.Now().Sub(r.QueuedAt) < 0 || r.QueuedAt.Sub(r.StartedAt) < 20*time.Minute {
		t.Errorf("Ann's run = %+v: want several attempts and the task queued after the store came back", r)
	}
	if !strings.Contains(taskText, "the contacts store is unavailable (") || !strings.Contains(taskText, "; retrying at ") || !strings.HasSuffix(taskText, " UTC") {
		t.Errorf("the task said %q while the store was down", taskText)
	}
	t.Logf("while the store was down: the task said %q; the campaign %q; %d send attempts", taskText, campaignReason, r.SendAttempts)
	if !strings.Contains(campaignReason, "the contacts store is unavailable") {
		t.Errorf("the campaign said %q while the store was down", campaignReason)
	}
	hist, err := store.History(t.Context(), ann)
	if err != nil || len(hist) != 1 || hist[0].Outcome != "delivered" {
		t.Errorf("history after the outage: %+v (%v)", hist, err)
	}
}

// TestTwoCampaignsAtOnce: two campaigns of one account started together
// over the same people: each person is contacted by exactly one of them,
// and skipped by the other, which names the one that did.
func TestTwoCampaignsAtOnce(t *testing.T) {
	store, _ := sqliteContacts(t)
	h := ledgerStack(t, store)
	people := []recipients.Recipient{person(ann, "Ann"), person(bob, "Bob"), person(cat, "Cat")}
	out := h.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{
		messageCampaign("left", people...), messageCampaign("right", people...)}})
	if d, s := out[0].Counts.Delivered+out[1].Counts.Delivered, out[0].Counts.Skipped+out[1].Counts.Skipped; d != 3 || s != 3 {
		t.Errorf("counts %+v and %+v: want 3 delivered and 3 skipped between them", out[0].Counts, out[1].Counts)
	}
	for _, u := range []string{ann, bob, cat} {
		if n := len(h.tasks(u)); n != 1 {
			t.Errorf("%s: %d tasks, want exactly 1", u, n)
		}
		l, r := h.message(t, "left", u), h.message(t, "right", u)
		if l.Outcome == r.Outcome {
			t.Errorf("%s: both campaigns ended %s", u, l.Outcome)
		}
		for _, skipped := range []struct {
			res   workflows.SendMessageResult
			other string
		}{{l, "right"}, {r, "left"}} {
			if skipped.res.Outcome == workflows.Skipped && !strings.Contains(skipped.res.Reason, `campaign "`+skipped.other+`"`) {
				t.Errorf("%s: skipped with %q, want it to name %s", u, skipped.res.Reason, skipped.other)
			}
		}
	}
}

// TestSequenceCampaignPolicy: a sequence campaign over a person another
// campaign messaged ends skipped at its first step, naming it, and sends
// nothing; with contact_policy allow, every step goes out.
func TestSequenceCampaignPolicy(t *testing.T) {
	store, _ := sqliteContacts(t)
	first := ledgerStack(t, store)
	first.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{messageCampaign("spring", person(ann, "Ann"))}})

	steps := []workflows.Step{
		{Type: workflows.StepConnect, Template: "Hi {{first_name}}"},
		{Type: workflows.StepWait, Duration: workflows.Duration(24 * time.Hour)},
		{Type: workflows.StepMessage, Template: "Thanks, {{first_name}}"},
	}
	second := ledgerStack(t, store)
	in := sequenceCampaign("intro", person(ann, "Ann"))
	in.Steps = steps
	out := second.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	r := second.sequenceResults(t)[ann]
	if out[0].Counts != (workflows.Counts{Skipped: 1}) || r.Outcome != workflows.Skipped || !strings.Contains(r.Reason, `step 1 (connect): already contacted by campaign "spring"`) {
		t.Errorf("counts %+v, sequence %+v: want skipped at step 1 naming spring", out[0].Counts, r)
	}
	if n := len(second.tasks(ann)); n != 0 {
		t.Errorf("%d tasks, want none", n)
	}

	third := ledgerStack(t, store)
	in = sequenceCampaign("intro-allow", person(ann, "Ann"))
	in.Steps, in.ContactPolicy = steps, &workflows.ContactPolicy{Scope: contacts.ScopeAllow}
	out = third.run(t, stackInput{Senders: []string{senders.Default}, Campaigns: []workflows.CampaignInput{in}})
	if got := types(third.tasks(ann)); out[0].Counts != (workflows.Counts{Delivered: 1}) || len(got) != 2 {
		t.Errorf("allow: counts %+v, tasks %v: want the request and the message", out[0].Counts, got)
	}
}
