package activities_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/webhooks"
)

// receiver is a real HTTP receiver that verifies every signature, records
// each verified event, and can be made to answer 503.
type receiver struct {
	t      *testing.T
	secret []byte
	down   atomic.Bool
	mu     sync.Mutex
	got    []webhooks.Event
	bad    int
	calls  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := webhooks.Verify(rc.secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil || e.ID != r.Header.Get(webhooks.HeaderEventID) || e.Type != r.Header.Get(webhooks.HeaderEventType) {
		rc.bad++
		http.Error(w, "headers and body disagree", http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, e)
}

func (rc *receiver) events() []webhooks.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhooks.Event(nil), rc.got...)
}

// clock is a settable clock for the outbox's backoff.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type webhookRig struct {
	rc     *receiver
	store  contacts.Store
	outbox webhooks.Outbox
	clock  *clock
	wh     *activities.Webhooks
	env    *testsuite.TestActivityEnvironment
}

func newWebhookRig(t *testing.T) *webhookRig {
	t.Helper()
	secret := []byte("test-secret-0123456789abcdef")
	rc := &receiver{t: t, secret: secret}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	st, err := contacts.Open(context.Background(), filepath.Join(t.TempDir(), "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ob, _ := contacts.OutboxOf(st)
	cfg := webhooks.Config{Endpoints: []webhooks.Endpoint{{Name: "crm", URL: srv.URL, Secret: secret}}}
	clk := &clock{t: time.Now().Truncate(time.Second)}
	bell := &webhooks.Bell{}
	wh := &activities.Webhooks{
		Config: cfg, Outbox: ob, Poster: &webhooks.Poster{}, Bell: bell, Now: clk.Now,
		Emitter:   &webhooks.Emitter{Config: cfg, Outbox: ob, Now: clk.Now, Wake: bell.Ring},
		RunFor:    30 * time.Millisecond,
		LookEvery: 10 * time.Millisecond,
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(wh)
	return &webhookRig{rc: rc, store: st, outbox: ob, clock: clk, wh: wh, env: env}
}

func (g *webhookRig) emit(t *testing.T, id string) {
	t.Helper()
	err := g.wh.Emitter.Emit(context.Background(), webhooks.Event{ID: id, Type: webhooks.MessageDelivered, Account: "default",
		RecipientURN: "urn:li:person:ACoAA" + id, Outcome: "delivered"})
	if err != nil {
		t.Fatal(err)
	}
}

func (g *webhookRig) deliver(t *testing.T) activities.DeliverResult {
	t.Helper()
	v, err := g.env.ExecuteActivity(g.wh.DeliverWebhooks, activities.DeliverInput{Endpoint: "crm"})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.DeliverResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDeliverWebhooks(t *testing.T) {
	g := newWebhookRig(t)
	g.emit(t, "evt_1")
	g.emit(t, "evt_2")
	g.emit(t, "evt_1") // the same event again
	res := g.deliver(t)
	if res.Delivered != 2 || res.Retries != 0 || res.Pending {
		t.Fatalf("result %+v, want 2 delivered, nothing pending", res)
	}
	got := g.rc.events()
	if len(got) != 2 || got[0].ID == got[1].ID || g.rc.bad != 0 {
		t.Fatalf("the receiver got %+v (%d refused)", got, g.rc.bad)
	}
	st, _ := g.outbox.Status(context.Background())
	if len(st) != 1 || st[0].Delivered != 2 || st[0].Pending != 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestDeliverWebhooksBacksOffThenGivesUp: with the receiver down, an
// event is tried at 10 s, 20 s, 40 s... after the previous attempt, at most
// an hour apart, and failed at 24 h; replayed, it is delivered.
func TestDeliverWebhooksBacksOffThenGivesUp(t *testing.T) {
	g := newWebhookRig(t)
	g.rc.down.Store(true)
	created := g.clock.Now()
	g.emit(t, "evt_down")
	var gaps []time.Duration
	last := created
	for i := 0; i < 60; i++ {
		res := g.deliver(t)
		if res.Failed == 1 {
			break
		}
		if res.Retries != 1 || !res.Pending || res.LastError == "" {
			t.Fatalf("attempt %d: %+v, want one retry", i+1, res)
		}
		gaps = append(gaps, res.NextDue.Sub(last))
		// Nothing is sent before its time.
		g.clock.Add(res.NextDue.Sub(g.clock.Now()) - time.Second)
		if again := g.deliver(t); again.Retries+again.Delivered+again.Failed != 0 {
			t.Fatalf("an attempt before the backoff's end: %+v", again)
		}
		g.clock.Add(time.Second)
		last = res.NextDue
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second}
	for i, w := range want {
		if gaps[i] != w {
			t.Fatalf("backoffs %v, want them to start %v", gaps, want)
		}
	}
	for _, gap := range gaps {
		if gap > time.Hour {
			t.Fatalf("a backoff of %s: more than an hour", gap)
		}
	}
	if took := g.clock.Now().Sub(created); took < 24*time.Hour || took > 24*time.Hour+time.Minute {
		t.Fatalf("gave up after %s, want 24h", took)
	}
	rows, _ := g.outbox.List(context.Background(), "crm", webhooks.StatusFailed, 10)
	if len(rows) != 1 || rows[0].Attempts != len(gaps)+1 || rows[0].LastError == "" {
		t.Fatalf("failed rows %+v (after %d attempts)", rows, len(gaps)+1)
	}
	t.Logf("%d attempts over 24 h, backoffs %v", rows[0].Attempts, gaps)

	g.rc.down.Store(false)
	if n, err := g.outbox.Replay(context.Background(), "", "", g.clock.Now()); err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	if res := g.deliver(t); res.Delivered != 1 {
		t.Fatalf("after replay: %+v", res)
	}
	if got := g.rc.events(); len(got) != 1 || got[0].ID != "evt_down" {
		t.Fatalf("the receiver got %+v", got)
	}
}
