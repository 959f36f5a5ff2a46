package outx_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

func TestValidateNote(t *testing.T) {
	emoji := "😀" // one rune, two UTF-16 code units
	cases := []struct {
		name string
		note string
		want string // substring of the rule; "" means valid
	}{
		{"no note", "", ""},
		{"whitespace only means no note", " \t\n\u00a0\ufeff", ""},
		{"plain note", "Hi Ada, we met at GopherCon.", ""},
		{"300 characters", strings.Repeat("a", 300), ""},
		{"301 characters", strings.Repeat("a", 301), "is 301 characters long after trimming"},
		{"300 characters inside whitespace (OutX trims)", "  \n" + strings.Repeat("a", 300) + "\t \u3000", ""},
		{"301 characters inside whitespace", " " + strings.Repeat("a", 301) + " ", "is 301 characters long after trimming"},
		{"150 emoji are 300 units", strings.Repeat(emoji, 150), ""},
		{"150 emoji and a letter are 301 units", strings.Repeat(emoji, 150) + "a", "is 301 characters long after trimming"},
		{"299 letters and an emoji are 301 units", strings.Repeat("a", 299) + emoji, "the limit is 300"},
		{"inner spaces count", strings.Repeat("a ", 150) + "a", "is 301 characters long"},
		{"multi-line note", "Hi Ada,\n\nglad to connect.", ""},
		{"invalid UTF-8", "hi \xff", "valid UTF-8"},
		{"escape sequence", "hi \x1b[31m", "control character U+001B"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := outx.ValidateNote(tc.note)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *outx.FieldError
			if !errors.As(err, &fe) || fe.Field != "note" || !strings.Contains(fe.Rule, tc.want) {
				t.Fatalf("got %v, want a note error containing %q", err, tc.want)
			}
		})
	}
	err := outx.ValidateNote(strings.Repeat("b", 312))
	if want := "note: is 312 characters long after trimming (UTF-16 code units, as OutX counts them); the limit is 300"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestValidateConnectionRequest(t *testing.T) {
	if err := outx.ValidateConnectionRequest(outx.SendConnectionRequestBody{ProfileURN: "urn:li:person:ACoAABCDEFG"}); err != nil {
		t.Fatalf("a URN and no note: %v", err)
	}
	err := outx.ValidateConnectionRequest(outx.SendConnectionRequestBody{ProfileURN: "https://www.linkedin.com/in/ada/", Note: strings.Repeat("x", 301)})
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *outx.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		fields = append(fields, fe.Field)
	}
	if strings.Join(fields, ",") != "profile_urn,note" || !strings.Contains(err.Error(), "profile_urn: \"https://www.linkedin.com/in/ada/\" is a profile URL") {
		t.Fatalf("got %v, want a profile_urn and a note error", err)
	}
	// The URN rules are the recipient_urn rules under the other name.
	for _, urn := range []string{"", " urn:li:person:a", "urn:li:member:1", "urn:li:pеrson:a"} {
		got := outx.ValidateConnectionRequest(outx.SendConnectionRequestBody{ProfileURN: urn})
		want := outx.ValidateRecipientURN(urn)
		if got == nil || got.Error() != "profile_urn"+strings.TrimPrefix(want.Error(), "recipient_urn") {
			t.Errorf("%q: got %v, want the recipient_urn rule %v", urn, got, want)
		}
	}
}

// FuzzNote checks ValidateNote on any text: its verdict agrees with the
// published rule, and an error is a bounded *FieldError for note.
func FuzzNote(f *testing.F) {
	for _, s := range []string{"", "   ", "Hi", strings.Repeat("😀", 151), "\x00", "\v\f", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, note string) {
		err := outx.ValidateNote(note)
		trimmed := strings.TrimFunc(note, outx.IsJSWhitespace)
		control := strings.ContainsFunc(note, func(r rune) bool {
			return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' && r != 0x85
		})
		want := trimmed == "" || (utf8.ValidString(note) && !control && outx.MessageLength(trimmed) <= outx.MaxNoteLength)
		if (err == nil) != want {
			t.Fatalf("ValidateNote(%q) = %v, want valid %v", note, err, want)
		}
		var fe *outx.FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "note" || len(err.Error()) > maxRuleLength) {
			t.Fatalf("error %#v is not a short *FieldError for note", err)
		}
	})
}

