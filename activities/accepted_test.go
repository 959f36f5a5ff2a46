package activities_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/webhooks"
)

// TestAcceptedSurvivesAStoreDown: a connection check that finds the person
// connected while the contacts store is down (closed) returns the check's
// record unrecorded; RecordOutcome fails retryably while the store stays
// down, and once it is back writes the ledger row and connection.accepted,
// once however often it runs.
func TestAcceptedSurvivesAStoreDown(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Millisecond})
	defer sb.Close()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "contacts.db")
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1/unused", Secret: []byte("0123456789abcdef")}}}
	// open opens the store at path, and activities whose ledger it is,
	// writing events.
	open := func() (contacts.Store, webhooks.Outbox, *testsuite.TestActivityEnvironment) {
		st, err := contacts.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		ob, _ := contacts.OutboxOf(st)
		em := &webhooks.Emitter{Config: cfg, Outbox: ob}
		var suite testsuite.WorkflowTestSuite
		e := suite.NewTestActivityEnvironment()
		e.RegisterActivity(&activities.Activities{OutX: outxClient(t, sb.URL), PollInterval: 5 * time.Millisecond,
			PollBurst: time.Second, Contacts: activities.WithEvents(st, em), Events: em})
		return st, ob, e
	}
	st, _, e := open()
	var a *activities.Activities
	const person = "urn:li:person:ACoAAAnn"
	if !sb.Accept("sandbox", person) {
		t.Fatal("Accept: no team sandbox")
	}
	_ = st.Close() // down at the moment of the check
	in := activities.CheckConnectionInput{ProfileURN: person, CampaignID: "spring", Step: "2-wait_for_connection check 1"}
	v, err := e.ExecuteActivity(a.CheckConnection, in)
	if err != nil {
		t.Fatalf("a check that found the person connected, the store down: %v; want its result", err)
	}
	var res activities.CheckConnectionResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	rec := res.Unrecorded
	if !res.Connected || rec == nil || rec.Action != contacts.ActionCheck || rec.TaskID != res.TaskID || rec.RecipientURN != person ||
		rec.CampaignID != "spring" || rec.Step != in.Step || rec.Reason != "connected" {
		t.Fatalf("check: %+v (unrecorded %+v); want connected, with the record left to write", res, rec)
	}
	_, err = e.ExecuteActivity(a.RecordOutcome, *rec)
	if app := appError(t, err, activities.ErrContactsUnavailable); app.NonRetryable() {
		t.Fatalf("recording the check while the store is down must fail retryably: %v", app)
	}

	st, ob, e := open() // back
	defer st.Close()
	for range 2 { // a retry that follows a lost answer writes nothing new
		if _, err := e.ExecuteActivity(a.RecordOutcome, *rec); err != nil {
			t.Fatalf("recording the check with the store back: %v", err)
		}
	}
	rows, err := ob.List(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("outbox holds %d rows, want connection.accepted once", len(rows))
	}
	var ev webhooks.Event
	if err := json.Unmarshal(rows[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != webhooks.ConnectionAccepted || ev.RecipientURN != person || ev.Campaign != "spring" || ev.TaskID != res.TaskID ||
		ev.Outcome != "accepted" || ev.ID != webhooks.ID(testWorkflowID, webhooks.ConnectionAccepted, in.Step) {
		t.Errorf("event %+v", ev)
	}
	hist, err := st.History(ctx, person)
	if err != nil || len(hist) != 1 || hist[0].Action != contacts.ActionCheck || hist[0].Outcome != "delivered" || hist[0].TaskID != res.TaskID {
		t.Errorf("history %+v (%v): want the check recorded", hist, err)
	}

	// A check that finds the person not connected while the store is down
	// has no event to keep: it answers, recording nothing.
	_ = st.Close()
	v, err = e.ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{ProfileURN: "urn:li:person:ACoAABob", Step: "check 1"})
	if err != nil {
		t.Fatal(err)
	}
	var bob activities.CheckConnectionResult
	if err := v.Get(&bob); err != nil || bob.Connected || bob.Unrecorded != nil {
		t.Errorf("not connected, the store down: %+v (%v)", bob, err)
	}
}

// TestSlotEvents: AcquireSlot's answer names the events a task run
// writes itself that the endpoints take for its account and campaign: none
// without endpoints, message.unknown only for messages, none for reads.
func TestSlotEvents(t *testing.T) {
	single := webhooks.Endpoint{Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef")}
	spring := single
	spring.Campaigns = []string{"spring"}
	waits := single
	waits.Events = []string{"account.*"}
	em := func(eps ...webhooks.Endpoint) *webhooks.Emitter {
		return &webhooks.Emitter{Config: webhooks.Config{Endpoints: eps}, Outbox: nopOutbox{}}
	}
	for _, c := range []struct {
		name     string
		em       *webhooks.Emitter
		campaign string
		action   pacer.Action
		want     []string
	}{
		{"no endpoints", nil, "", pacer.ActionMessage, nil},
		{"empty config", em(), "", pacer.ActionMessage, nil},
		{"single message", em(single), "", pacer.ActionMessage, []string{webhooks.MessageUnknown, webhooks.AccountWaiting}},
		{"single connect", em(single), "", pacer.ActionConnect, []string{webhooks.AccountWaiting}},
		{"check", em(single), "spring", pacer.ActionLookup, nil},
		{"campaign filter, single send", em(spring), "", pacer.ActionMessage, nil},
		{"campaign filter, its campaign", em(spring), "spring", pacer.ActionMessage, []string{webhooks.MessageUnknown, webhooks.AccountWaiting}},
		{"account events only", em(waits), "", pacer.ActionMessage, []string{webhooks.AccountWaiting}},
	} {
		got := activities.SlotEvents(c.em, "", c.campaign, c.action)
		if len(got) != len(c.want) || (len(got) > 0 && (got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1])) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// nopOutbox is an outbox SlotEvents never writes to.
type nopOutbox struct{ webhooks.Outbox }
