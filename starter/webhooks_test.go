package main

import (
	"context"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
)

func TestWebhooksStatusFailedReplay(t *testing.T) {
	db := contactsDBFile(t)
	st := openStore(t, db)
	ob, _ := contacts.OutboxOf(st)
	ctx := context.Background()
	at := time.Now().Add(-25 * time.Hour)
	for _, id := range []string{"evt_ok", "evt_waiting", "evt_gone"} {
		if _, err := ob.Enqueue(ctx, []string{"crm"}, id, webhooks.MessageDelivered, []byte(`{}`), at); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ob.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_ok", Status: webhooks.StatusDelivered, Attempts: 1, At: at}))
	must(ob.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_waiting", Status: webhooks.StatusPending, Attempts: 3,
		NextAttemptAt: time.Now().Add(time.Minute), Error: "crm answered 503 Service Unavailable", At: at}))
	must(ob.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_gone", Status: webhooks.StatusFailed, Attempts: 33,
		Error: "dial tcp 10.0.0.1:443: connection refused", At: at}))

	code, out, errOut := runStarter(t, "webhooks", "status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "webhooks status", out, "ENDPOINT  PENDING  DELIVERED  FAILED  OLDEST PENDING",
		"crm       1        1          1       evt_waiting message.delivered, written 25h0m0s ago, 3 attempts", "last error: crm answered 503")

	code, out, _ = runStarter(t, "webhooks", "failed")
	if code != 0 {
		t.Fatalf("failed: exit %d", code)
	}
	wantLines(t, "webhooks failed", out, "evt_gone", "33", "connection refused", "1 failed event(s)")

	if code, _, errOut := runStarter(t, "webhooks", "replay"); code != 2 {
		t.Fatalf("replay without --id or --failed: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runStarter(t, "webhooks", "replay", "--id", "evt_nope"); code != 1 {
		t.Fatalf("replay of an unknown id: exit %d, %s", code, errOut)
	}
	code, out, errOut = runStarter(t, "webhooks", "replay", "--failed")
	if code != 0 {
		t.Fatalf("replay --failed: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "replay", out, "1 delivery(ies) pending again")
	if due, _ := ob.Due(ctx, "crm", time.Now(), 10); len(due) != 1 || due[0].EventID != "evt_gone" {
		t.Fatalf("due after replay: %+v", due)
	}
}
