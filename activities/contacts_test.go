package activities_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// The activity environment's runs all have this workflow id.
const testWorkflowID = "default-test-workflow-id"

const (
	jane = "urn:li:person:ACoAAJane"
	john = "urn:li:person:ACoAAJohn"
)

// ledgerEnv is the sandbox and a real SQLite store in a temporary
// directory, with activities that use both.
type ledgerEnv struct {
	sb    *outxtest.Server
	store contacts.Store
	env   *testsuite.TestActivityEnvironment
}

func newLedgerEnv(t *testing.T) *ledgerEnv {
	t.Helper()
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 20 * time.Millisecond})
	t.Cleanup(sb.Close)
	store, err := contacts.Open(t.Context(), filepath.Join(t.TempDir(), "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(&activities.Activities{OutX: outxClient(t, sb.URL), Contacts: store,
		PollInterval: 5 * time.Millisecond, PollBurst: 200 * time.Millisecond})
	return &ledgerEnv{sb: sb, store: store, env: e}
}

// otherRun claims the person for another campaign's run, as another
// worker would have.
func (l *ledgerEnv) otherRun(t *testing.T, campaign, urn string) contacts.Verdict {
	t.Helper()
	v, err := l.store.Claim(t.Context(), contacts.Claim{Account: "default", RecipientURN: urn, Action: contacts.ActionMessage,
		CampaignID: campaign, WorkflowID: campaign + "/" + urn, RunID: "r1", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func appError(t *testing.T, err error, typ string) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != typ {
		t.Fatalf("err = %v, want a %s", err, typ)
	}
	return app
}

// TestSendToExcludedPerson: a person on the do-not-contact list is not
// POSTed (the sandbox hears nothing), by message or connection request,
// and the error says why they are listed.
func TestSendToExcludedPerson(t *testing.T) {
	l := newLedgerEnv(t)
	if err := l.store.AddDNC(t.Context(), contacts.DNCEntry{RecipientURN: jane, Reason: "asked us to stop", AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var a *activities.Activities
	_, err := l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi",
		Ledger: activities.Ledger{CampaignID: "spring"}})
	app := appError(t, err, activities.ErrExcluded)
	if !app.NonRetryable() || !strings.Contains(app.Message(), "do-not-contact") || !strings.Contains(app.Message(), "asked us to stop") {
		t.Errorf("error %q (non-retryable %v): want the list and its reason", app.Message(), app.NonRetryable())
	}
	_, err = l.env.ExecuteActivity(a.SendConnection, activities.SendConnectionInput{ProfileURN: jane, Ledger: activities.Ledger{CampaignID: "spring", Step: "1-connect"}})
	appError(t, err, activities.ErrExcluded)
	// Not even under a contact policy of allow: the list always holds.
	_, err = l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi",
		Ledger: activities.Ledger{CampaignID: "spring", Policy: &contacts.Policy{Scope: contacts.ScopeAllow}}})
	appError(t, err, activities.ErrExcluded)
	if reqs := l.sb.Requests(); len(reqs) != 0 {
		t.Fatalf("the sandbox received %d requests, want none: %+v", len(reqs), reqs)
	}
}

