package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/inbound/api"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/webhooks"
	"github.com/outpacehq/outpace/workflows"
)

// startInbound builds the inbound binary and runs it on the scenario's
// queue and contacts store, with one token ("receiver"); it returns a
// client of it and the process.
func startInbound(t *testing.T, r *paceRun) (*api.Client, *process) {
	t.Helper()
	const token = "receiver-5b1f0c2e9a7d4c3b8e6f1a2d"
	tokens := r.file("inbound-tokens", "receiver "+token+"\n")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(filepath.Join(r.s.bin, "inbound"), "--addr", addr, "--tokens-file", tokens, "--task-queue", r.queue)
	cmd.Env = r.s.env(r.env...)
	p, err := devstack.StartProcess(cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if err := p.WaitFor("inbound listening", 30*time.Second); err != nil {
		t.Fatalf("inbound: %v\n%s", err, p.Output())
	}
	return api.NewClient("http://"+addr, token), p
}

// A sequence (connect → wait_for_connection → message) where a call to
// the inbound server, after the connection request, stops one person: the
// real worker, starter and inbound binaries on the dev server. The person
// accepts, but their follow-up message is never sent; a second person is
// stopped the same way with starter campaign stop-recipient (the same rule,
// package stops); the third, who is not stopped, gets their message.
func TestInboundStopEndsASequence(t *testing.T) {
	s := up(t)
	t.Parallel()
	const team = "inbound"
	r := newPaceRun(t, s, "e2e-inbound", outxtest.Options{
		Teams:       []outxtest.Team{{Name: team, APIKey: apiKey}},
		TaskDelay:   300 * time.Millisecond,
		AcceptDelay: 3 * time.Second,
	}, "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}"))
	c, inbound := startInbound(t, r)

	stopped, byStarter, kept := outxtest.Accepts+"-inbound-stop", outxtest.Accepts+"-inbound-starter", outxtest.Accepts+"-inbound-keep"
	r.file("people.csv", "recipient_urn,first_name\n"+stopped+",Sam\n"+byStarter+",Stan\n"+kept+",Kim\n")
	const id = "e2e-inbound-stop"
	r.startCampaign("--file", r.file("seq.yaml", `name: Inbound stop
id: `+id+`
recipients: people.csv
`+anytime+`steps:
  - connect: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {check_every: 10s, timeout: 60s}
  - message: "Thanks for connecting, {{first_name}}!"
`))

	// The connection request to the person is done: they have not
	// accepted yet (AcceptDelay), and the receiver tells outpace to stop.
	requested := func(urn string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			reqs := r.sandbox.ConnectionRequestsTo(urn)
			if len(reqs) == 1 && !reqs[0].FinishedAt.IsZero() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no finished connection request to %s within a minute; tasks: %+v", urn, r.sandbox.Tasks())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	requested(stopped)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Stop(ctx, api.StopRequest{Person: stopped, Scope: api.ScopeCampaign, Campaign: id, Reason: "replied in the CRM"})
	if err != nil {
		t.Fatalf("stop: %v\ninbound:\n%s", err, inbound.Output())
	}
	if len(res.Told) != 1 || res.Told[0].WorkflowID != id || !strings.Contains(res.Told[0].Result, "stopped") {
		t.Errorf("stop answered %+v", res)
	}

	requested(byStarter)
	if res := s.run(t, "starter", "campaign", "stop-recipient", "--task-queue", r.queue, "--campaign", id, "--urn", byStarter, "--reason", "replied"); res.code != 0 ||
		!strings.Contains(res.stdout, "Stopped "+byStarter+" in campaign "+id) {
		t.Errorf("starter stop-recipient: %s", res)
	}

	final, err := s.finalProgress(t, id, 2*time.Minute)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	if want := (workflows.Counts{Delivered: 1, Stopped: 2}); final.Counts != want {
		t.Errorf("counts %+v, want %+v", final.Counts, want)
	}
	messagesTo := func(urn string) (n int) {
		for _, task := range r.teamTasks(team) {
			n += b2i(task.Type == outxtest.TypeSendMessage && task.RecipientURN == urn)
		}
		return n
	}
	for _, urn := range []string{stopped, byStarter} {
		if n := messagesTo(urn); n != 0 {
			t.Errorf("%s was stopped after the connection request, yet received %d message tasks", urn, n)
		}
	}
	if n := messagesTo(kept); n != 1 {
		t.Errorf("%s, not stopped, received %d message tasks, want 1", kept, n)
	}

	// Their status: the ledger has the connection request, nothing runs.
	// A context of its own: the campaign's end may have taken longer than
	// the stop's.
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	st, err := c.Person(pctx, stopped)
	if err != nil {
		t.Fatal(err)
	}
	connects := 0
	for _, a := range st.Actions {
		connects += b2i(a.Action == "connect" && a.CampaignID == id)
	}
	if connects != 1 || len(st.Running) != 0 || st.DoNotContact {
		t.Errorf("status of %s: %+v", stopped, st)
	}
	if out := inbound.Output(); !strings.Contains(out, `"token": "receiver"`) {
		t.Errorf("the inbound log does not name the token:\n%s", out)
	} else if strings.Contains(out, "5b1f0c2e9a7d4c3b8e6f1a2d") {
		t.Errorf("the inbound log shows the token:\n%s", out)
	}
}

// TestReceiverStopsOnConnectionAccepted: the loop a CRM closes. The worker
// sends its events to a real receiver, which verifies each signature and,
// on "connection accepted" for a person its team now handles, calls the
// inbound API to stop that person's sequence: the sequence's message,
// after a wait, is never sent to them; the other person, who also
// accepts, gets theirs.
func TestReceiverStopsOnConnectionAccepted(t *testing.T) {
	s := up(t)
	t.Parallel()
	const team = "crm-loop"
	r := newPaceRun(t, s, "e2e-crm-loop", outxtest.Options{
		Teams:       []outxtest.Team{{Name: team, APIKey: apiKey}},
		TaskDelay:   300 * time.Millisecond,
		AcceptDelay: 2 * time.Second,
	}, "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}"))
	c, _ := startInbound(t, r)

	handled, kept := outxtest.Accepts+"-crm-handled", outxtest.Accepts+"-crm-kept"
	const id = "e2e-crm-loop"
	secret := []byte("e2e-crm-loop-secret-3f9a1c7d")
	var mu sync.Mutex
	var accepted []string
	var stops []error
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := webhooks.Verify(secret, req.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e webhooks.Event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if e.Type == webhooks.ConnectionAccepted {
			var err error
			if e.RecipientURN == handled {
				ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
				_, err = c.Stop(ctx, api.StopRequest{Person: e.RecipientURN, Scope: api.ScopeCampaign, Campaign: e.Campaign,
					Reason: "accepted: the account executive takes over"})
				cancel()
			}
			mu.Lock()
			accepted, stops = append(accepted, e.RecipientURN), append(stops, err)
			mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway) // delivered again
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	r.file("crm.secret", string(secret)+"\n")
	hooks := r.file("webhooks.yaml", "webhooks:\n  - name: crm\n    url: "+rcv.URL+"/outpace\n    secret_file: crm.secret\n    events: [connection.accepted]\n")
	r.restartWorker("OUTPACE_WEBHOOKS_FILE=" + hooks)

	r.file("people.csv", "recipient_urn,first_name\n"+handled+",Hal\n"+kept+",Kim\n")
	r.startCampaign("--file", r.file("seq.yaml", `name: CRM loop
id: `+id+`
recipients: people.csv
`+anytime+`steps:
  - connect: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {check_every: 10s, timeout: 2m}
  - wait: 20s
  - message: "Thanks for connecting, {{first_name}}!"
`))
	final, err := s.finalProgress(t, id, 3*time.Minute)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("connection.accepted received for %v; stop calls: %v", accepted, stops)
	if !slices.Contains(accepted, handled) || !slices.Contains(accepted, kept) {
		t.Errorf("the receiver got connection.accepted for %v; want both people", accepted)
	}
	if want := (workflows.Counts{Delivered: 1, Stopped: 1}); final.Counts != want {
		t.Errorf("counts %+v, want %+v", final.Counts, want)
	}
	messagesTo := func(urn string) (n int) {
		for _, task := range r.teamTasks(team) {
			n += b2i(task.Type == outxtest.TypeSendMessage && task.RecipientURN == urn)
		}
		return n
	}
	if n := messagesTo(handled); n != 0 {
		t.Errorf("%s, stopped by the receiver on connection accepted, received %d messages", handled, n)
	}
	if n := messagesTo(kept); n != 1 {
		t.Errorf("%s received %d messages, want 1", kept, n)
	}
}
