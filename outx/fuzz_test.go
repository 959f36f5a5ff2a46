package outx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// The fuzz targets below run briefly in CI (make fuzz); their seed corpora,
// here and in testdata/fuzz, also run as ordinary tests.

var urnShape = regexp.MustCompile(`^urn:li:person:[A-Za-z0-9_-]{1,100}$`)

// maxRuleLength bounds an error's text whatever the input's size: values are
// quoted shortened, so a hostile input cannot flood a terminal or a history.
const maxRuleLength = 600

// FuzzValidate checks the validation rules on any text: no panic; a verdict
// that agrees with each published rule; every error a *FieldError naming its
// field, of bounded length.
func FuzzValidate(f *testing.F) {
	for _, s := range [][3]string{
		{"urn:li:person:ACoAABCDEFG", "Hi Ada, thanks for connecting!", "https://www.linkedin.com/in/jane-doe-123/"},
		{"urn:li:person:abc\"; DROP TABLE recipients; --", "\u200b\u200d\ufeff", "linkedin.com/in/"},
		{"urn:li:person:../../etc/passwd", " \t\r\n ", "https://evil.example/in/x"},
		{"urn:li:person:abc\r\nX-Injected: 1", "a\x00b", "www.linkedin.com/in/%zz"},
		{"urn:li:pеrson:abc", strings.Repeat("😀", 5000), "jane-doe"},
		{" urn:li:person:a", strings.Repeat("x", 10001), "https://linkedin.com/in/a/b?c#d"},
		{"urn:li:person:" + strings.Repeat("a", 101), "\xff\xfe", "://"},
		{"", "", ""},
		{"https://www.linkedin.com/in/ada", "=cmd|' /C calc'!A0", "HTTPS://WWW.LINKEDIN.COM/IN/ADA"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, urn, msg, url string) {
		checkFieldError := func(err error, field string) {
			t.Helper()
			var fe *outx.FieldError
			if !errors.As(err, &fe) || fe.Field != field || fe.Rule == "" {
				t.Fatalf("error %#v is not a *FieldError for %s", err, field)
			}
			if len(err.Error()) > maxRuleLength {
				t.Fatalf("error is %d bytes long: %.200s…", len(err.Error()), err)
			}
		}

		// URN: valid exactly when it has the published shape.
		err := outx.ValidateRecipientURN(urn)
		if (err == nil) != urnShape.MatchString(urn) {
			t.Fatalf("ValidateRecipientURN(%q) = %v, shape match %v", urn, err, urnShape.MatchString(urn))
		}
		if err != nil {
			checkFieldError(err, "recipient_urn")
		}

		// Message: valid exactly when it is UTF-8, has a visible
		// character, no control characters but tab and line breaks, and
		// at most 10,000 UTF-16 code units.
		err = outx.ValidateMessage(msg)
		visible, control := false, false
		for _, r := range msg {
			switch {
			case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
			case unicode.IsControl(r):
				control = true
			case !outx.IsJSWhitespace(r) && !unicode.Is(unicode.Cf, r):
				visible = true
			}
		}
		want := utf8.ValidString(msg) && visible && !control && outx.MessageLength(msg) <= outx.MaxMessageLength
		if (err == nil) != want {
			t.Fatalf("ValidateMessage(%q) = %v, want valid %v", msg, err, want)
		}
		if err != nil {
			checkFieldError(err, "message")
		}
		if n := outx.MessageLength(msg); n < utf8.RuneCountInString(msg) || n > 2*utf8.RuneCountInString(msg) {
			t.Fatalf("MessageLength(%q) = %d for %d runes", msg, n, utf8.RuneCountInString(msg))
		}

		// The whole request: valid exactly when both fields are.
		err = outx.ValidateSendMessage(outx.SendMessageRequest{RecipientURN: urn, Message: msg})
		if (err == nil) != (outx.ValidateRecipientURN(urn) == nil && outx.ValidateMessage(msg) == nil) {
			t.Fatalf("ValidateSendMessage(%q, %q) = %v", urn, msg, err)
		}

		// Profile URL: a slug comes out of a linkedin.com/in/ URL (or a
		// bare slug), anything else is a profile_url error.
		slug, err := outx.ProfileSlugFromURL(url)
		switch {
		case err != nil:
			checkFieldError(err, "profile_url")
		case slug == "" && strings.Contains(url, "/"):
			t.Fatalf("ProfileSlugFromURL(%q) = empty slug, no error", url)
		case strings.Contains(url, "/") && strings.Contains(slug, "/"):
			t.Fatalf("ProfileSlugFromURL(%q) = %q, a slug with a '/'", url, slug)
		}
	})
}