// TestSendContactedByAnotherCampaign: a second campaign's send to a person
// the first one contacted is refused, naming the first, and nothing is
// POSTed; contact_policy allow lets it send.
func TestSendContactedByAnotherCampaign(t *testing.T) {
	l := newLedgerEnv(t)
	if v := l.otherRun(t, "spring", jane); !v.OK {
		t.Fatalf("first claim: %+v", v)
	}
	var a *activities.Activities
	in := activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "autumn"}}
	_, err := l.env.ExecuteActivity(a.Send, in)
	app := appError(t, err, activities.ErrContactedElsewhere)
	if !app.NonRetryable() || !strings.Contains(app.Message(), `campaign "spring"`) || !strings.Contains(app.Message(), "within 90d") {
		t.Errorf("error %q: want it to name campaign spring and the policy", app.Message())
	}
	if n := len(l.sb.TasksTo(jane)); n != 0 {
		t.Fatalf("%d tasks to jane, want none", n)
	}
	// Another account's campaign: the default scope is the account's.
	other := in
	other.Sender = "bob"
	l.env.RegisterActivity(&activities.Activities{Accounts: map[string]*outx.Client{"bob": outxClient(t, l.sb.URL)}, Contacts: l.store})
	if _, err := l.env.ExecuteActivity(a.Send, other); err != nil {
		t.Fatalf("another account, scope account: %v", err)
	}
	// Scope all: another account's campaign is refused too; allow sends.
	// (A fresh store: the environment's runs share one workflow id, and a
	// claim held by the same workflow is its own.)
	l = newLedgerEnv(t)
	l.env.RegisterActivity(&activities.Activities{Accounts: map[string]*outx.Client{"bob": outxClient(t, l.sb.URL)}, Contacts: l.store})
	l.otherRun(t, "spring", john)
	all := activities.SendInput{RecipientURN: john, Message: "hi", Sender: "bob",
		Ledger: activities.Ledger{CampaignID: "winter", Policy: &contacts.Policy{Scope: contacts.ScopeAll}}}
	_, err = l.env.ExecuteActivity(a.Send, all)
	if app := appError(t, err, activities.ErrContactedElsewhere); !strings.Contains(app.Message(), "of any account within 90d") {
		t.Errorf("scope all: %q", app.Message())
	}
	allow := all
	allow.Policy = &contacts.Policy{Scope: contacts.ScopeAllow}
	if _, err := l.env.ExecuteActivity(a.Send, allow); err != nil {
		t.Fatalf("contact_policy allow: %v", err)
	}
	if n := len(l.sb.TasksTo(john)); n != 1 {
		t.Fatalf("%d tasks to john, want 1 (allow)", n)
	}
}

// TestSendRetryOfTheSameRun: a claim the same workflow already holds (it
// crashed between the claim and the POST) is its own: the retry sends.
func TestSendRetryOfTheSameRun(t *testing.T) {
	l := newLedgerEnv(t)
	v, err := l.store.Claim(t.Context(), contacts.Claim{Account: "default", RecipientURN: jane, Action: contacts.ActionMessage,
		CampaignID: "spring", WorkflowID: testWorkflowID, RunID: "crashed-run", At: time.Now()})
	if err != nil || !v.OK {
		t.Fatalf("claim: %+v %v", v, err)
	}
	var a *activities.Activities
	if _, err := l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}}); err != nil {
		t.Fatalf("the run's own retry was refused: %v", err)
	}
	if n := len(l.sb.TasksTo(jane)); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	// The claim still keeps another campaign out.
	if v := l.otherRun(t, "autumn", jane); !v.Skipped {
		t.Fatalf("another campaign's claim after the send: %+v, want skipped", v)
	}
}

// TestSendWithoutTaskFreesTheClaim: a POST that certainly created no task
// (503, 429) frees the claim, so another campaign may contact the person;
// an ambiguous one (500) keeps it.
func TestSendWithoutTaskFreesTheClaim(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    string
		freed  bool
	}{
		{http.StatusServiceUnavailable, activities.ErrNotSent, true},
		{http.StatusTooManyRequests, activities.ErrRateLimited, true},
		{http.StatusInternalServerError, activities.ErrAmbiguous, false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			l := newLedgerEnv(t)
			l.sb.Inject(outxtest.Fault{Status: tc.status, Times: 1})
			var a *activities.Activities
			_, err := l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
			appError(t, err, tc.typ)
			v := l.otherRun(t, "autumn", jane)
			if v.OK != tc.freed {
				t.Fatalf("another campaign's claim: %+v, want granted %v", v, tc.freed)
			}
			hist, err := l.store.History(t.Context(), jane)
			if err != nil || len(hist) == 0 {
				t.Fatalf("history: %+v %v", hist, err)
			}
			if first := hist[0]; first.CampaignID != "spring" || first.NoTask != tc.freed || first.Outcome == "" {
				t.Errorf("spring's row %+v: want no_task %v and an outcome", first, tc.freed)
			}
		})
	}
}

