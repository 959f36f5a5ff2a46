package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/webhooks"
)

// TestActivitiesEmitEvents: the activities that record a verdict or an
// outcome in the contacts store write its event to the outbox, once,
// with what the ledger knows of the run.
func TestActivitiesEmitEvents(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Millisecond})
	defer sb.Close()
	ctx := context.Background()
	st, err := contacts.Open(ctx, filepath.Join(t.TempDir(), "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: "http://127.0.0.1:1/unused", Secret: []byte("0123456789abcdef")}}}
	em := &webhooks.Emitter{Config: cfg, Outbox: ob}

	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(&activities.Activities{OutX: outxClient(t, sb.URL), PollInterval: 5 * time.Millisecond,
		PollBurst: time.Second, Contacts: activities.WithEvents(st, em)})
	var a *activities.Activities

	const excluded, jane = "urn:li:person:ACoAAExcluded", "urn:li:person:ACoAAJane"
	if err := st.AddDNC(ctx, contacts.DNCEntry{RecipientURN: excluded, Reason: "asked us to stop"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: excluded, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrExcluded {
		t.Fatalf("Send to a person on the list: %v", err)
	}

	v, err := e.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
	if err != nil {
		t.Fatal(err)
	}
	var sent activities.SendResult
	_ = v.Get(&sent)
	for range 2 { // a poll repeated (a retry after a crash) emits nothing new
		if _, err := e.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: sent.TaskID, Action: contacts.ActionMessage}); err != nil {
			t.Fatal(err)
		}
	}

	rows, err := ob.List(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]webhooks.Event{}
	for _, r := range rows {
		var ev webhooks.Event
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != r.EventID || ev.Type != r.Type {
			t.Fatalf("row %s/%s holds event %s/%s", r.EventID, r.Type, ev.ID, ev.Type)
		}
		byType[ev.Type] = ev
	}
	if len(rows) != 2 {
		t.Fatalf("outbox holds %d rows (%v), want recipient.excluded and message.delivered once each", len(rows), byType)
	}
	ex := byType[webhooks.RecipientExcluded]
	if ex.RecipientURN != excluded || ex.Campaign != "spring" || ex.Account != "default" || ex.Outcome != "excluded" || ex.Reason == "" {
		t.Errorf("recipient.excluded: %+v", ex)
	}
	d := byType[webhooks.MessageDelivered]
	if d.RecipientURN != jane || d.Campaign != "spring" || d.Account != "default" || d.Outcome != "delivered" || d.TaskID != sent.TaskID || d.Time.IsZero() {
		t.Errorf("message.delivered: %+v", d)
	}
}

// TestNoEndpointsNoEvents: without endpoints the store is not wrapped.
func TestNoEndpointsNoEvents(t *testing.T) {
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	if got := activities.WithEvents(st, &webhooks.Emitter{Outbox: ob}); got != st {
		t.Fatal("the store is wrapped without endpoints")
	}
}
