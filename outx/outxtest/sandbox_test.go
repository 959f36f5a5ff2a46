package outxtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// do sends a raw request, as any HTTP client would, and returns the status
// and the decoded body.
func do(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestProtocolMatchesThePublishedContract(t *testing.T) {
	srv := outxtest.NewServer(outxtest.Options{})
	defer srv.Close()
	send := srv.URL + outx.PathSendMessage
	key := outxtest.DefaultAPIKey
	cases := []struct {
		name, method, url, key, body string
		status                       int
		errText                      string
	}{
		{"missing key", "POST", send, "", `{"recipient_urn":"urn:li:person:a","message":"m"}`, 401, outxtest.TextMissingKey},
		{"wrong key", "POST", send, "nope", `{"recipient_urn":"urn:li:person:a","message":"m"}`, 401, outxtest.TextInvalidKey},
		{"urn not a string", "POST", send, key, `{"recipient_urn":42,"message":"m"}`, 400, outxtest.TextInvalidRecipient},
		{"urn missing", "POST", send, key, `{"message":"m"}`, 400, outxtest.TextInvalidRecipient},
		{"message not a string", "POST", send, key, `{"recipient_urn":"urn:li:person:a","message":["m"]}`, 400, outxtest.TextInvalidMessage},
		{"message missing", "POST", send, key, `{"recipient_urn":"urn:li:person:a"}`, 400, outxtest.TextInvalidMessage},
		{"not JSON", "POST", send, key, `recipient_urn=a`, 400, "Invalid JSON body"},
		{"GET on a POST endpoint", "GET", send, key, ``, 405, "Method not allowed"},
		{"unknown path", "GET", srv.URL + "/linkedin-agent/nope", key, ``, 404, "Not found"},
		{"task id missing", "GET", srv.URL + outx.PathGetTaskStatus, key, ``, 400, outxtest.TextInvalidTaskID},
	}
	for _, tc := range cases {
		status, body := do(t, tc.method, tc.url, tc.key, tc.body)
		if status != tc.status || body["error"] != tc.errText {
			t.Errorf("%s: got %d %v, want %d {\"error\": %q}", tc.name, status, body, tc.status, tc.errText)
		}
	}

	status, body := do(t, "POST", send, key, `{"recipient_urn":"urn:li:person:a","message":"m","unknown_field":1}`)
	if status != 200 || body["success"] != true || body["message"] != "Send message task created successfully" || body["api_agent_task_id"] == "" {
		t.Fatalf("success answer = %d %v", status, body)
	}
	status, body = do(t, "GET", srv.URL+outx.PathGetTaskStatus+"?api_agent_task_id="+body["api_agent_task_id"].(string), key, "")
	data, _ := body["data"].(map[string]any)
	if status != 200 || body["success"] != true || data["status"] != "pending" {
		t.Fatalf("status answer = %d %v", status, body)
	}
	if _, present := data["task_output"]; !present || data["task_output"] != nil {
		t.Fatalf("task_output must be present and null while pending: %v", data)
	}
	if got := len(srv.Requests()); got != len(cases)+2 {
		t.Fatalf("recorded %d requests, want %d", got, len(cases)+2)
	}
}

func TestOnceRecipientsFailFirstThenSucceed(t *testing.T) {
	srv := outxtest.NewServer(outxtest.Options{})
	defer srv.Close()
	body := func(urn string) string { return `{"recipient_urn":"` + urn + `","message":"hi"}` }
	for urn, first := range map[string]int{
		outxtest.RateLimitedOnce + "-1": 429,
		outxtest.UnavailableOnce + "-1": 503,
	} {
		if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, outxtest.DefaultAPIKey, body(urn)); status != first {
			t.Errorf("%s first send: %d, want %d", urn, status, first)
		}
		if n := len(srv.TasksTo(urn)); n != 0 {
			t.Errorf("%s: the refused send created %d tasks", urn, n)
		}
		if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, outxtest.DefaultAPIKey, body(urn)); status != 200 {
			t.Errorf("%s second send: %d, want 200", urn, status)
		}
	}

	urn := outxtest.LostAnswerOnce + "-1"
	req, _ := http.NewRequest("POST", srv.URL+outx.PathSendMessage, strings.NewReader(body(urn)))
	req.Header.Set("x-api-key", outxtest.DefaultAPIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("lost answer: got status %d, want a dropped connection", resp.StatusCode)
	}
	if n := len(srv.TasksTo(urn)); n != 1 {
		t.Fatalf("lost answer: %d tasks, want the 1 created before the connection dropped", n)
	}
	if last := srv.Requests()[len(srv.Requests())-1]; last.Status != 0 {
		t.Fatalf("a lost answer is recorded with status 0, got %d", last.Status)
	}
}

