package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/inbound/api"
)

// hostile is one call an attacker, a broken script or a confused person
// might send: it must get a 4xx with a clear JSON error and change nothing.
type hostile struct {
	name         string
	method, path string
	token        string
	body         any
	header       []string
	status       int
	code         string
	field        string // the error's field, when it names one
}

func hostileCalls() []hostile {
	stop := func(fields string) string { return `{` + fields + `}` }
	ok := `"person":"urn:li:person:ACoAAHostile1","scope":"account","account":"alice"`
	huge := `{"person":"urn:li:person:ACoAAHostile1","scope":"account","account":"alice","reason":"` + strings.Repeat("x", 1<<20) + `"}`
	justOver := `{"person":"urn:li:person:ACoAAHostile1","reason":"` + strings.Repeat("y", 64<<10) + `"}`
	return []hostile{
		// Who is calling.
		{name: "no token", method: "POST", path: "/v1/stops", body: stop(ok), status: 401, code: api.CodeUnauthorized},
		{name: "wrong token", method: "POST", path: "/v1/stops", token: "wrong-0123456789abcdef0123456789", body: stop(ok), status: 401, code: api.CodeUnauthorized},
		{name: "a valid token less its last character", method: "POST", path: "/v1/dnc", token: aliceToken[:len(aliceToken)-1], body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 401, code: api.CodeUnauthorized},
		{name: "a valid token and one character more", method: "POST", path: "/v1/dnc", token: aliceToken + "0", body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 401, code: api.CodeUnauthorized},
		{name: "a token's name as the token", method: "POST", path: "/v1/dnc", token: "alice", body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 401, code: api.CodeUnauthorized},
		{name: "basic auth", method: "POST", path: "/v1/dnc", header: []string{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 401, code: api.CodeUnauthorized},
		{name: "bearer without a token", method: "DELETE", path: "/v1/dnc/urn:li:person:ACoAAHostile1", header: []string{"Authorization", "Bearer "}, status: 401, code: api.CodeUnauthorized},
		{name: "the token as a query parameter", method: "GET", path: "/v1/people/urn:li:person:ACoAAHostile1?access_token=" + aliceToken, status: 401, code: api.CodeUnauthorized},
		{name: "no token on an unknown route", method: "GET", path: "/admin", status: 401, code: api.CodeUnauthorized},
		// The body's size, media type and syntax.
		{name: "a 1 MiB body", method: "POST", path: "/v1/stops", token: aliceToken, body: huge, status: 413, code: api.CodeTooLarge},
		{name: "just over 64 KiB", method: "POST", path: "/v1/dnc", token: aliceToken, body: justOver, status: 413, code: api.CodeTooLarge},
		{name: "over 64 KiB, chunked", method: "POST", path: "/v1/dnc", token: aliceToken, body: chunked(justOver), status: 413, code: api.CodeTooLarge},
		{name: "a form, not JSON", method: "POST", path: "/v1/dnc", token: aliceToken, body: "person=urn:li:person:ACoAAHostile1", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: api.CodeUnsupportedMedia},
		{name: "truncated JSON", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":`, status: 400, code: api.CodeBadJSON},
		{name: "not JSON at all", method: "POST", path: "/v1/stops", token: aliceToken, body: `{person: urn:li:person:ACoAAHostile1}`, status: 400, code: api.CodeBadJSON},
		{name: "an empty body", method: "POST", path: "/v1/dnc", token: aliceToken, body: ``, status: 400, code: api.CodeBadJSON},
		{name: "an array of stops", method: "POST", path: "/v1/stops", token: aliceToken, body: `[` + stop(ok) + `]`, status: 400, code: api.CodeWrongType},
		{name: "null", method: "POST", path: "/v1/dnc", token: aliceToken, body: `null`, status: 400, code: api.CodeWrongType},
		{name: "two objects", method: "POST", path: "/v1/stops", token: aliceToken, body: stop(ok) + stop(ok), status: 400, code: api.CodeBadJSON},
		// Fields.
		{name: "person is a number", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":42,"scope":"account","account":"alice"}`, status: 400, code: api.CodeWrongType, field: "person"},
		{name: "scope is a boolean", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":true}`, status: 400, code: api.CodeWrongType, field: "scope"},
		{name: "reason is an object", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","reason":{"$ne":null}}`, status: 400, code: api.CodeWrongType, field: "reason"},
		{name: "an unknown field", method: "POST", path: "/v1/stops", token: aliceToken, body: stop(ok + `,"urn":"urn:li:person:ACoAAHostile2"`), status: 400, code: api.CodeUnknownField, field: "urn"},
		{name: "a field's name in another case", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"Person":"urn:li:person:ACoAAHostile1","reasons":"x"}`, status: 400, code: api.CodeUnknownField, field: "Person"},
		{name: "a field in capitals", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"PERSON":"urn:li:person:ACoAAHostile1"}`, status: 400, code: api.CodeUnknownField, field: "PERSON"},
		{name: "a field given twice", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:company:1","person":"urn:li:person:ACoAAHostile1"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "no person", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"reason":"replied"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "an unknown scope", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"galaxy"}`, status: 400, code: api.CodeInvalid, field: "scope"},
		{name: "scope campaign without a campaign", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"campaign"}`, status: 400, code: api.CodeInvalid, field: "campaign"},
		{name: "everywhere with an account", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"everywhere","account":"alice"}`, status: 400, code: api.CodeInvalid, field: "scope"},
		{name: "a shell command as the account", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"account","account":"alice; rm -rf /"}`, status: 400, code: api.CodeInvalid, field: "account"},
		{name: "a NUL in the campaign", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"campaign","campaign":"spring\u0000"}`, status: 400, code: api.CodeInvalid, field: "campaign"},
		{name: "a reason of 501 bytes", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","reason":"` + strings.Repeat("r", 501) + `"}`, status: 400, code: api.CodeInvalid, field: "reason"},
		{name: "terminal escapes in the reason", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","reason":"\u001b[2J\u001b[31mpwned"}`, status: 400, code: api.CodeInvalid, field: "reason"},
		{name: "invalid UTF-8 in the reason", method: "POST", path: "/v1/dnc", token: aliceToken, body: []byte("{\"person\":\"urn:li:person:ACoAAHostile1\",\"reason\":\"\xff\xfe\"}"), status: 400, code: api.CodeInvalid, field: "reason"},
		// URN look-alikes and injection-looking people.
		{name: "a Cyrillic look-alike in the URN", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAAНostile1"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a company URN", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:company:1337","scope":"account","account":"alice"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a URN with no id", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a URN with a space inside", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAA Hostile1"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a URN of 200 characters", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:` + strings.Repeat("A", 200) + `"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "SQL in the URN", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:x' OR '1'='1"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "SQL as a slug", method: "POST", path: "/v1/dnc", token: aliceToken, body: `{"person":"x'; DROP TABLE dnc; --"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a script as the person", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"<script>alert(1)</script>","scope":"everywhere"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a visibility query in the URN", method: "GET", path: "/v1/people/urn:li:person:x'%20OR%20WorkflowType%3D'SenderPacer", token: aliceToken, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "another site's profile URL", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"https://www.linkedin.com.evil.example/in/jane","scope":"everywhere"}`, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a path traversal to remove", method: "DELETE", path: "/v1/dnc/..%2F..%2Fetc%2Fpasswd", token: aliceToken, status: 400, code: api.CodeInvalid, field: "person"},
		{name: "a slug with a query string", method: "GET", path: "/v1/people/jane%3Fadmin%3D1", token: aliceToken, status: 400, code: api.CodeInvalid, field: "person"},
		// Routes and methods.
		{name: "GET the stops", method: "GET", path: "/v1/stops", token: aliceToken, status: 405, code: api.CodeMethodNotAllowed},
		{name: "PUT the list", method: "PUT", path: "/v1/dnc", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 405, code: api.CodeMethodNotAllowed},
		{name: "POST a person", method: "POST", path: "/v1/people/urn:li:person:ACoAAHostile1", token: aliceToken, body: `{}`, status: 405, code: api.CodeMethodNotAllowed},
		{name: "DELETE all stops", method: "DELETE", path: "/v1/stops", token: aliceToken, status: 405, code: api.CodeMethodNotAllowed},
		{name: "an unknown route", method: "GET", path: "/v1/admin/tokens", token: aliceToken, status: 404, code: api.CodeNotFound},
		{name: "the list itself is not readable", method: "GET", path: "/v1/dnc", token: aliceToken, status: 405, code: api.CodeMethodNotAllowed},
		// Meaning.
		{name: "a campaign that does not exist", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"urn:li:person:ACoAAHostile1","scope":"campaign","campaign":"no-such-campaign' OR 1=1"}`, status: 404, code: api.CodeNotFound, field: "campaign"},
		{name: "a slug nobody knows, in an account", method: "POST", path: "/v1/stops", token: aliceToken, body: `{"person":"https://www.linkedin.com/in/nobody-known-42","scope":"account","account":"alice"}`, status: 422, code: api.CodeUnresolved, field: "person"},
	}
}

// TestHostileCalls sends each hostile call to a real server (a real
// contacts store, the dev server): each gets its 4xx with a clear JSON
// error, and neither the do-not-contact list nor Temporal sees a change.
func TestHostileCalls(t *testing.T) {
	e := newEnv(t)
	// The old token is revoked: calls with it must now fail too.
	writeFile(t, e.tokens, "alice "+aliceToken+"\ncrm "+crmToken+"\n")
	calls := append(hostileCalls(),
		hostile{name: "a revoked token", method: "POST", path: "/v1/dnc", token: oldToken, body: `{"person":"urn:li:person:ACoAAHostile1"}`, status: 401, code: api.CodeUnauthorized})
	if len(calls) < 30 {
		t.Fatalf("%d hostile calls; the issue asks for at least 30", len(calls))
	}
	before := e.snapshot()
	for _, h := range calls {
		t.Run(h.name, func(t *testing.T) {
			c := e.do(h.method, h.path, h.token, h.body, h.header...)
			if c.status != h.status {
				t.Errorf("%s %s → %d, want %d: %s", h.method, clip(h.path), c.status, h.status, clip(string(c.resp)))
			}
			got := e.errorOf(c)
			if got.Code != h.code || (h.field != "" && got.Field != h.field) {
				t.Errorf("error %+v, want code %s, field %q", got, h.code, h.field)
			}
			if strings.Contains(got.Message, aliceToken) {
				t.Errorf("the error repeats what it should not: %s", got.Message)
			}
			if ct := c.respHeader.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if h.status == http.StatusUnauthorized && c.respHeader.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
			if after := e.snapshot(); !after.equal(before) {
				t.Errorf("the call changed something:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	if n := strings.Count(e.logs.String(), `"call refused"`); n < len(calls) {
		t.Errorf("%d refusals logged, want %d", n, len(calls))
	}
	if strings.Contains(e.logs.String(), "Hostile1") {
		t.Errorf("a refused call's person is in the log:\n%s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), `"msg":"call"`) {
		t.Errorf("a hostile call was logged as accepted:\n%s", e.logs.String())
	}
}
