package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// hookReceiver is a real receiver on a fixed port: it verifies every
// delivery's signature, deduplicates on the event id, and can be taken
// down (its listener closed: connections refused) and brought back.
type hookReceiver struct {
	t      *testing.T
	addr   string
	secret []byte

	mu       sync.Mutex
	srv      *http.Server
	posts    int                       // verified requests, duplicates included
	bad      []string                  // refused: bad signature or body
	events   map[string]webhooks.Event // by id
	received map[string]time.Time      // first receipt, by id
}

func newHookReceiver(t *testing.T, secret []byte) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), secret: secret,
		events: map[string]webhooks.Event{}, received: map[string]time.Time{}}
	rc.up()
	t.Cleanup(rc.down)
	return rc
}

func (rc *hookReceiver) up() {
	rc.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago
		if ln, err = net.Listen("tcp", rc.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		rc.t.Fatalf("receiver: %v", err)
	}
	srv := &http.Server{Handler: rc}
	rc.mu.Lock()
	rc.srv = srv
	rc.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (rc *hookReceiver) down() {
	rc.mu.Lock()
	srv := rc.srv
	rc.srv = nil
	rc.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := webhooks.Verify(rc.secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0); err != nil {
		rc.bad = append(rc.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil || e.ID != r.Header.Get(webhooks.HeaderEventID) {
		rc.bad = append(rc.bad, fmt.Sprintf("body %s, id header %q", body, r.Header.Get(webhooks.HeaderEventID)))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.posts++
	if _, dup := rc.events[e.ID]; !dup {
		rc.events[e.ID] = e
		rc.received[e.ID] = time.Now()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *hookReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.events)
}

// TestWebhooksReceiverDown: a receiver verifies every delivery of a
// campaign's events; taken down for two minutes in the middle of the
// campaign, it then receives every event, none lost, each id once after
// deduplication, and the campaign never waited for it.
func TestWebhooksReceiverDown(t *testing.T) {
	s := up(t)
	t.Parallel()
	secret := []byte("e2e-webhook-secret-7c1d2a9f")
	rc := newHookReceiver(t, secret)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crm.secret"), append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "webhooks.yaml")
	if err := os.WriteFile(file, []byte("webhooks:\n  - name: crm\n    url: http://"+rc.addr+"/outpace\n    secret_file: crm.secret\n    events: [message.*, recipient.*]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = s.lane(t, "e2e-webhooks", sandboxOptions(), "--webhooks-file", file)

	const n = 24
	id := "e2e-webhooks-down"
	args := []string{"campaign", "start", "--id", id, "--template", "Hello there", "--anytime", "--min-gap", "5s", "--max-gap", "5s", "--hourly-cap", "0", "--daily-cap", "0"}
	want := map[string]bool{}
	for i := range n {
		urn := fmt.Sprintf("urn:li:person:ACoAAE2eHook%02d", i)
		want[urn] = true
		args = append(args, "--to", urn)
	}
	began := time.Now()
	if r := s.run(t, "starter", args...); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	waitUntil(t, time.Minute, func() bool { return rc.count() >= 3 })
	rc.down()
	downAt := time.Now()
	atDown := rc.count()
	time.Sleep(2 * time.Minute)
	rc.up()
	upAt := time.Now()
	// The machine may be loaded: wait for the campaign's end by its
	// progress, saying where it is, and show the worker's log if it hangs.
	for deadline, last := time.Now().Add(10*time.Minute), time.Now(); ; time.Sleep(time.Second) {
		p := s.progress(t, id)
		if p.Status == workflows.StatusFinished {
			if p.Counts.Delivered != n {
				t.Fatalf("campaign finished with %+v", p.Counts)
			}
			break
		}
		if time.Since(last) > 30*time.Second {
			t.Logf("campaign: %s %s, %d of %d done, receiver has %d events", p.Status, p.Reason, p.Counts.Done(), n, rc.count())
			last = time.Now()
		}
		if time.Now().After(deadline) {
			out := s.worker.Output()
			t.Fatalf("campaign not finished after 10 minutes: %+v\nworker log (end):\n%s", p, out[max(0, len(out)-6000):])
		}
	}
	d, err := describe(context.Background(), s.client, id, "")
	if err != nil {
		t.Fatal(err)
	}
	campaignEnd := d.GetWorkflowExecutionInfo().GetCloseTime().AsTime()
	if campaignEnd.After(upAt) {
		t.Logf("the campaign ended after the receiver came back (%s): the test's outage did not cover its end", campaignEnd.Sub(upAt))
	}

	waitUntil(t, 6*time.Minute, func() bool { return rc.count() >= n })
	allIn := time.Now()
	time.Sleep(3 * time.Second) // a late duplicate would show now

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("the receiver refused %d deliveries: %v", len(rc.bad), rc.bad)
	}
	if len(rc.events) != n {
		t.Fatalf("the receiver has %d events, want %d", len(rc.events), n)
	}
	for _, e := range rc.events {
		if e.Type != webhooks.MessageDelivered || !want[e.RecipientURN] || e.Campaign != id || e.Outcome != "delivered" || e.TaskID == "" || e.Account == "" {
			t.Errorf("event %+v", e)
		}
		delete(want, e.RecipientURN)
	}
	if len(want) != 0 {
		t.Fatalf("no event for %v", want)
	}

	// The outbox's own account of it.
	st, err := contacts.Open(context.Background(), s.contactsDB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, _ := contacts.OutboxOf(st)
	rows, err := ob.List(context.Background(), "crm", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	attempts, retried := 0, 0
	var maxDelay time.Duration
	for _, r := range rows {
		if r.Status != webhooks.StatusDelivered {
			t.Errorf("row %s is %s after %d attempts: %s", r.EventID, r.Status, r.Attempts, r.LastError)
		}
		attempts += r.Attempts
		if r.Attempts > 1 {
			retried++
		}
		maxDelay = max(maxDelay, r.DeliveredAt.Sub(r.CreatedAt))
	}
	if len(rows) != n {
		t.Fatalf("outbox rows %d, want %d", len(rows), n)
	}
	r := s.run(t, "starter", "webhooks", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "crm") {
		t.Errorf("webhooks status: %s", r)
	}
	t.Logf("delivery figures: %d events (%d received before the outage), %d delivery attempts (%d events retried), %d verified POSTs at the receiver (%d duplicates), max delay from write to delivery %s; receiver down %s–%s, campaign finished %s after its start (%s relative to the receiver's return), all events in %s after it came back",
		n, atDown, attempts, retried, rc.posts, rc.posts-n, maxDelay.Round(time.Second),
		downAt.Sub(began).Round(time.Second), upAt.Sub(began).Round(time.Second),
		campaignEnd.Sub(began).Round(time.Second), campaignEnd.Sub(upAt).Round(time.Second), allIn.Sub(upAt).Round(time.Second))
	if retried == 0 {
		t.Errorf("no event was retried: the outage missed the campaign")
	}
}