// TestSendRetriedAfterNoTask: the run whose POST OutX refused without a
// task (503) retries, and its own claim is granted again.
func TestSendRetriedAfterNoTask(t *testing.T) {
	l := newLedgerEnv(t)
	l.sb.Inject(outxtest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	var a *activities.Activities
	in := activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}}
	_, err := l.env.ExecuteActivity(a.Send, in)
	appError(t, err, activities.ErrNotSent)
	if _, err := l.env.ExecuteActivity(a.Send, in); err != nil {
		t.Fatalf("the retry was refused: %v", err)
	}
	if n := len(l.sb.TasksTo(jane)); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	if v := l.otherRun(t, "autumn", jane); !v.Skipped {
		t.Fatalf("after the retry's task, another campaign's claim: %+v, want skipped", v)
	}
}

// TestPollFinishesTheLedger: the task's outcome is recorded when it is
// final; with the store down the poll returns the outcome unrecorded (the
// task's end does not wait for the store), and RecordOutcome fails
// retryably until the store takes it.
func TestPollFinishesTheLedger(t *testing.T) {
	l := newLedgerEnv(t)
	var a *activities.Activities
	v, err := l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: jane, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
	if err != nil {
		t.Fatal(err)
	}
	var sent activities.SendResult
	_ = v.Get(&sent)
	if _, err := l.env.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: sent.TaskID, Action: contacts.ActionMessage}); err != nil {
		t.Fatal(err)
	}
	hist, err := l.store.History(t.Context(), jane)
	if err != nil || len(hist) != 1 || hist[0].Outcome != "delivered" || hist[0].TaskID != sent.TaskID || hist[0].FinishedAt.IsZero() {
		t.Fatalf("history %+v (%v): want one delivered row with the task id", hist, err)
	}

	// Store down: no send without its check, and a final poll waits for it.
	v, err = l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: john, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = v.Get(&sent)
	_ = l.store.Close()
	v, err = l.env.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: sent.TaskID, Action: contacts.ActionMessage})
	if err != nil {
		t.Fatalf("a final poll with the store down: %v; want its result, the outcome left to record", err)
	}
	var polled activities.PollResult
	if err := v.Get(&polled); err != nil || polled.Unrecorded == nil || polled.Unrecorded.Outcome != "delivered" || polled.Unrecorded.TaskID != sent.TaskID {
		t.Fatalf("poll result %+v (%v): want the delivered outcome of %s unrecorded", polled, err, sent.TaskID)
	}
	_, err = l.env.ExecuteActivity(a.RecordOutcome, *polled.Unrecorded)
	if app := appError(t, err, activities.ErrContactsUnavailable); app.NonRetryable() {
		t.Errorf("recording an outcome while the store is down must fail retryably: %v", app)
	}
	before := len(l.sb.Requests())
	_, err = l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: "urn:li:person:ACoAAKim", Message: "hi"})
	if app := appError(t, err, activities.ErrContactsUnavailable); !app.NonRetryable() || !strings.Contains(app.Message(), "unavailable") {
		t.Errorf("send with the store down: %v", app)
	}
	if after := len(l.sb.Requests()); after != before {
		t.Errorf("the sandbox got %d requests with the store down, want none", after-before)
	}
}

// TestLookupTeachesTheSlug: a do-not-contact entry by profile slug holds
// for the URN a look-up finds, even when the send does not carry the slug.
func TestLookupTeachesTheSlug(t *testing.T) {
	l := newLedgerEnv(t)
	if err := l.store.AddDNC(t.Context(), contacts.DNCEntry{ProfileSlug: "jane-doe", Reason: "a customer", AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var a *activities.Activities
	v, err := l.env.ExecuteActivity(a.LookupProfile, activities.LookupInput{ProfileSlug: "jane-doe", CampaignID: "spring"})
	if err != nil {
		t.Fatal(err)
	}
	var found activities.LookupResult
	_ = v.Get(&found)
	_, err = l.env.ExecuteActivity(a.Send, activities.SendInput{RecipientURN: found.RecipientURN, Message: "hi", Ledger: activities.Ledger{CampaignID: "spring"}})
	appError(t, err, activities.ErrExcluded)
	hist, err := l.store.History(t.Context(), found.RecipientURN)
	if err != nil || len(hist) == 0 || hist[0].Action != contacts.ActionLookup || hist[0].TaskID != found.TaskID {
		t.Fatalf("history %+v (%v): want the look-up recorded", hist, err)
	}
}
