package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/inbound/api"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/workflows"
)

func TestHealthAndDocumentNeedNoToken(t *testing.T) {
	e := newEnv(t)
	if c := e.do("GET", "/healthz", "", nil); c.status != 200 || !strings.Contains(string(c.resp), `"ok"`) {
		t.Errorf("healthz: %d %s", c.status, c.resp)
	}
	c := e.do("GET", "/v1/openapi.yaml", "", nil)
	if c.status != 200 || string(c.resp) != string(api.OpenAPI) {
		t.Errorf("openapi.yaml: %d, %d bytes", c.status, len(c.resp))
	}
}

// The do-not-contact list through the API, by URN and by profile URL: what
// POST writes, GET reads back from the store, DELETE removes.
func TestDoNotContactList(t *testing.T) {
	e := newEnv(t)
	const urn = "urn:li:person:ACoAADnc01"
	added := decodeAs[api.DNCEntry](t, e.do("POST", "/v1/dnc", aliceToken, api.DNCRequest{Person: urn, Reason: "asked us to stop"}))
	if added.RecipientURN != urn || added.Reason != "asked us to stop" || added.AddedAt.IsZero() {
		t.Errorf("added %+v", added)
	}
	st := decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+url.PathEscape(urn), crmToken, nil))
	if !st.DoNotContact || st.DNCReason != "asked us to stop" || st.RecipientURN != urn || st.Actions == nil || st.Running == nil {
		t.Errorf("status after add: %+v", st)
	}
	rm := decodeAs[api.DNCRemoved](t, e.do("DELETE", "/v1/dnc/"+url.PathEscape(urn), aliceToken, nil))
	if !rm.Removed || rm.Person != urn {
		t.Errorf("removed %+v", rm)
	}
	if st := decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+url.PathEscape(urn), aliceToken, nil)); st.DoNotContact {
		t.Errorf("still on the list after DELETE: %+v", st)
	}
	if rm := decodeAs[api.DNCRemoved](t, e.do("DELETE", "/v1/dnc/"+url.PathEscape(urn), aliceToken, nil)); rm.Removed {
		t.Errorf("removed twice: %+v", rm)
	}

	// By profile URL: the entry holds the slug, and the person's status
	// finds it by URL or slug.
	profile := "https://www.linkedin.com/in/jane-doe-123/"
	added = decodeAs[api.DNCEntry](t, e.do("POST", "/v1/dnc", aliceToken, map[string]string{"person": profile}))
	if added.ProfileSlug != "jane-doe-123" || added.RecipientURN != "" {
		t.Errorf("added by URL: %+v", added)
	}
	for _, p := range []string{profile, "jane-doe-123"} {
		if st := decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+url.PathEscape(p), aliceToken, nil)); !st.DoNotContact || st.ProfileSlug != "jane-doe-123" {
			t.Errorf("status of %s: %+v", p, st)
		}
	}
	var n int
	_ = e.store.ListDNC(context.Background(), func(contacts.DNCEntry) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d entries in the store, want 1 (the slug's)", n)
	}
	logs := e.logs.String()
	for _, want := range []string{`"token":"alice"`, `"token":"crm"`, `"route":"/v1/dnc"`, `"route":"/v1/people/{person}"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

// A person's status lists the ledger's actions on them.
func TestPersonStatusShowsTheLedger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const urn = "urn:li:person:ACoAALedger1"
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	v, err := e.store.Claim(ctx, contacts.Claim{Account: "alice", RecipientURN: urn, Action: contacts.ActionMessage,
		CampaignID: "spring", WorkflowID: "spring/" + urn, RunID: "r1", At: at})
	if err != nil || !v.OK {
		t.Fatalf("claim: %+v %v", v, err)
	}
	if err := e.store.Finish(ctx, contacts.Result{WorkflowID: "spring/" + urn, Action: contacts.ActionMessage, TaskID: "task-1",
		Outcome: "delivered", At: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	st := decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+urn, aliceToken, nil))
	if len(st.Actions) != 1 {
		t.Fatalf("actions %+v, want the one message", st.Actions)
	}
	a := st.Actions[0]
	if a.Action != "message" || a.CampaignID != "spring" || a.Outcome != "delivered" || a.TaskID != "task-1" || a.Account != "alice" || !a.ClaimedAt.Equal(at) {
		t.Errorf("action %+v", a)
	}
	if st.DoNotContact || len(st.Running) != 0 {
		t.Errorf("status %+v", st)
	}
}

// A person's status lists their runs still running, by the RecipientUrn
// search attribute, with their campaign.
func TestPersonStatusShowsRunningRuns(t *testing.T) {
	e := newEnv(t)
	const urn = "urn:li:person:ACoAARunning1"
	id := "spring-running/" + urn
	_, err := dev.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: e.queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.RecipientURNAttribute.ValueSet(urn), workflows.CampaignIDAttribute.ValueSet("spring-running")),
	}, workflows.SequenceWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dev.Client.TerminateWorkflow(context.Background(), id, "", "test over") }()
	var st api.PersonStatus
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if st = decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+urn, aliceToken, nil)); len(st.Running) > 0 {
			break
		}
	}
	if len(st.Running) != 1 || st.Running[0].WorkflowID != id || st.Running[0].CampaignID != "spring-running" || st.Running[0].Type != workflows.SequenceWorkflow {
		t.Errorf("running: %+v", st.Running)
	}
}

// A stop in an account whose pacer does not run starts the pacer with the
// stop (the starter's rule, now package stops); the answer names it.
func TestStopInAnAccountStartsItsPacer(t *testing.T) {
	e := newEnv(t)
	const urn = "urn:li:person:ACoAAStop01"
	res := decodeAs[api.StopResponse](t, e.do("POST", "/v1/stops", crmToken,
		api.StopRequest{Person: urn, Scope: api.ScopeAccount, Account: "alice", Reason: "replied in the CRM"}))
	id := pacer.WorkflowID(e.queue, "alice")
	if len(res.Told) != 1 || res.Told[0].WorkflowID != id || !res.Told[0].StartedPacer || res.Told[0].Account != "alice" || res.RecipientURN != urn {
		t.Fatalf("response %+v", res)
	}
	d, err := dev.Client.DescribeWorkflow(context.Background(), id, "")
	if err != nil || d.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("pacer %s: %v %v", id, d, err)
	}
	if sent := e.spy.Sent(); len(sent) != 2 || !strings.HasPrefix(sent[0], "update stop-recipient") || !strings.HasPrefix(sent[1], "signal-with-start stop-recipient") {
		t.Errorf("sent %v", sent)
	}

	// The pacer runs, but no worker does: the update is not answered, and
	// the stop goes as a signal, which the pacer applies when a worker
	// runs it. An everywhere stop reaches it the same way.
	e.stopper.UpdateWait = time.Second
	res = decodeAs[api.StopResponse](t, e.do("POST", "/v1/stops", crmToken, api.StopRequest{Person: urn, Scope: api.ScopeAccount, Account: "alice"}))
	if len(res.Told) != 1 || res.Told[0].StartedPacer || !strings.HasPrefix(res.Told[0].Result, "sent as a signal") {
		t.Errorf("second stop: %+v", res)
	}
	res = decodeAs[api.StopResponse](t, e.do("POST", "/v1/stops", crmToken, api.StopRequest{Person: "urn:li:person:ACoAAStop02", Scope: api.ScopeEverywhere}))
	if len(res.Told) != 1 || res.Told[0].WorkflowID != id || res.DoNotContact == nil {
		t.Errorf("everywhere: %+v", res)
	}
	var signals int
	for _, s := range e.spy.Sent() {
		signals += b2i(strings.HasPrefix(s, "signal stop-recipient "+id))
	}
	if signals != 2 {
		t.Errorf("sent %v, want two stop signals after the unanswered updates", e.spy.Sent())
	}
	_ = dev.Client.TerminateWorkflow(context.Background(), id, "", "test over")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Everywhere puts the person on the list, and tells every running pacer
// (none on this test's queue).
func TestStopEverywhereWritesTheList(t *testing.T) {
	e := newEnv(t)
	const urn = "urn:li:person:ACoAAEvery1"
	res := decodeAs[api.StopResponse](t, e.do("POST", "/v1/stops", aliceToken, api.StopRequest{Person: urn, Scope: api.ScopeEverywhere, Reason: "unsubscribe"}))
	if res.DoNotContact == nil || res.DoNotContact.RecipientURN != urn || len(res.Told) != 0 || len(res.Notes) != 1 {
		t.Errorf("response %+v", res)
	}
	st := decodeAs[api.PersonStatus](t, e.do("GET", "/v1/people/"+urn, aliceToken, nil))
	if !st.DoNotContact || st.DNCReason != "unsubscribe" {
		t.Errorf("status %+v", st)
	}
	// A slug nobody knows: on the list by slug, no run told.
	res = decodeAs[api.StopResponse](t, e.do("POST", "/v1/stops", aliceToken, api.StopRequest{Person: "linkedin.com/in/unknown-person", Scope: api.ScopeEverywhere}))
	if res.DoNotContact == nil || res.DoNotContact.ProfileSlug != "unknown-person" || res.RecipientURN != "" {
		t.Errorf("by slug: %+v", res)
	}
}

// A token is revoked by deleting its line, and a new one works at once:
// the file is re-read when it changes. A broken file refuses every call.
func TestTokensFileIsReread(t *testing.T) {
	e := newEnv(t)
	body := api.DNCRequest{Person: "urn:li:person:ACoAATok01"}
	if c := e.do("POST", "/v1/dnc", oldToken, body); c.status != 200 {
		t.Fatalf("old token before revoking: %d %s", c.status, c.resp)
	}
	const newToken = "new-0000000000000000000000000000000001"
	writeFile(t, e.tokens, "alice "+aliceToken+"\nnew "+newToken+"\n")
	if c := e.do("POST", "/v1/dnc", oldToken, body); c.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d %s", c.status, c.resp)
	}
	if c := e.do("POST", "/v1/dnc", newToken, body); c.status != 200 {
		t.Errorf("new token: %d %s", c.status, c.resp)
	}
	writeFile(t, e.tokens, "alice "+aliceToken+"\nnew short\n")
	c := e.do("POST", "/v1/dnc", aliceToken, body)
	if c.status != http.StatusServiceUnavailable || e.errorOf(c).Code != api.CodeUnavailable {
		t.Errorf("broken file: %d %s", c.status, c.resp)
	}
	if strings.Contains(e.logs.String(), "short") {
		t.Errorf("the log shows a token from the broken file:\n%s", e.logs.String())
	}
	if !strings.Contains(e.logs.String(), `"token":"new"`) {
		t.Errorf("the new token's calls are not logged by name:\n%s", e.logs.String())
	}
}

// The Go client speaks the same contract.
func TestClient(t *testing.T) {
	e := newEnv(t)
	c := api.NewClient(e.url, aliceToken)
	ctx := context.Background()
	if _, err := c.AddDNC(ctx, api.DNCRequest{Person: "urn:li:person:ACoAAClient1", Reason: "client"}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Person(ctx, "urn:li:person:ACoAAClient1")
	if err != nil || !st.DoNotContact {
		t.Fatalf("person: %+v %v", st, err)
	}
	_, err = c.Stop(ctx, api.StopRequest{Person: "urn:li:person:ACoAAClient1", Scope: api.ScopeCampaign, Campaign: "nope"})
	var ae *api.Error
	if !asError(err, &ae) || ae.Status != 404 || ae.Code != api.CodeNotFound {
		t.Errorf("stop in a campaign that does not exist: %v", err)
	}
	if rm, err := c.RemoveDNC(ctx, "urn:li:person:ACoAAClient1"); err != nil || !rm.Removed {
		t.Errorf("remove: %+v %v", rm, err)
	}
	if _, err := api.NewClient(e.url, "bad-token-000000000000000000").Person(ctx, "x"); !asError(err, &ae) || ae.Status != 401 {
		t.Errorf("bad token: %v", err)
	}
}

func asError(err error, target **api.Error) bool {
	e, ok := err.(*api.Error)
	if ok {
		*target = e
	}
	return ok
}