// answer is what the test server says next.
type answer struct {
	status int
	body   string
}

// FuzzAnswer sends each call to a real HTTP server whose answer (status and
// body) is fuzzed, as if OutX, a proxy or a broken gateway answered. Whatever
// comes back: no panic; a call that returns no error has what its caller
// relies on (a task id; a task); an error is an *APIError or a
// *TransportError; a 2xx answer without a usable task id is never read as
// "no task created", since OutX may have created one.
func FuzzAnswer(f *testing.F) {
	for _, a := range []answer{
		{200, `{"success":true,"api_agent_task_id":"t-1","message":"queued"}`},
		{200, `{"success":true,"data":{"id":"t-1","status":"completed","task_output":{"sent":true}}}`},
		{200, `{"success":true,"data":{"id":"t-1","status":"completed","task_output":{"profile":{"profile_urn":"urn:li:person:x"}}}}`},
		{200, `{"success":true,"data":{"id":"t-1","status":"failed","task_output":"not a connection"}}`},
		{200, `{"success":true,"data":{"id":"t-1","status":"completed","task_output":null}}`},
		{200, `{"success":false}`},
		{200, `{"success":true,"api_agent_task_id":""}`},
		{200, `{"success":true,"api_agent_task_id":7}`},
		{200, `<html>502 Bad Gateway</html>`},
		{200, `{"success":true,"data":null}`},
		{200, ``},
		{201, `{"success":true,"api_agent_task_id":"t-2"`},
		{302, ``},
		{400, `{"error":"Missing or invalid 'recipient_urn'"}`},
		{401, `{"error":"Invalid API key"}`},
		{403, `{"error":"Plugin installation required"}`},
		{404, `{"error":"No admin user found in team"}`},
		{429, `not json`},
		{500, `{"error":123}`},
		{503, "\x00\xff\xfe"},
	} {
		f.Add(a.status, a.body)
	}
	var mu sync.Mutex
	var next answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := next
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	f.Cleanup(srv.Close)
	c, err := outx.New(srv.URL, "fuzz-key")
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			status = 200 + (max(status, -status)%400+400)%400 // a status net/http can write
		}
		mu.Lock()
		next = answer{status, body}
		mu.Unlock()
		twoXX := status >= 200 && status <= 299

		checkErr := func(call string, err error) {
			t.Helper()
			var api *outx.APIError
			var tr *outx.TransportError
			switch {
			case errors.As(err, &api):
				if api.StatusCode != status || status < 400 {
					t.Fatalf("%s: %v from a %d answer", call, err, status)
				}
			case errors.As(err, &tr):
				if status >= 400 {
					t.Fatalf("%s: transport error %v for a %d answer, want an *APIError", call, err, status)
				}
			default:
				t.Fatalf("%s: %T %v, want *APIError or *TransportError", call, err, err)
			}
			if twoXX && outx.NoTaskCreated(err) {
				t.Fatalf("%s: a %d answer (%q) read as no task created: a resend could message twice", call, status, body)
			}
			if strings.Contains(err.Error(), "fuzz-key") {
				t.Fatalf("%s: the error shows the API key: %v", call, err)
			}
		}

		created, err := c.SendMessage(ctx, outx.SendMessageRequest{RecipientURN: "urn:li:person:a", Message: "Hi"})
		switch {
		case err != nil:
			checkErr("SendMessage", err)
		case created.TaskID == "" || !twoXX:
			t.Fatalf("SendMessage: no error, task id %q, from a %d answer", created.TaskID, status)
		}
		if _, err := c.FetchProfile(ctx, outx.FetchProfileRequest{ProfileSlug: "ada"}); err != nil {
			checkErr("FetchProfile", err)
		}

		task, err := c.GetTaskStatus(ctx, "t-1")
		if err != nil {
			checkErr("GetTaskStatus", err)
			return
		}
		if !twoXX {
			t.Fatalf("GetTaskStatus: no error from a %d answer", status)
		}
		// Reading the task never panics, and agrees with itself.
		if task.Sent() && (!task.Finished() || task.Status != outx.StatusCompleted) {
			t.Fatalf("task %+v is sent but not completed", task)
		}
		if task.Finished() && !task.Sent() && task.FailureReason() == "" {
			t.Fatalf("task %+v failed without a reason", task)
		}
		if urn, ok := task.ProfileURN(); ok && urn == "" {
			t.Fatalf("task %+v: ProfileURN ok with an empty URN", task)
		}
	})
}
