package outxtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// clock is a sandbox clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// connectionSandbox is a sandbox on a fake clock, with tasks taking 1s and
// Accepts people accepting a minute after their invitation is performed.
func connectionSandbox(t *testing.T) (*outxtest.Server, *outx.Client, *clock) {
	t.Helper()
	clk := newClock()
	srv := outxtest.NewServer(outxtest.Options{TaskDelay: time.Second, AcceptDelay: time.Minute, Now: clk.Now})
	t.Cleanup(srv.Close)
	c, err := outx.New(srv.URL, outxtest.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, clk
}

func status(t *testing.T, c *outx.Client, taskID string) outx.Task {
	t.Helper()
	task, err := c.GetTaskStatus(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func connect(t *testing.T, c *outx.Client, urn, note string) string {
	t.Helper()
	created, err := c.SendConnectionRequest(context.Background(), outx.SendConnectionRequestBody{ProfileURN: urn, Note: note})
	if err != nil {
		t.Fatalf("connection request to %s: %v", urn, err)
	}
	return created.TaskID
}

func message(t *testing.T, c *outx.Client, urn string) string {
	t.Helper()
	created, err := c.SendMessage(context.Background(), outx.SendMessageRequest{RecipientURN: urn, Message: "Thanks for connecting"})
	if err != nil {
		t.Fatalf("message to %s: %v", urn, err)
	}
	return created.TaskID
}

// fetchConnections runs a Fetch Connections task to its end.
func fetchConnections(t *testing.T, c *outx.Client, clk *clock) []string {
	t.Helper()
	created, err := c.FetchConnections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	task := status(t, c, created.TaskID)
	urns, ok := task.Connections()
	if task.Status != outx.StatusCompleted || !ok {
		t.Fatalf("fetch connections = %+v, want completed with a list", task)
	}
	return urns
}

func TestAcceptsPersonAcceptsAcceptDelayAfterTheInvitation(t *testing.T) {
	srv, c, clk := connectionSandbox(t)
	urn := outxtest.Accepts + "-ada"

	invite := connect(t, c, urn, "  Hi Ada, we met at GopherCon.  ")
	clk.Add(time.Second)
	task := status(t, c, invite)
	if task.Status != outx.StatusCompleted || !task.Sent() || task.AlreadyConnected() {
		t.Fatalf("invitation = %+v, want completed and sent", task)
	}
	var input map[string]string
	if err := json.Unmarshal(task.Input, &input); err != nil || input["task_type"] != outxtest.TypeSendConnectionRequest ||
		input["profile_urn"] != urn || input["note"] != "  Hi Ada, we met at GopherCon.  " {
		t.Fatalf("task_input = %s", task.Input)
	}
	invited := srv.ConnectionRequestsTo(urn)[0]
	performed := invited.FinishedAt

	// Before acceptance: not listed, and a message fails as to a stranger.
	early := message(t, c, urn)
	if got := fetchConnections(t, c, clk); len(got) != 0 {
		t.Fatalf("connections before acceptance = %q, want none", got)
	}
	if task := status(t, c, early); task.Status != outx.StatusFailed || task.FailureReason() != outxtest.TextNotConnected {
		t.Fatalf("message before acceptance = %+v, want failed: %s", task, outxtest.TextNotConnected)
	}

	// Just before AcceptDelay has passed since the invitation was performed,
	// still not; at AcceptDelay, listed with that time.
	clk.Add(performed.Add(time.Minute).Sub(clk.Now()) - 2*time.Second)
	if got := fetchConnections(t, c, clk); len(got) != 0 {
		t.Fatalf("connections 1s before acceptance = %q, want none", got)
	}
	created, err := c.FetchConnections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	out := status(t, c, created.TaskID).Output
	want := `{"connections":[{"profile_urn":"` + urn + `","connected_at":"` + performed.Add(time.Minute).Format(time.RFC3339) + `"}]}`
	if string(out) != want {
		t.Fatalf("fetch connections output = %s, want %s", out, want)
	}
	if got := srv.Connections(outxtest.DefaultTeam); len(got) != 1 || got[0] != urn {
		t.Fatalf("Connections = %q", got)
	}

	// After acceptance: a message is delivered, a new invitation finds them
	// connected.
	late, again := message(t, c, urn), connect(t, c, urn, "")
	clk.Add(time.Second)
	if task := status(t, c, late); !task.Sent() {
		t.Fatalf("message after acceptance = %+v, want delivered", task)
	}
	if task := status(t, c, again); !task.AlreadyConnected() {
		t.Fatalf("second invitation = %+v, want already connected", task)
	}
}

func TestMessageOutcomeIsDecidedWhenTheTaskIsPerformed(t *testing.T) {
	_, c, clk := connectionSandbox(t)
	urn := outxtest.Accepts + "-1"
	connect(t, c, urn, "")
	clk.Add(time.Second + time.Minute - 500*time.Millisecond) // acceptance in 0.5s
	msg := message(t, c, urn)                                 // performed in 1s
	clk.Add(time.Second)
	if task := status(t, c, msg); !task.Sent() {
		t.Fatalf("a message queued before acceptance and performed after = %+v, want delivered", task)
	}
}

func TestIgnoresAndNotConnectedNeverAccept(t *testing.T) {
	srv, c, clk := connectionSandbox(t)
	for _, urn := range []string{outxtest.Ignores + "-1", outxtest.NotConnected + "-1"} {
		invite := connect(t, c, urn, "")
		clk.Add(time.Second)
		if task := status(t, c, invite); !task.Sent() {
			t.Fatalf("%s: invitation = %+v, want sent", urn, task)
		}
		clk.Add(24 * time.Hour)
		msg := message(t, c, urn)
		clk.Add(time.Second)
		if task := status(t, c, msg); task.Status != outx.StatusFailed {
			t.Fatalf("%s: message a day later = %+v, want failed", urn, task)
		}
	}
	if got := fetchConnections(t, c, clk); len(got) != 0 {
		t.Fatalf("connections = %q, want none", got)
	}
	if got := srv.Connections(outxtest.DefaultTeam); len(got) != 0 {
		t.Fatalf("Connections = %q, want none", got)
	}
}

func TestOrdinaryPeopleAreAlreadyConnected(t *testing.T) {
	srv, c, clk := connectionSandbox(t)
	invite := connect(t, c, "urn:li:person:ACoAABCDEFG", "Hi")
	clk.Add(time.Second)
	task := status(t, c, invite)
	if task.Status != outx.StatusCompleted || string(task.Output) != `{"sent":false,"already_connected":true}` {
		t.Fatalf("invitation to a connection = %+v", task)
	}
	if !task.AlreadyConnected() || task.Sent() {
		t.Fatalf("AlreadyConnected %v Sent %v", task.AlreadyConnected(), task.Sent())
	}
	if got := fetchConnections(t, c, clk); len(got) != 0 {
		t.Fatalf("connections = %q: implicit connections are not listed", got)
	}
	if n := len(srv.TasksTo("urn:li:person:ACoAABCDEFG")); n != 0 {
		t.Fatalf("TasksTo lists %d tasks: it is for messages only", n)
	}
}

func TestConnectionRequestValidationTexts(t *testing.T) {
	srv := outxtest.NewServer(outxtest.Options{})
	defer srv.Close()
	url, key := srv.URL+outx.PathSendConnectionRequest, outxtest.DefaultAPIKey
	long := strings.Repeat("a", 301)
	cases := []struct {
		name, body string
		status     int
		errText    string
	}{
		{"missing profile_urn", `{"note":"hi"}`, 400, outxtest.TextInvalidProfileURN},
		{"profile_urn not a string", `{"profile_urn":42}`, 400, outxtest.TextInvalidProfileURN},
		{"empty profile_urn", `{"profile_urn":""}`, 400, outxtest.TextInvalidProfileURN},
		{"company URN", `{"profile_urn":"urn:li:company:1"}`, 400, outxtest.TextInvalidProfileURN},
		{"profile URL", `{"profile_urn":"https://www.linkedin.com/in/ada"}`, 400, outxtest.TextInvalidProfileURN},
		{"note of 301", `{"profile_urn":"urn:li:person:a","note":"` + long + `"}`, 400, outxtest.TextNoteTooLong},
		{"note of 151 emoji", `{"profile_urn":"urn:li:person:a","note":"` + strings.Repeat("😀", 151) + `"}`, 400, outxtest.TextNoteTooLong},
		{"note not a string", `{"profile_urn":"urn:li:person:a","note":1}`, 400, outxtest.TextInvalidNote},
		{"no key", `{"profile_urn":"urn:li:person:a"}`, 401, outxtest.TextMissingKey},
	}
	for _, tc := range cases {
		k := key
		if tc.name == "no key" {
			k = ""
		}
		if status, body := do(t, "POST", url, k, tc.body); status != tc.status || body["error"] != tc.errText {
			t.Errorf("%s: got %d %v, want %d {\"error\": %q}", tc.name, status, body, tc.status, tc.errText)
		}
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Fatalf("refused requests created %d tasks", n)
	}
	for _, body := range []string{
		`{"profile_urn":"urn:li:person:a","note":" \n` + strings.Repeat("a", 300) + `\t "}`,
		`{"profile_urn":"urn:li:person:a","note":"` + strings.Repeat("😀", 150) + `"}`,
		`{"profile_urn":"urn:li:person:a","note":null}`,
		`{"profile_urn":"urn:li:person:a","note":"   "}`,
	} {
		if status, answer := do(t, "POST", url, key, body); status != 200 || answer["message"] != "Send connection request task created successfully" {
			t.Errorf("%.60s…: got %d %v, want the task created", body, status, answer)
		}
	}
	if status, body := do(t, "POST", url, outxtest.NoAdminAPIKey, `{"profile_urn":"urn:li:person:a"}`); status != 404 || body["error"] != outxtest.TextNoAdmin {
		t.Errorf("no admin: %d %v", status, body)
	}
}

func TestFetchConnectionsRequests(t *testing.T) {
	srv := outxtest.NewServer(outxtest.Options{})
	defer srv.Close()
	url := srv.URL + outx.PathFetchConnections
	for _, tc := range []struct {
		name, key, body string
		status          int
		errText         string
	}{
		{"empty object", outxtest.DefaultAPIKey, `{}`, 200, ""},
		{"empty body", outxtest.DefaultAPIKey, ``, 200, ""},
		{"not an object", outxtest.DefaultAPIKey, `[1]`, 400, "Invalid JSON body"},
		{"wrong key", "nope", `{}`, 401, outxtest.TextInvalidKey},
		{"no admin", outxtest.NoAdminAPIKey, `{}`, 404, outxtest.TextNoAdmin},
	} {
		status, body := do(t, "POST", url, tc.key, tc.body)
		if status != tc.status || (tc.errText != "" && body["error"] != tc.errText) {
			t.Errorf("%s: got %d %v, want %d %q", tc.name, status, body, tc.status, tc.errText)
		}
	}
	srv.SetExtensionOffline(true)
	if status, body := do(t, "POST", url, outxtest.DefaultAPIKey, `{}`); status != 403 || body["error"] != outxtest.TextPluginRequired {
		t.Errorf("extension offline: %d %v", status, body)
	}
	srv.SetExtensionOffline(false)
	srv.Inject(outxtest.Fault{Path: outx.PathFetchConnections, Status: 429, Times: 1})
	if status, _ := do(t, "POST", url, outxtest.DefaultAPIKey, `{}`); status != 429 {
		t.Errorf("injected 429: %d", status)
	}
	for _, task := range srv.Tasks() {
		if task.Type != outxtest.TypeFetchConnections || task.Team != outxtest.DefaultTeam {
			t.Errorf("task %+v", task)
		}
	}
	if n := len(srv.Tasks()); n != 2 {
		t.Fatalf("%d tasks, want the 2 accepted requests' tasks", n)
	}
}

func TestConnectionRequestsShareSendMessagesFaults(t *testing.T) {
	srv, c, _ := connectionSandbox(t)
	ctx := context.Background()
	urn := outxtest.RateLimitedOnce + "-1"
	_, err := c.SendConnectionRequest(ctx, outx.SendConnectionRequestBody{ProfileURN: urn})
	if apiErr := new(outx.APIError); !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || !outx.NoTaskCreated(err) {
		t.Fatalf("first connection request to %s: %v, want a 429 with no task", urn, err)
	}
	connect(t, c, urn, "")
	// Messages count apart: the first message is refused too.
	if _, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: urn, Message: "hi"}); err == nil {
		t.Fatalf("first message to %s succeeded, want a 429", urn)
	}

	lost := outxtest.LostAnswerOnce + "-1"
	if _, err := c.SendConnectionRequest(ctx, outx.SendConnectionRequestBody{ProfileURN: lost}); err == nil || outx.NoTaskCreated(err) {
		t.Fatalf("lost answer: %v, want an ambiguous error", err)
	}
	if n := len(srv.ConnectionRequestsTo(lost)); n != 1 {
		t.Fatalf("lost answer: %d tasks, want 1", n)
	}

	stuck := connect(t, c, outxtest.Stuck+"-1", "")
	if task := status(t, c, stuck); task.Finished() {
		t.Fatalf("stuck invitation finished: %+v", task)
	}
	if !srv.Finish(stuck, true) || !status(t, c, stuck).Sent() {
		t.Fatalf("Finish did not end the stuck invitation as sent")
	}
}

func TestInvitationDueBeforeTheExtensionLeftIsPerformed(t *testing.T) {
	srv, c, clk := connectionSandbox(t)
	urn := outxtest.Accepts + "-1"
	invite := connect(t, c, urn, "")
	created := srv.ConnectionRequestsTo(urn)[0].CreatedAt
	clk.Add(10 * time.Second) // due after 1s; nobody has read it yet
	srv.SetExtensionOffline(true)
	clk.Add(time.Hour)
	srv.SetExtensionOffline(false)
	task := srv.ConnectionRequestsTo(urn)[0]
	if task.FinishedAt != created.Add(time.Second) {
		t.Fatalf("FinishedAt = %s, want %s: the task was due before the extension left", task.FinishedAt, created.Add(time.Second))
	}
	if !status(t, c, invite).Sent() {
		t.Fatal("invitation not sent")
	}
	if got := srv.Connections(outxtest.DefaultTeam); len(got) != 1 {
		t.Fatalf("Connections = %q: acceptance does not need the extension", got)
	}
}

func TestTeamsHaveTheirOwnConnections(t *testing.T) {
	clk := newClock()
	srv := outxtest.NewServer(outxtest.Options{
		Teams:     []outxtest.Team{{Name: "alice", APIKey: "key-a"}, {Name: "bob", APIKey: "key-b"}},
		TaskDelay: time.Second, AcceptDelay: time.Minute, Now: clk.Now,
	})
	defer srv.Close()
	alice, _ := outx.New(srv.URL, "key-a")
	bob, _ := outx.New(srv.URL, "key-b")
	urn := outxtest.Accepts + "-1"
	invite := connect(t, alice, urn, "")
	clk.Add(time.Hour)
	if got := srv.Connections("alice"); len(got) != 1 || got[0] != urn {
		t.Fatalf("alice's connections = %q", got)
	}
	if got := srv.Connections("bob"); len(got) != 0 {
		t.Fatalf("bob's connections = %q: alice's invitation was accepted by alice's account only", got)
	}
	msg := message(t, bob, urn)
	clk.Add(time.Second)
	if task := status(t, bob, msg); task.Status != outx.StatusFailed {
		t.Fatalf("bob's message = %+v, want failed", task)
	}
	if _, err := bob.GetTaskStatus(context.Background(), invite); err == nil {
		t.Fatal("bob read alice's task")
	}
	if !srv.Accept("bob", urn) || srv.Accept("carol", urn) {
		t.Fatal("Accept: want true for bob, false for an unknown team")
	}
	if got := srv.Connections("bob"); len(got) != 1 {
		t.Fatalf("bob's connections after Accept = %q", got)
	}
}

func TestAdminConnections(t *testing.T) {
	clk := newClock()
	sb := outxtest.New(outxtest.Options{Now: clk.Now})
	mux := http.NewServeMux()
	mux.Handle(outxtest.AdminPrefix, sb.AdminHandler())
	mux.Handle("/", sb)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, _ := outx.New(srv.URL, outxtest.DefaultAPIKey)

	urn := outxtest.Ignores + "-1"
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"profile_urn":"` + urn + `"}`, 204},
		{`{"team":"no-admin","profile_urn":"urn:li:person:x"}`, 204},
		{`{"team":"nobody","profile_urn":"urn:li:person:x"}`, 404},
		{`{"profile_urn":"urn:li:company:1"}`, 400},
		{`{}`, 400},
	} {
		if status, body := do(t, "POST", srv.URL+"/_sandbox/connections", "", tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.body, status, body, tc.status)
		}
	}
	if got := sb.Connections(outxtest.DefaultTeam); len(got) != 1 || got[0] != urn {
		t.Fatalf("Connections = %q", got)
	}
	resp, err := http.Get(srv.URL + "/_sandbox/connections?team=no-admin")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	_ = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if len(listed) != 1 || listed[0] != "urn:li:person:x" {
		t.Fatalf("GET connections = %q", listed)
	}

	msg := message(t, c, urn)
	invite := connect(t, c, urn, "Hello")
	clk.Add(time.Minute)
	if !status(t, c, msg).Sent() || !status(t, c, invite).AlreadyConnected() {
		t.Fatal("an Ignores person accepted through the admin endpoint is a connection")
	}

	resp, err = http.Get(srv.URL + "/_sandbox/tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tasks []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil {
		t.Fatal(err)
	}
	last := tasks[len(tasks)-1]
	if last["type"] != outxtest.TypeSendConnectionRequest || last["team"] != outxtest.DefaultTeam ||
		last["note"] != "Hello" || last["recipient_urn"] != urn || last["finished_at"] == nil {
		t.Fatalf("GET tasks' last = %v", last)
	}
}
