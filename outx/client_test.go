package outx_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

func newClient(t *testing.T, url, key string, opts ...outx.Option) *outx.Client {
	t.Helper()
	c, err := outx.New(url, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sandbox(t *testing.T, opts outxtest.Options) (*outxtest.Server, *outx.Client) {
	t.Helper()
	if opts.TaskDelay == 0 {
		opts.TaskDelay = 40 * time.Millisecond
	}
	srv := outxtest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv.URL, outxtest.DefaultAPIKey)
}

func TestSendMessageCreatesTaskThatCompletesAsSent(t *testing.T) {
	// The sandbox's clock is the test's, so a slow machine cannot finish the
	// task before its first read.
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, c := sandbox(t, outxtest.Options{TaskDelay: 50 * time.Millisecond, Now: clock})
	ctx := context.Background()
	created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: "urn:li:person:ACoAABCDEFG", Message: "Hi Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if !created.Success || created.TaskID == "" || created.Message != "Send message task created successfully" {
		t.Fatalf("created = %+v", created)
	}
	tasks := srv.TasksTo("urn:li:person:ACoAABCDEFG")
	if len(tasks) != 1 || tasks[0].ID != created.TaskID || tasks[0].Message != "Hi Ada" {
		t.Fatalf("sandbox tasks = %+v", tasks)
	}

	task, err := c.GetTaskStatus(ctx, created.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Finished() || task.Output != nil {
		t.Fatalf("fresh task = %+v, want unfinished with null output", task)
	}
	mu.Lock()
	now = now.Add(60 * time.Millisecond)
	mu.Unlock()
	task, err = c.GetTaskStatus(ctx, created.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if task.ID != created.TaskID || task.Status != outx.StatusCompleted || !task.Finished() || !task.Sent() {
		t.Fatalf("finished task = %+v", task)
	}
	if !strings.Contains(string(task.Input), `"task_type":"agent_send_message"`) {
		t.Fatalf("task_input = %s", task.Input)
	}
}

func TestTaskGoesPendingProcessingCompleted(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	srv, c := sandbox(t, outxtest.Options{TaskDelay: 10 * time.Second, Now: func() time.Time { return now }})
	_ = srv
	ctx := context.Background()
	created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: "urn:li:person:abc", Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Duration
		want outx.TaskStatus
	}{{0, outx.StatusPending}, {6 * time.Second, outx.StatusProcessing}, {10 * time.Second, outx.StatusCompleted}} {
		now = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(step.at)
		task, err := c.GetTaskStatus(ctx, created.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != step.want {
			t.Fatalf("at +%s: status %q, want %q", step.at, task.Status, step.want)
		}
	}
}

func TestSpecialRecipientsFinishAsDocumented(t *testing.T) {
	_, c := sandbox(t, outxtest.Options{TaskDelay: time.Millisecond})
	ctx := context.Background()
	cases := []struct {
		urn        string
		status     outx.TaskStatus
		sent       bool
		reasonPart string
	}{
		{outxtest.NotConnected + "-1", outx.StatusFailed, false, "1st-degree"},
		{outxtest.Unsent + "-1", outx.StatusCompleted, false, "did not send"},
		{"urn:li:person:ordinary", outx.StatusCompleted, true, ""},
	}
	for _, tc := range cases {
		created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: tc.urn, Message: "hello"})
		if err != nil {
			t.Fatalf("%s: %v", tc.urn, err)
		}
		time.Sleep(5 * time.Millisecond)
		task, err := c.GetTaskStatus(ctx, created.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != tc.status || task.Sent() != tc.sent {
			t.Errorf("%s: status %q sent %v, want %q %v", tc.urn, task.Status, task.Sent(), tc.status, tc.sent)
		}
		if !tc.sent && !strings.Contains(task.FailureReason(), tc.reasonPart) {
			t.Errorf("%s: reason %q lacks %q", tc.urn, task.FailureReason(), tc.reasonPart)
		}
	}
}

func TestSlowAndStuckRecipientsStayPending(t *testing.T) {
	now := time.Now()
	srv, c := sandbox(t, outxtest.Options{TaskDelay: time.Millisecond, SlowDelay: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	slow, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: outxtest.Slow + "-1", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: outxtest.Stuck + "-1", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	for _, id := range []string{slow.TaskID, stuck.TaskID} {
		if task, _ := c.GetTaskStatus(ctx, id); task.Finished() {
			t.Fatalf("task %s finished early: %+v", id, task)
		}
	}
	now = now.Add(2 * time.Minute)
	if task, _ := c.GetTaskStatus(ctx, slow.TaskID); !task.Sent() {
		t.Fatalf("slow task after its delay = %+v, want sent", task)
	}
	if task, _ := c.GetTaskStatus(ctx, stuck.TaskID); task.Finished() {
		t.Fatalf("stuck task finished by itself: %+v", task)
	}
	if !srv.Finish(stuck.TaskID, true) {
		t.Fatal("Finish refused an unfinished task")
	}
	if task, _ := c.GetTaskStatus(ctx, stuck.TaskID); !task.Sent() {
		t.Fatalf("stuck task after Finish = %+v", task)
	}
}

// TestDocumentedErrors covers every row of OutX's error tables: each becomes
// an *APIError matching its sentinel, and NoTaskCreated says a retry is safe.
func TestDocumentedErrors(t *testing.T) {
	srv, c := sandbox(t, outxtest.Options{})
	ctx := context.Background()
	send := func(c *outx.Client, urn, msg string) error {
		_, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: urn, Message: msg})
		return err
	}
	okURN := "urn:li:person:ACoAABCDEFG"
	cases := []struct {
		name   string
		call   func() error
		status int
		is     []error
		text   string
	}{
		{"missing recipient_urn", func() error { return send(c, "", "hi") }, 400,
			[]error{outx.ErrInvalidRecipientURN, outx.ErrBadRequest}, outxtest.TextInvalidRecipient},
		{"empty message", func() error { return send(c, okURN, "") }, 400,
			[]error{outx.ErrInvalidMessage, outx.ErrBadRequest}, outxtest.TextInvalidMessage},
		{"whitespace-only message", func() error { return send(c, okURN, " \n\t\u00a0\ufeff") }, 400,
			[]error{outx.ErrInvalidMessage}, outxtest.TextInvalidMessage},
		{"message too long", func() error { return send(c, okURN, strings.Repeat("😀", 5001)) }, 400,
			[]error{outx.ErrMessageTooLong, outx.ErrBadRequest}, outxtest.TextTooLong},
		{"invalid API key", func() error { return send(newClient(t, srv.URL, "wrong-key"), okURN, "hi") }, 401,
			[]error{outx.ErrInvalidAPIKey, outx.ErrUnauthorized}, outxtest.TextInvalidKey},
		{"no admin in team", func() error { return send(newClient(t, srv.URL, outxtest.NoAdminAPIKey), okURN, "hi") }, 404,
			[]error{outx.ErrNoAdmin}, outxtest.TextNoAdmin},
		{"task id missing", func() error { _, err := c.GetTaskStatus(ctx, ""); return err }, 400,
			[]error{outx.ErrInvalidTaskID, outx.ErrBadRequest}, outxtest.TextInvalidTaskID},
		{"task not found", func() error { _, err := c.GetTaskStatus(ctx, "6f1c1a3e-0000-4000-8000-000000000000"); return err }, 404,
			[]error{outx.ErrTaskNotFound}, outxtest.TextTaskNotFound},
		{"profile slug missing", func() error { _, err := c.FetchProfile(ctx, outx.FetchProfileRequest{}); return err }, 400,
			[]error{outx.ErrInvalidProfileSlug, outx.ErrBadRequest}, outxtest.TextInvalidSlug},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var api *outx.APIError
			if !errors.As(err, &api) {
				t.Fatalf("err = %v (%T), want *outx.APIError", err, err)
			}
			if api.StatusCode != tc.status || api.Message != tc.text {
				t.Fatalf("got %d %q, want %d %q", api.StatusCode, api.Message, tc.status, tc.text)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
			if !outx.NoTaskCreated(err) {
				t.Errorf("NoTaskCreated = false for a %d answer", tc.status)
			}
		})
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Fatalf("error answers created %d tasks", n)
	}
}

