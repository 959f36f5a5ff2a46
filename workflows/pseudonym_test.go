package workflows_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

func TestRecipientPseudonym(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	// Known answer, computed independently (Python's hmac module):
	// hmac.new(bytes(range(32)), b"urn:li:person:ACoAAPerson0001", sha256).hexdigest()[:20]
	if got := workflows.RecipientPseudonym(key, urn(1)); got != "r-8b7e9d896a41f0339983" {
		t.Errorf("RecipientPseudonym = %q, want r-8b7e9d896a41f0339983", got)
	}
	p := workflows.RecipientPseudonym(key, urn(2))
	if !workflows.IsPseudonym(p) || p != workflows.RecipientPseudonym(key, urn(2)) {
		t.Errorf("pseudonym %q: want the form r-<20 hex>, the same every time", p)
	}
	other := append([]byte(nil), key...)
	other[0] ^= 1
	if workflows.RecipientPseudonym(other, urn(2)) == p || workflows.RecipientPseudonym(key, urn(3)) == p {
		t.Error("a pseudonym must change with the key and with the URN")
	}
	for _, s := range []string{"urn:li:person:x", "r-0123", "r-0123456789abcdef012G", "R-0123456789abcdef0123"} {
		if workflows.IsPseudonym(s) {
			t.Errorf("IsPseudonym(%q) = true", s)
		}
	}
}

// TestRecipientKeyRules: a bad recipient_key is refused by Validate and by
// the workflow itself, naming the field and never echoing the value.
func TestRecipientKeyRules(t *testing.T) {
	base := workflows.CampaignInput{Template: "Hi", Recipients: []recipients.Recipient{{RecipientURN: urn(1)}}}
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for name, bad := range map[string]string{
		"not base64":  "s3cr3t-not*base64!",
		"16 bytes":    short,
		"URL base64":  strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32))), "="),
		"empty bytes": "====",
	} {
		in := base
		in.RecipientKey = bad
		err := in.Validate()
		if err == nil || !strings.Contains(err.Error(), "recipient_key") || strings.Contains(err.Error(), bad) {
			t.Errorf("%s: Validate() = %v, want an error naming recipient_key without its value", name, err)
		}
	}
	in := base
	in.RecipientKey = newRecipientKey(t)
	if err := in.Validate(); err != nil {
		t.Errorf("a 32-byte key: %v", err)
	}

	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	in = anytime(base, time.Second)
	in.RecipientKey = short
	_, err := h.run(t, in)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrInvalidCampaign ||
		!strings.Contains(err.Error(), "recipient_key") || strings.Contains(err.Error(), short) {
		t.Fatalf("campaign with a short key: err = %v, want %s naming recipient_key without its value", err, workflows.ErrInvalidCampaign)
	}
	if n := len(h.sb.Tasks()); n != 0 {
		t.Errorf("%d OutX tasks for a refused campaign", n)
	}
}

func newRecipientKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, workflows.RecipientKeySize)
	for i := range b {
		b[i] = byte(7*i + 3)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// childStart is what a campaign asked Temporal for when it started a child.
type childStart struct {
	id        string
	recipient string // the RecipientUrn search attribute, "" if unset
	memo      map[string]any
	summary   string
}

// childRecorder records the options of every child run a workflow starts,
// as the worker would send them to the server.
type childRecorder struct {
	interceptor.WorkerInterceptorBase
	mu     sync.Mutex
	starts []childStart
}

func (r *childRecorder) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &childInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, r: r}
}

type childInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	r *childRecorder
}

func (i *childInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&childOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, r: i.r})
}

type childOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	r *childRecorder
}

func (o *childOutbound) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	opts := workflow.GetChildWorkflowOptions(ctx)
	s := childStart{id: opts.WorkflowID, memo: opts.Memo, summary: opts.StaticSummary}
	s.recipient, _ = opts.TypedSearchAttributes.GetKeyword(workflows.RecipientURNAttribute)
	o.r.mu.Lock()
	o.r.starts = append(o.r.starts, s)
	o.r.mu.Unlock()
	return o.Next.ExecuteChildWorkflow(ctx, childWorkflowType, args...)
}

