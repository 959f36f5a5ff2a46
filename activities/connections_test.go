package activities_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
)

// TestSendConnectionErrorTypes: a connection request's errors map as a
// message's do; only answers that certainly created no task are anything
// but Ambiguous, so the workflow never invites a person twice.
func TestSendConnectionErrorTypes(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	in := activities.SendConnectionInput{ProfileURN: "urn:li:person:ignores-1", Note: "Hi"}
	for _, tc := range sendAnswers {
		tc.fault.Times = 1
		tc.fault.Path = outx.PathSendConnectionRequest
		sb.Inject(tc.fault)
		_, err := e.ExecuteActivity(a.SendConnection, in)
		if got := errorType(err); got != tc.want || retryable(err) {
			t.Errorf("%+v: type %q (retryable %v), want non-retryable %q (%v)", tc.fault, got, retryable(err), tc.want, err)
		}
	}
	// The lost answer created the one task the person got.
	if n := len(sb.ConnectionRequestsTo(in.ProfileURN)); n != 1 {
		t.Errorf("%d connection request tasks, want the 1 whose answer was lost", n)
	}

	// OutX's own 400 for a note over 300 characters (were it not caught by
	// ValidateConnection first).
	_, err := e.ExecuteActivity(a.SendConnection, activities.SendConnectionInput{ProfileURN: in.ProfileURN, Note: strings.Repeat("x", 301)})
	if got := errorType(err); got != activities.ErrInvalidInput {
		t.Errorf("long note: type %q, want InvalidInput (%v)", got, err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err = env(t, "http://"+addr).ExecuteActivity(a.SendConnection, in)
	if got := errorType(err); got != activities.ErrNotSent {
		t.Errorf("connection refused: type %q, want NotSent (%v)", got, err)
	}
}

// TestPollStatusOfConnectionRequests: an invitation sent and a person found
// already connected both count as sent; the second says so.
func TestPollStatusOfConnectionRequests(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Millisecond})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	for urn, want := range map[string]activities.PollResult{
		"urn:li:person:ignores-2":   {Status: outx.StatusCompleted, Sent: true},
		"urn:li:person:ACoAAfriend": {Status: outx.StatusCompleted, Sent: true, AlreadyConnected: true},
	} {
		v, err := e.ExecuteActivity(a.SendConnection, activities.SendConnectionInput{ProfileURN: urn})
		if err != nil {
			t.Fatal(err)
		}
		var sent activities.SendResult
		if err := v.Get(&sent); err != nil {
			t.Fatal(err)
		}
		v, err = e.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: sent.TaskID})
		if err != nil {
			t.Fatal(err)
		}
		var res activities.PollResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		res.Polls = 0
		if res != want {
			t.Errorf("%s: %+v, want %+v", urn, res, want)
		}
	}
}

func TestCheckConnection(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Millisecond})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	const person = "urn:li:person:ignores-3"
	check := func() activities.CheckConnectionResult {
		t.Helper()
		v, err := e.ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{ProfileURN: person})
		if err != nil {
			t.Fatal(err)
		}
		var res activities.CheckConnectionResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := check(); res.Connected || res.TaskID == "" || res.Polls < 1 {
		t.Fatalf("before accepting: %+v, want not connected, with its task", res)
	}
	if !sb.Accept("sandbox", person) {
		t.Fatal("Accept: no team sandbox")
	}
	if res := check(); !res.Connected {
		t.Fatalf("after accepting: %+v, want connected", res)
	}
	n := 0
	for _, task := range sb.Tasks() {
		if task.Type == outxtest.TypeFetchConnections {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d fetch-connections tasks for 2 checks", n)
	}
}

// TestCheckConnectionRetryPollsTheSameTask: an attempt that ends while the
// task is pending hands its id to the next, which polls it rather than
// creating a second task.
func TestCheckConnectionRetryPollsTheSameTask(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: time.Hour})
	defer sb.Close()
	var a *activities.Activities
	_, err := env(t, sb.URL).ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{ProfileURN: "urn:li:person:x"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTaskPending || app.NonRetryable() {
		t.Fatalf("first attempt: %v, want a retryable TaskPending", err)
	}
	var progress struct {
		TaskID string `json:"task_id"`
		Polls  int    `json:"polls"`
	}
	if err := app.Details(&progress); err != nil || progress.TaskID == "" {
		t.Fatalf("details %+v, %v: want the task id", progress, err)
	}

	e := env(t, sb.URL)
	e.SetHeartbeatDetails(progress)
	_, err = e.ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{ProfileURN: "urn:li:person:x"})
	if errorType(err) != activities.ErrTaskPending || !strings.Contains(err.Error(), progress.TaskID) {
		t.Fatalf("second attempt: %v, want TaskPending on task %s", err, progress.TaskID)
	}
	if n := len(sb.Tasks()); n != 1 {
		t.Fatalf("%d tasks after two attempts, want 1", n)
	}
}

// TestCheckConnectionUnreadableList: a finished task whose output holds no
// list is an error, not "not connected". The sandbox always answers a
// list, so this OutX answers the way a changed output shape would.
func TestCheckConnectionUnreadableList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case outx.PathFetchConnections:
			_, _ = w.Write([]byte(`{"success":true,"api_agent_task_id":"t-1","message":"created"}`))
		case outx.PathGetTaskStatus:
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{
				"id": "t-1", "status": "completed", "task_output": map[string]any{"error": "LinkedIn page layout changed"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var a *activities.Activities
	_, err := env(t, srv.URL).ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{ProfileURN: "urn:li:person:x"})
	if errorType(err) != activities.ErrConnectionsUnreadable || retryable(err) || !strings.Contains(err.Error(), "LinkedIn page layout changed") {
		t.Fatalf("err = %v, want a non-retryable ConnectionsUnreadable with OutX's reason", err)
	}
}