func TestMissingAPIKeyAnswer(t *testing.T) {
	srv, _ := sandbox(t, outxtest.Options{})
	resp, err := http.Post(srv.URL+outx.PathSendMessage, "application/json", strings.NewReader(`{"recipient_urn":"urn:li:person:a","message":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	// The client itself never sends without a key; its classification of
	// OutX's text is checked against a fixed answer.
	fixed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"Missing API Key"}`))
	}))
	defer fixed.Close()
	_, err = newClient(t, fixed.URL, "k").SendMessage(context.Background(), outx.SendMessageRequest{})
	if !errors.Is(err, outx.ErrMissingAPIKey) || !errors.Is(err, outx.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrMissingAPIKey", err)
	}
}

func TestFaultAnswers(t *testing.T) {
	srv, c := sandbox(t, outxtest.Options{})
	ctx := context.Background()
	req := outx.SendMessageRequest{RecipientURN: "urn:li:person:abc", Message: "hi"}
	cases := []struct {
		status    int
		is        error
		noTask    bool
		textMatch string
	}{
		{429, outx.ErrRateLimited, true, outxtest.TextRateLimited},
		{403, outx.ErrExtensionOffline, true, "Plugin installation required"},
		{503, outx.ErrServer, true, ""},
		{500, outx.ErrServer, false, ""},
		{502, outx.ErrServer, false, ""},
	}
	for _, tc := range cases {
		srv.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: tc.status, Times: 1})
		_, err := c.SendMessage(ctx, req)
		if !errors.Is(err, tc.is) {
			t.Errorf("%d: err = %v, want %v", tc.status, err, tc.is)
		}
		if got := outx.NoTaskCreated(err); got != tc.noTask {
			t.Errorf("%d: NoTaskCreated = %v, want %v", tc.status, got, tc.noTask)
		}
		if tc.textMatch != "" && !strings.Contains(err.Error(), tc.textMatch) {
			t.Errorf("%d: error %q lacks OutX's text %q", tc.status, err, tc.textMatch)
		}
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Fatalf("injected error answers created %d tasks", n)
	}
	// Faults with Times run out.
	if _, err := c.SendMessage(ctx, req); err != nil {
		t.Fatalf("after the faults ran out: %v", err)
	}
}