// TestCampaignWithRecipientKeyNamesRecipientsByPseudonym: with a
// recipient_key, no child workflow id or RecipientUrn search attribute names
// a recipient's URN; a recipient listed twice is still messaged once; the
// memo, a payload, carries the URN for the report; invalid rows keep their
// line names.
func TestCampaignWithRecipientKeyNamesRecipientsByPseudonym(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	rec := &childRecorder{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	bob := outxtest.NotConnected + "Bob"
	rs := []recipients.Recipient{
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},
		{RecipientURN: urn(2), Vars: map[string]string{"first_name": "Grace"}},
		{RecipientURN: urn(1), Vars: map[string]string{"first_name": "Ada"}},                // listed twice
		{RecipientURN: bob, Vars: map[string]string{"first_name": "Bob"}},                   // task fails
		{RecipientURN: urn(3), Vars: map[string]string{"first_name": "  "}},                 // variable empty
		{RecipientURN: "urn:li:company:123", Vars: map[string]string{"first_name": "Acme"}}, // not a person
	}
	key := newRecipientKey(t)
	secret, _ := base64.StdEncoding.DecodeString(key)
	in := anytime(workflows.CampaignInput{CampaignID: "spring", Template: "Hi {{first_name}}!", Recipients: rs, RecipientKey: key}, time.Minute)
	p, err := h.run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.Counts{Delivered: 2, Failed: 1, Invalid: 2, Skipped: 1}
	if p.Counts != want || p.Total != 6 || p.Status != workflows.StatusFinished {
		t.Fatalf("progress = %+v, want counts %+v of 6, finished", p, want)
	}
	tasks := h.tasksPerRecipient()
	if tasks[urn(1)] != 1 || tasks[urn(2)] != 1 || tasks[bob] != 1 || len(tasks) != 3 {
		t.Fatalf("tasks per recipient = %v, want one each for the 3 valid recipients", tasks)
	}

	pseudo := func(u string) string { return workflows.RecipientPseudonym(secret, u) }
	wantStarts := []childStart{
		{id: "spring/" + pseudo(urn(1)), recipient: pseudo(urn(1)), memo: map[string]any{workflows.MemoLine: 1, workflows.MemoRecipientURN: urn(1)}},
		{id: "spring/" + pseudo(urn(2)), recipient: pseudo(urn(2)), memo: map[string]any{workflows.MemoLine: 2, workflows.MemoRecipientURN: urn(2)}},
		{id: "spring/" + pseudo(urn(1)), recipient: pseudo(urn(1)), memo: map[string]any{workflows.MemoLine: 3, workflows.MemoRecipientURN: urn(1)}},
		{id: "spring/" + pseudo(bob), recipient: pseudo(bob), memo: map[string]any{workflows.MemoLine: 4, workflows.MemoRecipientURN: bob}},
		{id: "spring/invalid-line-5", recipient: pseudo(urn(3)), memo: map[string]any{workflows.MemoLine: 5, workflows.MemoRecipientURN: urn(3)}},
		// Not a person URN: the row names no recipient at all.
		{id: "spring/invalid-line-6", memo: map[string]any{workflows.MemoLine: 6}},
	}
	if len(rec.starts) != len(wantStarts) {
		t.Fatalf("%d children started, want %d: %+v", len(rec.starts), len(wantStarts), rec.starts)
	}
	for i, got := range rec.starts {
		w := wantStarts[i]
		if got.id != w.id || got.recipient != w.recipient || fmt.Sprint(got.memo) != fmt.Sprint(w.memo) {
			t.Errorf("child %d: %+v, want %+v", i+1, got, w)
		}
		for _, u := range []string{"urn:", "ACoAA", "Bob", "company:123"} {
			if strings.Contains(got.id, u) || strings.Contains(got.recipient, u) {
				t.Errorf("child %d names %q in its id or search attribute: %+v", i+1, u, got)
			}
		}
	}
	// The child actually started carries the pseudonym, as the server
	// would index it.
	for _, s := range h.starts {
		if strings.Contains(s.id, "urn:") {
			t.Errorf("child run %s is named by a URN", s.id)
		}
	}
}

// TestCampaignWithoutRecipientKeyIsUnchanged: without the key, children are
// named and filtered by their URNs and the memo holds only the line, as
// before recipient pseudonyms existed (recorded histories replay).
func TestCampaignWithoutRecipientKeyIsUnchanged(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	rec := &childRecorder{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	in := anytime(workflows.CampaignInput{CampaignID: "plain", Template: "Hi {{first_name}}", Recipients: people(2)}, time.Minute)
	if _, err := h.run(t, in); err != nil {
		t.Fatal(err)
	}
	if len(rec.starts) != 2 {
		t.Fatalf("%d children, want 2", len(rec.starts))
	}
	for i, s := range rec.starts {
		if s.id != "plain/"+urn(i) || s.recipient != urn(i) || fmt.Sprint(s.memo) != fmt.Sprint(map[string]any{workflows.MemoLine: i + 1}) {
			t.Errorf("child %d: %+v, want id plain/%s, RecipientUrn %s, memo line only", i+1, s, urn(i), urn(i))
		}
	}
}

// TestCampaignCarriesRecipientKeyAcrossContinueAsNew: the next run names
// recipients with the same key, or it would message them again.
func TestCampaignCarriesRecipientKeyAcrossContinueAsNew(t *testing.T) {
	h := newCampaignHarness(t, thu, outxtest.Options{}, "")
	key := newRecipientKey(t)
	in := anytime(workflows.CampaignInput{CampaignID: "can", Template: "Hi {{first_name}}", Recipients: people(3), RecipientKey: key}, time.Minute)
	h.env.SetContinueAsNewSuggested(true)
	_, err := h.run(t, in)
	next, ok := continueAsNewInput(t, err)
	if !ok {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
	if next.RecipientKey != key || next.State == nil {
		t.Errorf("next run's recipient_key carried: %v, state %+v", next.RecipientKey == key, next.State)
	}
}