func TestFaultScopeAndCount(t *testing.T) {
	srv := outxtest.NewServer(outxtest.Options{})
	defer srv.Close()
	srv.Inject(outxtest.Fault{Path: outx.PathGetTaskStatus, Status: 500, Times: 2})
	key := outxtest.DefaultAPIKey
	if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, key, `{"recipient_urn":"urn:li:person:a","message":"m"}`); status != 200 {
		t.Fatalf("a fault on another path changed a send: %d", status)
	}
	statusURL := srv.URL + outx.PathGetTaskStatus + "?api_agent_task_id=" + srv.Tasks()[0].ID
	var got []int
	for range 3 {
		status, _ := do(t, "GET", statusURL, key, "")
		got = append(got, status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Fatalf("statuses %v, want [500 500 200]", got)
	}

	srv.Inject(outxtest.Fault{Status: 429}) // every path, until cleared
	for range 3 {
		if status, _ := do(t, "GET", statusURL, key, ""); status != 429 {
			t.Fatalf("status %d under a standing fault, want 429", status)
		}
	}
	srv.ClearFaults()
	if status, _ := do(t, "GET", statusURL, key, ""); status != 200 {
		t.Fatalf("status %d after ClearFaults", status)
	}
}

func TestAdminHandler(t *testing.T) {
	sb := outxtest.New(outxtest.Options{TaskDelay: time.Hour})
	mux := http.NewServeMux()
	mux.Handle(outxtest.AdminPrefix, sb.AdminHandler())
	mux.Handle("/", sb)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if status, _ := do(t, "POST", srv.URL+"/_sandbox/faults", "", `{"path":"`+outx.PathSendMessage+`","status":429,"times":1}`); status != 204 {
		t.Fatalf("add fault: %d", status)
	}
	sendBody := `{"recipient_urn":"urn:li:person:a","message":"m"}`
	if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, outxtest.DefaultAPIKey, sendBody); status != 429 {
		t.Fatalf("send under an injected 429: %d", status)
	}
	if status, _ := do(t, "PUT", srv.URL+"/_sandbox/extension", "", `{"online":false}`); status != 204 {
		t.Fatalf("extension offline: %d", status)
	}
	if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, outxtest.DefaultAPIKey, sendBody); status != 403 {
		t.Fatalf("send with the extension offline: %d", status)
	}
	do(t, "PUT", srv.URL+"/_sandbox/extension", "", `{"online":true}`)
	if status, _ := do(t, "POST", srv.URL+outx.PathSendMessage, outxtest.DefaultAPIKey, sendBody); status != 200 {
		t.Fatalf("send after the extension came back: %d", status)
	}
	if status, _ := do(t, "PUT", srv.URL+"/_sandbox/extension", "", `{}`); status != 400 {
		t.Fatalf("extension without online: %d, want 400", status)
	}

	resp, err := http.Get(srv.URL + "/_sandbox/tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tasks []outxtest.Task
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].RecipientURN != "urn:li:person:a" || tasks[0].Status != outx.StatusPending {
		t.Fatalf("tasks = %+v", tasks)
	}
}