func TestExtensionOfflineFreezesTasksAnd403sEverything(t *testing.T) {
	now := time.Now()
	srv, c := sandbox(t, outxtest.Options{TaskDelay: 10 * time.Second, Now: func() time.Time { return now }})
	ctx := context.Background()
	created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: "urn:li:person:abc", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetExtensionOffline(true)
	now = now.Add(time.Hour)
	if _, err := c.GetTaskStatus(ctx, created.TaskID); !errors.Is(err, outx.ErrExtensionOffline) {
		t.Fatalf("status while offline: %v, want 403", err)
	}
	if _, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: "urn:li:person:abc", Message: "hi"}); !errors.Is(err, outx.ErrExtensionOffline) || !outx.NoTaskCreated(err) {
		t.Fatalf("send while offline: %v, want 403 with no task", err)
	}
	srv.SetExtensionOffline(false)
	if task, _ := c.GetTaskStatus(ctx, created.TaskID); task.Finished() {
		t.Fatalf("task finished although the extension was offline: %+v", task)
	}
	now = now.Add(11 * time.Second)
	if task, _ := c.GetTaskStatus(ctx, created.TaskID); !task.Sent() {
		t.Fatalf("task after the extension came back = %+v", task)
	}
	if n := len(srv.Tasks()); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

func TestTasksOfAnotherTeamAreNotFound(t *testing.T) {
	srv, c := sandbox(t, outxtest.Options{Teams: []outxtest.Team{
		{Name: "a", APIKey: "key-a"}, {Name: "b", APIKey: "key-b"},
	}})
	a, b := newClient(t, srv.URL, "key-a"), newClient(t, srv.URL, "key-b")
	_ = c
	created, err := a.SendMessage(context.Background(), outx.SendMessageRequest{RecipientURN: "urn:li:person:x", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTaskStatus(context.Background(), created.TaskID); !errors.Is(err, outx.ErrTaskNotFound) {
		t.Fatalf("team b reading team a's task: %v, want ErrTaskNotFound", err)
	}
	if got := srv.Tasks()[0].Team; got != "a" {
		t.Fatalf("task recorded for team %q, want a", got)
	}
}

func TestFetchProfileResolvesURN(t *testing.T) {
	_, c := sandbox(t, outxtest.Options{TaskDelay: time.Millisecond})
	ctx := context.Background()
	created, err := c.FetchProfile(ctx, outx.FetchProfileRequest{ProfileSlug: "jane-doe-42"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	task, err := c.GetTaskStatus(ctx, created.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	urn, ok := task.ProfileURN()
	if !ok || urn != "urn:li:person:jane-doe-42" {
		t.Fatalf("ProfileURN = %q, %v (task %+v)", urn, ok, task)
	}
	if outx.ValidateRecipientURN(urn) != nil {
		t.Fatalf("resolved URN %q is not valid", urn)
	}
}

func TestTransportFailuresAreClassified(t *testing.T) {
	ctx := context.Background()
	req := outx.SendMessageRequest{RecipientURN: "urn:li:person:abc", Message: "hi"}

	t.Run("connection refused: no task", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = newClient(t, "http://"+addr, "k").SendMessage(ctx, req)
		var tr *outx.TransportError
		if !errors.As(err, &tr) || tr.Ambiguous || !outx.NoTaskCreated(err) {
			t.Fatalf("err = %v, want an unambiguous TransportError", err)
		}
	})

	t.Run("answer lost after the task was created: ambiguous", func(t *testing.T) {
		srv, c := sandbox(t, outxtest.Options{})
		srv.Inject(outxtest.Fault{Path: outx.PathSendMessage, LoseAnswer: true, Times: 1})
		_, err := c.SendMessage(ctx, req)
		var tr *outx.TransportError
		if !errors.As(err, &tr) || !tr.Ambiguous || outx.NoTaskCreated(err) {
			t.Fatalf("err = %v, want an ambiguous TransportError", err)
		}
		if n := len(srv.Tasks()); n != 1 {
			t.Fatalf("sandbox has %d tasks, want the 1 whose answer was lost", n)
		}
	})

	t.Run("timeout after the request was written: ambiguous", func(t *testing.T) {
		srv, _ := sandbox(t, outxtest.Options{})
		c := newClient(t, srv.URL, outxtest.DefaultAPIKey, outx.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
		srv.Inject(outxtest.Fault{Path: outx.PathSendMessage, LatencyMS: 1000, Times: 1})
		_, err := c.SendMessage(ctx, req)
		var tr *outx.TransportError
		if !errors.As(err, &tr) || !tr.Ambiguous {
			t.Fatalf("err = %v, want an ambiguous TransportError", err)
		}
	})

	t.Run("context already done: no task", func(t *testing.T) {
		srv, c := sandbox(t, outxtest.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.SendMessage(cctx, req)
		if !outx.NoTaskCreated(err) {
			t.Fatalf("err = %v, want NoTaskCreated", err)
		}
		if len(srv.Requests()) != 0 {
			t.Fatal("a request reached the sandbox")
		}
	})
}

func TestClientToleratesUnknownFieldsAndStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case outx.PathSendMessage:
			_, _ = w.Write([]byte(`{"success":true,"api_agent_task_id":"t-1","message":"ok","queue_position":3,"extra":{"a":1}}`))
		default:
			_, _ = w.Write([]byte(`{"success":true,"data":{"id":"t-1","status":"waiting_for_extension","task_input":{},"task_output":null,"created_at":"2026-01-01","priority":2}}`))
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "k")
	created, err := c.SendMessage(context.Background(), outx.SendMessageRequest{})
	if err != nil || created.TaskID != "t-1" {
		t.Fatalf("SendMessage = %+v, %v", created, err)
	}
	task, err := c.GetTaskStatus(context.Background(), "t-1")
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != "waiting_for_extension" || task.Finished() || task.Output != nil {
		t.Fatalf("task = %+v: an unknown status must be kept and treated as unfinished", task)
	}
}

func TestSuccessStatusWithoutTaskIDIsAmbiguous(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<html>maintenance</html>`))
	}))
	defer srv.Close()
	_, err := newClient(t, srv.URL, "k").SendMessage(context.Background(), outx.SendMessageRequest{})
	var tr *outx.TransportError
	if !errors.As(err, &tr) || !tr.Ambiguous {
		t.Fatalf("err = %v, want ambiguous: a 200 may have created the task", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	_, err := newClient(t, srv.URL, "k").SendMessage(context.Background(), outx.SendMessageRequest{})
	if err == nil || hits != 1 {
		t.Fatalf("err = %v, hits = %d: a redirected POST must not be replayed", err, hits)
	}
	if outx.NoTaskCreated(err) {
		t.Fatal("a 3xx answer to a POST must count as ambiguous")
	}
}

func TestAPIKeyNeverInErrorsOrString(t *testing.T) {
	const key = "sk-outx-SECRET-1234567890"
	srv, _ := sandbox(t, outxtest.Options{})
	c := newClient(t, srv.URL, key)
	_, err := c.SendMessage(context.Background(), outx.SendMessageRequest{RecipientURN: "urn:li:person:a", Message: "m"})
	if err == nil {
		t.Fatal("want 401 for an unknown key")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err2 := newClient(t, "http://"+addr, key).GetTaskStatus(context.Background(), "x")
	for _, s := range []string{err.Error(), err2.Error(), c.String(), c.GoString()} {
		if strings.Contains(s, key) {
			t.Fatalf("the API key leaked into %q", s)
		}
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	for _, tc := range []struct{ url, key, want string }{
		{"ftp://x", "k", "absolute http(s) URL"},
		{"not a url", "k", "absolute http(s) URL"},
		{"https://user:pass@api.outx.ai", "k", "must not contain credentials"},
		{"", " ", "OUTX_API_KEY"},
	} {
		_, err := outx.New(tc.url, tc.key)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) = %v, want error containing %q", tc.url, tc.key, err, tc.want)
		}
	}
	c, err := outx.New("", "k")
	if err != nil || c.BaseURL() != outx.DefaultBaseURL {
		t.Fatalf("default base URL = %v, %v", c, err)
	}
}