// TestSendersUseTheirOwnKeys: each sender's actions go out with its own
// key, so to its own OutX team, and an unknown sender is refused by name.
func TestSendersUseTheirOwnKeys(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: 10 * time.Millisecond, Teams: []outxtest.Team{
		{Name: "alice", APIKey: "key-alice"}, {Name: "bob", APIKey: "key-bob"}}})
	defer sb.Close()
	cfg := senders.Config{Accounts: []senders.Account{
		{Name: "alice", APIKey: "key-alice", BaseURL: sb.URL, Limits: senders.Limits{TimeZone: "Europe/Berlin"}},
		{Name: "bob", APIKey: "key-bob", BaseURL: sb.URL},
	}}
	clients, err := activities.Clients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(&activities.Activities{Accounts: clients, Senders: cfg, PollInterval: 5 * time.Millisecond, PollBurst: time.Second})
	var a *activities.Activities

	v, err := e.ExecuteActivity(a.Send, activities.SendInput{Sender: "bob", RecipientURN: "urn:li:person:p1", Message: "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	var sent activities.SendResult
	_ = v.Get(&sent)
	if tasks := sb.TasksTo("urn:li:person:p1"); len(tasks) != 1 || tasks[0].Team != "bob" {
		t.Fatalf("tasks = %+v, want one of team bob", tasks)
	}
	// Alice's key does not see bob's task; bob's does.
	_, err = e.ExecuteActivity(a.PollStatus, activities.PollInput{Sender: "alice", TaskID: sent.TaskID})
	if errorType(err) != activities.ErrTaskNotFound {
		t.Errorf("alice polling bob's task: %v, want TaskNotFound", err)
	}
	if _, err := e.ExecuteActivity(a.PollStatus, activities.PollInput{Sender: "bob", TaskID: sent.TaskID}); err != nil {
		t.Errorf("bob polling his task: %v", err)
	}

	v, err = e.ExecuteActivity(a.SenderLimits, activities.SenderLimitsInput{Sender: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var limits senders.Limits
	if err := v.Get(&limits); err != nil || limits.TimeZone != "Europe/Berlin" || senders.Value(limits.Connect.WeeklyCap) != 100 {
		t.Errorf("alice's limits = %s, %v; want Europe/Berlin with defaults filled", limits, err)
	}
	raw, _ := json.Marshal(limits)
	if strings.Contains(string(raw), "key-alice") {
		t.Errorf("limits carry the key: %s", raw)
	}

	// No "default" here: the empty sender is unknown too.
	for _, sender := range []string{"carol", ""} {
		for name, run := range map[string]func() error{
			"Send": func() error {
				_, err := e.ExecuteActivity(a.Send, activities.SendInput{Sender: sender, RecipientURN: "urn:li:person:p2", Message: "Hi"})
				return err
			},
			"SendConnection": func() error {
				_, err := e.ExecuteActivity(a.SendConnection, activities.SendConnectionInput{Sender: sender, ProfileURN: "urn:li:person:p2"})
				return err
			},
			"CheckConnection": func() error {
				_, err := e.ExecuteActivity(a.CheckConnection, activities.CheckConnectionInput{Sender: sender, ProfileURN: "urn:li:person:p2"})
				return err
			},
			"LookupProfile": func() error {
				_, err := e.ExecuteActivity(a.LookupProfile, activities.LookupInput{Sender: sender, ProfileSlug: "jane"})
				return err
			},
			"SenderLimits": func() error {
				_, err := e.ExecuteActivity(a.SenderLimits, activities.SenderLimitsInput{Sender: sender})
				return err
			},
			"AcquireSlot": func() error {
				_, err := e.ExecuteActivity(a.AcquireSlot, activities.AcquireSlotInput{Sender: sender, Request: pacer.Request{ID: "r1"}})
				return err
			},
		} {
			err := run()
			want := `sender "` + senders.Or(sender) + `" is not configured in this worker (configured: alice, bob)`
			if errorType(err) != activities.ErrUnknownSender || retryable(err) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s for %q: %v, want a non-retryable UnknownSender saying %q", name, sender, err, want)
			}
		}
	}
	if n := len(sb.Tasks()); n != 1 {
		t.Errorf("%d tasks: an unknown sender's actions must reach no one", n)
	}
}

// TestDefaultSenderIsOutX: Activities built with OutX alone (as before
// named senders) act for the default sender, with the default limits.
func TestDefaultSenderIsOutX(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	if _, err := e.ExecuteActivity(a.Send, activities.SendInput{Sender: senders.Default, RecipientURN: "urn:li:person:p3", Message: "Hi"}); err != nil {
		t.Fatal(err)
	}
	v, err := e.ExecuteActivity(a.SenderLimits, activities.SenderLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var limits senders.Limits
	if err := v.Get(&limits); err != nil || limits.String() != senders.DefaultLimits().String() {
		t.Errorf("limits = %s, %v; want the defaults", limits, err)
	}
	_, err = e.ExecuteActivity(a.Send, activities.SendInput{Sender: "bob", RecipientURN: "urn:li:person:p3", Message: "Hi"})
	if errorType(err) != activities.ErrUnknownSender || !strings.Contains(err.Error(), "(configured: default)") {
		t.Errorf("unknown sender: %v", err)
	}
}