func TestTaskConnectionsShapes(t *testing.T) {
	cases := []struct {
		name, output string
		want         []string // nil means ok=false
	}{
		{"objects under connections", `{"connections":[{"profile_urn":"urn:li:person:a","connected_at":"2026-01-05T09:00:00Z"},{"profile_urn":"urn:li:person:b"}]}`, []string{"urn:li:person:a", "urn:li:person:b"}},
		{"strings under connections", `{"connections":["urn:li:person:a","urn:li:person:b"]}`, []string{"urn:li:person:a", "urn:li:person:b"}},
		{"top-level array of objects", `[{"profile_urn":"urn:li:person:a"}]`, []string{"urn:li:person:a"}},
		{"top-level array of strings", `["urn:li:person:a"]`, []string{"urn:li:person:a"}},
		{"one object down", `{"success":true,"data":{"connections":[{"urn":"urn:li:person:a"}],"total":1}}`, []string{"urn:li:person:a"}},
		{"empty list", `{"connections":[]}`, []string{}},
		{"no list", `{"sent":true}`, nil},
		{"connections not a list", `{"connections":"none"}`, nil},
		{"entry without a URN", `{"connections":[{"profile_urn":"urn:li:person:a"},{"name":"Ada"}]}`, nil},
		{"null output", `null`, nil},
		{"two objects down is too deep", `{"a":{"b":{"connections":[]}}}`, nil},
	}
	for _, tc := range cases {
		got, ok := outx.Task{Status: outx.StatusCompleted, Output: json.RawMessage(tc.output)}.Connections()
		if ok != (tc.want != nil) || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: got %q, %v; want %q, ok %v", tc.name, got, ok, tc.want, tc.want != nil)
		}
	}
}

func TestTaskAlreadyConnected(t *testing.T) {
	cases := []struct {
		status outx.TaskStatus
		output string
		want   bool
	}{
		{outx.StatusCompleted, `{"sent":false,"already_connected":true}`, true},
		{outx.StatusCompleted, `{"sent":true}`, false},
		{outx.StatusCompleted, `{"sent":false,"already_connected":false}`, false},
		{outx.StatusFailed, `{"error":"Invitation limit reached"}`, false},
		{outx.StatusPending, ``, false},
	}
	for _, tc := range cases {
		task := outx.Task{Status: tc.status, Output: json.RawMessage(tc.output)}
		if got := task.AlreadyConnected(); got != tc.want {
			t.Errorf("%s %s: AlreadyConnected = %v, want %v", tc.status, tc.output, got, tc.want)
		}
		if task.AlreadyConnected() && task.Sent() {
			t.Errorf("%s: both sent and already connected", tc.output)
		}
	}
}

func TestSendConnectionRequestAndFetchConnections(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	_, c := sandbox(t, outxtest.Options{TaskDelay: time.Second, AcceptDelay: time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	await := func(taskID string) outx.Task {
		t.Helper()
		task, err := c.GetTaskStatus(ctx, taskID)
		if err != nil {
			t.Fatal(err)
		}
		if !task.Finished() {
			t.Fatalf("task %s is %s, want finished", taskID, task.Status)
		}
		return task
	}

	urn := outxtest.Accepts + "-ada"
	invite, err := c.SendConnectionRequest(ctx, outx.SendConnectionRequestBody{ProfileURN: urn, Note: "Hi Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if invite.Message != "Send connection request task created successfully" {
		t.Fatalf("created = %+v", invite)
	}
	already, err := c.SendConnectionRequest(ctx, outx.SendConnectionRequestBody{ProfileURN: "urn:li:person:bob"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if task := await(invite.TaskID); !task.Sent() || task.AlreadyConnected() {
		t.Fatalf("invitation = %+v, want sent", task)
	}
	if task := await(already.TaskID); task.Sent() || !task.AlreadyConnected() {
		t.Fatalf("invitation to a connection = %+v, want already connected", task)
	}
	var input map[string]string
	if err := json.Unmarshal(await(already.TaskID).Input, &input); err != nil || input["task_type"] != "agent_send_connection_request" || input["profile_urn"] != "urn:li:person:bob" {
		t.Fatalf("task_input = %v, %v", input, err)
	}
	if _, present := input["note"]; present {
		t.Fatalf("an empty note must not be sent: task_input = %v", input)
	}

	now = now.Add(time.Minute)
	fetch, err := c.FetchConnections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	got, ok := await(fetch.TaskID).Connections()
	if !ok || len(got) != 1 || got[0] != urn {
		t.Fatalf("connections = %q, %v; want only %s (implicit connections are not listed)", got, ok, urn)
	}
}
