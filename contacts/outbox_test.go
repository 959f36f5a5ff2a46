package contacts_test

import (
	"context"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
)

func outboxOf(t *testing.T, s contacts.Store) webhooks.Outbox {
	t.Helper()
	o, ok := contacts.OutboxOf(s)
	if !ok {
		t.Fatal("the store has no outbox")
	}
	return o
}

// TestOutboxEnqueueIsIdempotent: an event emitted twice is one row per
// endpoint, and the first body stays.
func TestOutboxEnqueueIsIdempotent(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, _ string) {
		ctx := context.Background()
		o := outboxOf(t, s)
		n, err := o.Enqueue(ctx, []string{"crm", "n8n"}, "evt_1", webhooks.MessageDelivered, []byte(`{"first":true}`), day0)
		if err != nil || n != 2 {
			t.Fatalf("Enqueue = %d, %v; want 2 new rows", n, err)
		}
		n, err = o.Enqueue(ctx, []string{"crm", "n8n"}, "evt_1", webhooks.MessageDelivered, []byte(`{"second":true}`), day0.Add(time.Minute))
		if err != nil || n != 0 {
			t.Fatalf("Enqueue again = %d, %v; want 0 new rows", n, err)
		}
		rows, err := o.Due(ctx, "crm", day0, 10)
		if err != nil || len(rows) != 1 {
			t.Fatalf("Due = %v, %v; want one row", rows, err)
		}
		r := rows[0]
		if string(r.Body) != `{"first":true}` || r.Status != webhooks.StatusPending || !r.CreatedAt.Equal(day0) ||
			!r.GiveUpAt.Equal(day0.Add(24*time.Hour)) || r.Type != webhooks.MessageDelivered {
			t.Fatalf("row %+v", r)
		}
	})
}

// TestOutboxLifecycle: due rows, a retry, a delivery, a give-up, the
// status, the list and the replay.
func TestOutboxLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, _ string) {
		ctx := context.Background()
		o := outboxOf(t, s)
		for i, id := range []string{"evt_a", "evt_b", "evt_c"} {
			if _, err := o.Enqueue(ctx, []string{"crm"}, id, webhooks.MessageDelivered, []byte(`{}`), day0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := o.Enqueue(ctx, []string{"other"}, "evt_z", webhooks.MessageFailed, []byte(`{}`), day0); err != nil {
			t.Fatal(err)
		}
		if rows, _ := o.Due(ctx, "crm", day0.Add(time.Second), 10); len(rows) != 2 || rows[0].EventID != "evt_a" || rows[1].EventID != "evt_b" {
			t.Fatalf("due at day0+1s: %v, want evt_a, evt_b", ids(rows))
		}
		now := day0.Add(3 * time.Second)
		must(t, o.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_a", Status: webhooks.StatusDelivered, Attempts: 1, At: now}))
		must(t, o.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_b", Status: webhooks.StatusPending, Attempts: 1,
			NextAttemptAt: now.Add(10 * time.Second), Error: "crm answered 503", At: now}))
		must(t, o.Record(ctx, webhooks.Attempt{Endpoint: "crm", EventID: "evt_c", Status: webhooks.StatusFailed, Attempts: 30, Error: "connection refused", At: now}))
		if rows, _ := o.Due(ctx, "crm", now, 10); len(rows) != 0 {
			t.Fatalf("due right after: %v, want none", ids(rows))
		}
		next, ok, err := o.NextDue(ctx, "crm")
		if err != nil || !ok || !next.Equal(now.Add(10*time.Second)) {
			t.Fatalf("NextDue = %s %v %v", next, ok, err)
		}
		st, err := o.Status(ctx)
		if err != nil || len(st) != 2 {
			t.Fatalf("Status = %+v, %v", st, err)
		}
		crm := st[0]
		if crm.Endpoint != "crm" || crm.Pending != 1 || crm.Delivered != 1 || crm.Failed != 1 || crm.OldestPending == nil ||
			crm.OldestPending.EventID != "evt_b" || crm.OldestPending.LastError != "crm answered 503" {
			t.Fatalf("crm's status %+v (oldest %+v)", crm, crm.OldestPending)
		}
		failed, err := o.List(ctx, "", webhooks.StatusFailed, 10)
		if err != nil || len(failed) != 1 || failed[0].EventID != "evt_c" || failed[0].Attempts != 30 {
			t.Fatalf("failed: %+v, %v", failed, err)
		}
		delivered, _ := o.List(ctx, "crm", webhooks.StatusDelivered, 10)
		if len(delivered) != 1 || !delivered[0].DeliveredAt.Equal(now) {
			t.Fatalf("delivered: %+v", delivered)
		}

		later := day0.Add(48 * time.Hour)
		if n, err := o.Replay(ctx, "", "", later); err != nil || n != 1 {
			t.Fatalf("Replay failed = %d, %v; want 1", n, err)
		}
		rows, _ := o.Due(ctx, "crm", later, 10)
		if len(rows) != 2 || rows[1].EventID != "evt_c" || rows[1].Attempts != 0 || !rows[1].GiveUpAt.Equal(later.Add(24*time.Hour)) {
			t.Fatalf("after replay, due: %+v", rows)
		}
		if n, err := o.Replay(ctx, "", "evt_a", later); err != nil || n != 1 {
			t.Fatalf("Replay evt_a = %d, %v; want 1", n, err)
		}
		if n, _ := o.Replay(ctx, "", "evt_nope", later); n != 0 {
			t.Fatalf("Replay of an unknown id touched %d rows", n)
		}
		// Prune drops delivered rows older than its time, nothing else.
		must(t, o.Record(ctx, webhooks.Attempt{Endpoint: "other", EventID: "evt_z", Status: webhooks.StatusDelivered, Attempts: 1, At: day0}))
		if n, err := o.Prune(ctx, day0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want evt_z only", n, err)
		}
		if rows, _ := o.List(ctx, "", "", 10); len(rows) != 3 {
			t.Fatalf("after Prune: %v", ids(rows))
		}
	})
}

func ids(rows []webhooks.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.EventID)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
