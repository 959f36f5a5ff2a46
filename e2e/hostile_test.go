package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/outpacehq/outpace/workflows"
)

// hostileCase is one bad input at one door. Exactly one of starter and
// workflow is set.
type hostileCase struct {
	door, name string
	// starter runs `starter <args>`; "{dir}" in an argument is a directory
	// of the case's own, "{hostile}" the corpus in testdata/hostile.
	starter []string
	// workflow is started with the official temporal CLI: the type, the
	// input (after the same replacements) or, for inputs too large for a
	// command line, inputFile.
	workflow, input, inputFile string
	setup                      func(t *testing.T, dir string) // writes the case's files
	// code is the starter's exit status (2: bad input, nothing sent); 0
	// marks an input that is not an error (a decision, documented).
	code int
	// want are substrings of the starter's output, or of the run's failure
	// (or of the CLI's output, when the CLI itself refuses).
	want []string
	// cliRefuses: the temporal CLI or the server refuses the start itself.
	cliRefuses bool
}

// hostileCases is the corpus: every door a person or a script can reach,
// each input broken in the ways people and attackers break them.
func hostileCases() []hostileCase {
	long := strings.Repeat("x", 10001)
	longEmoji := strings.Repeat("😀", 5000) + "!"
	mustBeURN := "recipient_urn: must be a LinkedIn person URN urn:li:person:<id>"
	send := func(args ...string) []string {
		return append([]string{"send", "--wait"}, args...)
	}
	preview := func(args ...string) []string {
		return append([]string{"campaign", "preview"}, args...)
	}
	start := func(id string, args ...string) []string {
		return append([]string{"campaign", "start", "--id", id}, args...)
	}
	csv := func(name string) string { return "{hostile}/" + name }
	tpl := []string{"--template", "Hi {{first_name}}!"}
	withTpl := func(args ...string) []string { return append(args, tpl...) }

	cases := []hostileCase{
		// --- starter send: flags ---
		{door: "send flags", name: "URN of another kind", starter: send("--to", "urn:li:member:42", "--message", "Hi"), code: 2,
			want: []string{mustBeURN, `(got "urn:li:member:42")`, "nothing was sent"}},
		{door: "send flags", name: "profile URL for a URN", starter: send("--to", "https://www.linkedin.com/in/ada", "--message", "Hi"), code: 2,
			want: []string{"recipient_urn:", "is a profile URL, not a URN"}},
		{door: "send flags", name: "SQL injection in the URN", starter: send("--to", `urn:li:person:abc"; DROP TABLE recipients; --`, "--message", "Hi"), code: 2,
			want: []string{mustBeURN, `DROP TABLE`}},
		{door: "send flags", name: "path traversal in the URN", starter: send("--to", "urn:li:person:../../etc/passwd", "--message", "Hi"), code: 2,
			want: []string{mustBeURN, `"urn:li:person:../../etc/passwd"`}},
		{door: "send flags", name: "CRLF injection in the URN", starter: send("--to", "urn:li:person:abc\r\nX-Injected: 1", "--message", "Hi"), code: 2,
			want: []string{mustBeURN, `"urn:li:person:abc\r\nX-Injected: 1"`}},
		{door: "send flags", name: "homoglyph in the URN", starter: send("--to", "urn:li:p\u0435rson:abc", "--message", "Hi"), code: 2,
			want: []string{mustBeURN, "U+0435 at byte 8 is not an ASCII character: a look-alike letter?"}},
		{door: "send flags", name: "URN id over 100 characters", starter: send("--to", "urn:li:person:"+strings.Repeat("a", 101), "--message", "Hi"), code: 2,
			want: []string{mustBeURN, "1 to 100 letters"}},
		{door: "send flags", name: "URN with a trailing space", starter: send("--to", "urn:li:person:abc ", "--message", "Hi"), code: 2,
			want: []string{"recipient_urn: must not have leading or trailing spaces"}},
		{door: "send flags", name: "no recipient", starter: send("--to", "", "--message", "Hi"), code: 2,
			want: []string{"--to: is required"}},
		{door: "send flags", name: "empty message", starter: send("--to", "urn:li:person:h1", "--message", ""), code: 2,
			want: []string{"message: must not be empty"}},
		{door: "send flags", name: "whitespace message", starter: send("--to", "urn:li:person:h1", "--message", " \t\n \u00a0"), code: 2,
			want: []string{"message: must not be only whitespace"}},
		{door: "send flags", name: "zero-width message", starter: send("--to", "urn:li:person:h1", "--message", "\u200b\u200d\ufeff\u2060"), code: 2,
			want: []string{"message: must not be only whitespace or invisible characters"}},
		{door: "send flags", name: "control character in the message", starter: send("--to", "urn:li:person:h1", "--message", "Hi\x07 Ada"), code: 2,
			want: []string{"message: must not contain control character U+0007 (at byte 2)"}},
		{door: "send flags", name: "message of 10,001 characters", starter: send("--to", "urn:li:person:h1", "--message", long), code: 2,
			want: []string{"message: is 10001 characters long", "the limit is 10000"}},
		{door: "send flags", name: "message of 5,000 emoji and one more character", starter: send("--to", "urn:li:person:h1", "--message", longEmoji), code: 2,
			want: []string{"message: is 10001 characters long (UTF-16 code units"}},
		{door: "send flags", name: "message file with invalid UTF-8", starter: send("--to", "urn:li:person:h1", "--message-file", csv("invalid-utf8-message.txt")), code: 2,
			want: []string{"message: must be valid UTF-8 text"}},
		{door: "send flags", name: "message file that never ends (/dev/zero)", starter: send("--to", "urn:li:person:h1", "--message-file", "/dev/zero"), code: 2,
			want: []string{"--message-file /dev/zero: more than 1 MiB"}},
		{door: "send flags", name: "message file that is a directory", starter: send("--to", "urn:li:person:h1", "--message-file", "{dir}"), code: 2,
			want: []string{"--message-file", "is a directory"}},
		{door: "send flags", name: "message file that does not exist", starter: send("--to", "urn:li:person:h1", "--message-file", "{dir}/nope.txt"), code: 2,
			want: []string{"--message-file", "no such file or directory"}},
		{door: "send flags", name: "message and message file", starter: send("--to", "urn:li:person:h1", "--message", "Hi", "--message-file", csv("bom.csv")), code: 2,
			want: []string{"give either --message or --message-file, not both"}},
		{door: "send flags", name: "duration that is not one", starter: send("--to", "urn:li:person:h1", "--message", "Hi", "--send-deadline", "soon"), code: 2,
			want: []string{`invalid argument "soon" for "--send-deadline" flag`}},
		{door: "send flags", name: "negative deadline", starter: send("--to", "urn:li:person:h1", "--message", "Hi", "--poll-deadline", "-5m"), code: 2,
			want: []string{"--send-deadline and --poll-deadline: must be positive"}},
		{door: "send flags", name: "unknown flag", starter: send("--to", "urn:li:person:h1", "--message", "Hi", "--bogus"), code: 2,
			want: []string{"starter send: unknown flag: --bogus"}},
		{door: "send flags", name: "stray argument", starter: send("--to", "urn:li:person:h1", "--message", "Hi", "extra"), code: 2,
			want: []string{`unexpected arguments ["extra"]`}},
		{door: "send flags", name: "unknown command", starter: []string{"sned", "--to", "urn:li:person:h1"}, code: 2,
			want: []string{`starter: unknown command "sned"`}},

		// --- starter campaign: flags ---
		{door: "campaign flags", name: "start without an id", starter: []string{"campaign", "start", "--to", "urn:li:person:h1", "--template", "Hi"}, code: 2,
			want: []string{"--id: is required"}},
		{door: "campaign flags", name: "no recipients", starter: preview("--template", "Hi"), code: 2,
			want: []string{"--csv, --to or --recipients-json: one is required"}},
		{door: "campaign flags", name: "two recipient sources", starter: preview(withTpl("--csv", csv("bom.csv"), "--to", "urn:li:person:h1")...), code: 2,
			want: []string{"--csv, --to, --recipients-json: give one of them"}},
		{door: "campaign flags", name: "negative daily cap", starter: preview(withTpl("--to", "urn:li:person:h1", "--daily-cap", "-1")...), code: 2,
			want: []string{"pacing.daily_cap: must not be negative, got -1"}},
		{door: "campaign flags", name: "negative hourly cap", starter: preview(withTpl("--to", "urn:li:person:h1", "--hourly-cap", "-3")...), code: 2,
			want: []string{"pacing.hourly_cap: must not be negative, got -3"}},
		{door: "campaign flags", name: "cap that is not a number", starter: preview(withTpl("--to", "urn:li:person:h1", "--daily-cap", "ten")...), code: 2,
			want: []string{`invalid argument "ten" for "--daily-cap" flag`}},
		{door: "campaign flags", name: "maximum gap under the minimum", starter: preview(withTpl("--to", "urn:li:person:h1", "--min-gap", "5m", "--max-gap", "1m")...), code: 2,
			want: []string{"pacing.max_gap: must be at least min_gap (5m0s), got 1m0s"}},
		{door: "campaign flags", name: "negative gap", starter: preview(withTpl("--to", "urn:li:person:h1", "--min-gap", "-1s")...), code: 2,
			want: []string{"pacing.min_gap: must not be negative"}},
		{door: "campaign flags", name: "unknown time zone", starter: preview(withTpl("--to", "urn:li:person:h1", "--time-zone", "Mars/Olympus_Mons")...), code: 2,
			want: []string{`window.time_zone: "Mars/Olympus_Mons": unknown time zone`}},
		{door: "campaign flags", name: "path traversal as a time zone", starter: preview(withTpl("--to", "urn:li:person:h1", "--time-zone", "../../../etc/passwd")...), code: 2,
			want: []string{`window.time_zone: "../../../etc/passwd": unknown time zone`}},
		{door: "campaign flags", name: "the worker's local time zone", starter: preview(withTpl("--to", "urn:li:person:h1", "--time-zone", "Local")...), code: 2,
			want: []string{`window.time_zone: "Local": want an IANA time zone`}},
		{door: "campaign flags", name: "unknown day", starter: preview(withTpl("--to", "urn:li:person:h1", "--days", "mon-funday")...), code: 2,
			want: []string{`window.days: "mon-funday"`}},
		{door: "campaign flags", name: "hours ending before they start", starter: preview(withTpl("--to", "urn:li:person:h1", "--hours", "18:00-09:00")...), code: 2,
			want: []string{`window.hours: "18:00-09:00"`}},
		{door: "campaign flags", name: "hours past midnight", starter: preview(withTpl("--to", "urn:li:person:h1", "--hours", "25:00-26:00")...), code: 2,
			want: []string{`window.hours: "25:00-26:00"`}},
		{door: "campaign flags", name: "anytime and days", starter: preview(withTpl("--to", "urn:li:person:h1", "--anytime", "--days", "mon")...), code: 2,
			want: []string{"--anytime: give it or --days/--hours, not both"}},
		{door: "campaign flags", name: "negative send deadline", starter: preview(withTpl("--to", "urn:li:person:h1", "--send-deadline", "-1h")...), code: 2,
			want: []string{"--send-deadline: must be positive"}},
		{door: "campaign flags", name: "negative --show", starter: preview(withTpl("--to", "urn:li:person:h1", "--show", "-1")...), code: 2,
			want: []string{"--show: must not be negative"}},
		{door: "campaign flags", name: "bad URN inline", starter: start("hostile-inline-urn", "--to", "urn:li:person:ok1", "--to", `urn:li:person:x"; DROP TABLE`, "--template", "Hi"), code: 2,
			want: []string{"1 of 2 recipients are invalid, nothing was started", "recipient 2: " + mustBeURN}},
		{door: "campaign flags", name: "campaign id of 300 characters", starter: start(strings.Repeat("c", 300), withTpl("--to", "urn:li:person:h1")...), code: 2,
			want: []string{"campaign_id: at most 200 characters, as it names each recipient's run (it has 300)"}},
		{door: "campaign flags", name: "campaign id with a newline", starter: start("spring\nintro", withTpl("--to", "urn:li:person:h1")...), code: 2,
			want: []string{`campaign_id: "spring\nintro" must be valid text without control characters`}},
		{door: "campaign flags", name: "recipients JSON that does not parse", starter: preview(withTpl("--recipients-json", csv("recipients-malformed.json"))...), code: 2,
			want: []string{"--recipients-json", "want a JSON array of", "unexpected EOF"}},
		{door: "campaign flags", name: "recipients JSON with a variable beside the URN", starter: preview(withTpl("--recipients-json", csv("recipients-unknown-field.json"))...), code: 2,
			want: []string{`json: unknown field "first_name"`}},
		{door: "campaign flags", name: "1,001 inline recipients", starter: preview(withTpl("--recipients-json", "{dir}/many.json")...), code: 2,
			setup: func(t *testing.T, dir string) {
				rs := make([]map[string]any, 1001)
				for i := range rs {
					rs[i] = map[string]any{"recipient_urn": fmt.Sprintf("urn:li:person:many%d", i), "vars": map[string]string{"first_name": "A"}}
				}
				writeHostileJSON(t, filepath.Join(dir, "many.json"), rs)
			},
			want: []string{"recipients: at most 1000 inline (there are 1001)"}},

		// --- templates ---
		{door: "template", name: "unclosed placeholder", starter: preview("--to", "urn:li:person:h1", "--template-file", csv("unclosed-placeholder.txt")), code: 2,
			want: []string{`template: line 1, column 4: unclosed "{{"`}},
		{door: "template", name: "placeholder without a name", starter: preview("--to", "urn:li:person:h1", "--template", "Hi {{ }}!"), code: 2,
			want: []string{`placeholder "{{ }}" has no variable name`}},
		{door: "template", name: "nested braces", starter: preview("--to", "urn:li:person:h1", "--template", "Hi {{ {{first_name}} }}"), code: 2,
			want: []string{`invalid variable name "{{first_name"`}},
		{door: "template", name: "code in a placeholder", starter: preview("--to", "urn:li:person:h1", "--template", "Hi {{.Env.OUTX_API_KEY}}"), code: 2,
			want: []string{`invalid variable name ".Env.OUTX_API_KEY"`}},
		{door: "template", name: "empty template", starter: preview("--to", "urn:li:person:h1", "--template", ""), code: 2,
			want: []string{"template: must not be empty"}},
		{door: "template", name: "whitespace template", starter: preview("--to", "urn:li:person:h1", "--template", " \n\t "), code: 2,
			want: []string{"template: must not be only whitespace"}},
		{door: "template", name: "unknown variable", starter: start("hostile-unknown-var", "--csv", csv("bom.csv"), "--template", "Hi {{first_name}} at {{company}}"), code: 2,
			want: []string{"invalid recipients, nothing was started", `bom.csv: template variable "company" is not a column (columns: recipient_urn, first_name)`}},
		{door: "template", name: "template and template file", starter: preview("--to", "urn:li:person:h1", "--template", "Hi", "--template-file", csv("unclosed-placeholder.txt")), code: 2,
			want: []string{"--template, --template-file: give one, not both"}},
		{door: "template", name: "template file that never ends (/dev/zero)", starter: preview("--to", "urn:li:person:h1", "--template-file", "/dev/zero"), code: 2,
			want: []string{"--template-file /dev/zero: larger than 8 MB"}},
		{door: "template", name: "rendered message over the limit", starter: preview("--csv", csv("bom.csv"), "--template", strings.Repeat("y", 9999)+" {{first_name}}"), code: 2,
			want: []string{"line 2: message: is 10003 characters long"}},
		{door: "template", name: "a value that looks like a placeholder is not expanded (accepted)", starter: preview("--csv", csv("placeholder-in-value.csv"), "--template", "Hi {{first_name}} from {{company}}"), code: 0,
			want: []string{"valid 1  invalid 0", "Hi {{company}} from Acme"}},

		// --- CSV files ---
		{door: "csv", name: "no URN column", starter: preview(withTpl("--csv", csv("missing-urn-column.csv"))...), code: 2,
			want: []string{"line 1: the header must have a recipient_urn, profile_url or profile_slug column; its columns are \"name\", \"company\""}},
		{door: "csv", name: "no header row", starter: preview(withTpl("--csv", csv("headerless.csv"))...), code: 2,
			want: []string{"line 1: the header must have a recipient_urn", "is the header row missing?"}},
		{door: "csv", name: "a quote inside an unquoted field", starter: preview(withTpl("--csv", csv("bare-quote.csv"))...), code: 2,
			want: []string{`line 2: a '"' in an unquoted field (line 2, column`}},
		{door: "csv", name: "a quote never closed", starter: preview(withTpl("--csv", csv("unclosed-quote.csv"))...), code: 2,
			want: []string{`line 2: extraneous or missing '"' in a quoted field`}},
		{door: "csv", name: "byte order mark (accepted)", starter: preview(withTpl("--csv", csv("bom.csv"))...), code: 0,
			want: []string{"columns: recipient_urn, first_name", "valid 1  invalid 0", "Hi Ada!"}},
		{door: "csv", name: "NUL bytes", starter: start("hostile-nul", withTpl("--csv", csv("nul-bytes.csv"))...), code: 2,
			want: []string{"2 of 2 recipients are invalid", "line 2: message: must not contain control character U+0000", "line 3: " + mustBeURN, `"urn:li:person:nul\x00B"`}},
		{door: "csv", name: "binary garbage", starter: preview(withTpl("--csv", csv("binary-garbage.csv"))...), code: 2,
			want: []string{"line 1: the header must have a recipient_urn, profile_url or profile_slug column"}},
		{door: "csv", name: "a 50 MB file of one line", starter: preview(withTpl("--csv", "{dir}/one-line.csv")...), code: 2,
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "one-line.csv"), "recipient_urn,first_name\nurn:li:person:big,"+strings.Repeat("A", 50<<20)+"\n")
			},
			want: []string{"line 2: the row starting on this line is longer than 1048576 bytes"}},
		{door: "csv", name: "a file that never ends (/dev/zero)", starter: preview(withTpl("--csv", "/dev/zero")...), code: 2,
			want: []string{"/dev/zero: line 1: the row starting on this line is longer than 1048576 bytes"}},
		{door: "csv", name: "a directory", starter: preview(withTpl("--csv", "{dir}")...), code: 2,
			want: []string{"is a directory"}},
		{door: "csv", name: "a file that does not exist", starter: preview(withTpl("--csv", "{dir}/nope.csv")...), code: 2,
			want: []string{"--csv: open", "nope.csv: no such file or directory"}},
		{door: "csv", name: "5,000 columns", starter: preview(withTpl("--csv", "{dir}/wide.csv")...), code: 2,
			setup: func(t *testing.T, dir string) {
				cols := []string{"recipient_urn"}
				for i := range 4999 {
					cols = append(cols, fmt.Sprintf("c%d", i))
				}
				writeFile(t, filepath.Join(dir, "wide.csv"), strings.Join(cols, ",")+"\n")
			},
			want: []string{"line 1: the header has 5000 columns; at most 1000 are allowed"}},
		{door: "csv", name: "duplicate header", starter: preview(withTpl("--csv", csv("duplicate-headers.csv"))...), code: 2,
			want: []string{`line 1: header column "first_name" appears twice (columns 2 and 3)`}},
		{door: "csv", name: "header column without a name", starter: preview(withTpl("--csv", csv("empty-header-column.csv"))...), code: 2,
			want: []string{"line 1: header column 2 has no name"}},
		{door: "csv", name: "empty file", starter: preview(withTpl("--csv", csv("empty.csv"))...), code: 2,
			want: []string{"line 1: the file is empty"}},
		{door: "csv", name: "header and no rows", starter: start("hostile-header-only", withTpl("--csv", csv("header-only.csv"))...), code: 2,
			want: []string{"header-only.csv: no recipients (a header and no rows)"}},
		{door: "csv", name: "row with more fields than the header", starter: preview(withTpl("--csv", csv("wrong-field-count.csv"))...), code: 2,
			want: []string{"line 2: has 3 fields, the header has 2"}},
		{door: "csv", name: "injection-looking URNs", starter: start("hostile-injection", withTpl("--csv", csv("injection-urns.csv"))...), code: 2,
			want: []string{"5 of 5 recipients are invalid",
				`line 2: ` + mustBeURN, `DROP TABLE`,
				`line 3: ` + mustBeURN, `"urn:li:person:../../etc/passwd"`,
				`line 4: ` + mustBeURN, `crlf\nX-Injected: 1`,
				`line 6: ` + mustBeURN, "U+0435 at byte 8",
				`line 7: ` + mustBeURN, `$(touch /tmp/pwned)`}},
		{door: "csv", name: "empty variable", starter: start("hostile-empty-var", withTpl("--csv", csv("empty-variable.csv"))...), code: 2,
			want: []string{"1 of 2 recipients are invalid", `line 3: template variable "first_name" is missing or empty`}},
		{door: "csv", name: "profile URL off LinkedIn", starter: preview(withTpl("--csv", csv("not-linkedin-url.csv"))...), code: 2,
			want: []string{`line 2: profile_url: must be a linkedin.com/in/<slug> URL (got "https://evil.example/in/ada")`}},
		// A LinkedIn message is plain text, read by a person, never by a
		// spreadsheet: a value that a spreadsheet would run as a formula is
		// sent as written, and the report never starts a cell with it.
		{door: "csv", name: "spreadsheet formula in a variable (accepted, verbatim)", starter: preview(withTpl("--csv", csv("formula-variable.csv"))...), code: 0,
			want: []string{"valid 2  invalid 0", "Hi =cmd|' /C calc'!A0!", "Hi @SUM(1+1)*cmd|' /C calc'!A0!"}},
	}

	// --- workflow inputs, through the official temporal CLI ---
	invalidSend := func(name, input string, want ...string) hostileCase {
		return hostileCase{door: "temporal CLI", name: name, workflow: workflows.SendMessageWorkflow, input: input, want: append([]string{"type: MessageInvalid"}, want...)}
	}
	invalidCampaign := func(name, input string, want ...string) hostileCase {
		return hostileCase{door: "temporal CLI", name: name, workflow: workflows.CampaignWorkflow, input: input, want: append([]string{"type: InvalidCampaign", "campaign "}, want...)}
	}
	cases = append(cases,
		hostileCase{door: "temporal CLI", name: "SendMessage input that is not JSON", workflow: workflows.SendMessageWorkflow,
			input: `{recipient_urn: urn:li:person:cli1`, cliRefuses: true, want: []string{"input #1 is not valid JSON"}},
		invalidSend("SendMessage field of the wrong type", `{"recipient_urn":5,"message":"Hi"}`,
			"message invalid: recipient_urn: got number, want a string"),
		invalidSend("SendMessage input that is an array", `["urn:li:person:cli2","Hi"]`,
			"message invalid: input: got array, want an object"),
		invalidSend("SendMessage without fields", `{}`,
			"invalid: recipient_urn: is required; message: must not be empty"),
		invalidSend("SendMessage with misspelled fields", `{"recipient":"urn:li:person:cli3","msg":"Hi"}`,
			"invalid: recipient_urn: is required; message: must not be empty"),
		invalidSend("SendMessage deadline that is not a duration", `{"recipient_urn":"urn:li:person:cli4","message":"Hi","send_deadline":"soon"}`,
			`message invalid: send_deadline: got "soon", want a duration such as "90s", "15m" or "24h", or a number of seconds`),
		invalidSend("SendMessage deadline out of range", `{"recipient_urn":"urn:li:person:cli5","message":"Hi","poll_deadline":1e300}`,
			"message invalid: poll_deadline: got 1e300 seconds (out of range), want a duration"),
		invalidSend("SendMessage injection in the URN", `{"recipient_urn":"urn:li:person:x\"; DROP TABLE t; --","message":"Hi"}`,
			"invalid: "+mustBeURN),
		invalidSend("SendMessage zero-width message", `{"recipient_urn":"urn:li:person:cli6","message":"\u200b\u200c\u200d"}`,
			"invalid: message: must not be only whitespace or invisible characters"),
		hostileCase{door: "temporal CLI", name: "SendMessage input of 3 MB", workflow: workflows.SendMessageWorkflow, inputFile: "{dir}/huge.json", cliRefuses: true,
			setup: func(t *testing.T, dir string) {
				writeHostileJSON(t, filepath.Join(dir, "huge.json"), map[string]string{"recipient_urn": "urn:li:person:cli7", "message": strings.Repeat("x", 3<<20)})
			},
			want: []string{"Blob data size exceeds limit"}},
		invalidCampaign("Campaign without fields", `{}`,
			"template: must not be empty", "recipients: give recipients or recipients_file"),
		invalidCampaign("Campaign field of the wrong type", `{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli8"}],"pacing":{"daily_cap":"5"}}`,
			"pacing.daily_cap: got string, want a whole number"),
		invalidCampaign("Campaign gap that is not a duration", `{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli9"}],"pacing":{"min_gap":"a while"}}`,
			`pacing.min_gap: got "a while", want a duration such as "90s"`),
		invalidCampaign("Campaign with a bad time zone and hours", `{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli10"}],"window":{"time_zone":"Nowhere/City","hours":"9-5"}}`,
			`window.time_zone: "Nowhere/City": unknown time zone`),
		invalidCampaign("Campaign recipients file at a relative path", `{"template":"Hi","recipients_file":{"path":"people.csv"}}`,
			`recipients_file.path: "people.csv" must be an absolute path`),
		invalidCampaign("Campaign recipients file that does not exist", `{"template":"Hi","recipients_file":{"path":"{dir}/nope.csv"}}`,
			"recipients file: open", "nope.csv: no such file or directory"),
		invalidCampaign("Campaign recipients file that is a directory", `{"template":"Hi","recipients_file":{"path":"{dir}"}}`,
			"is a directory"),
		invalidCampaign("Campaign recipients file that never ends (/dev/zero)", `{"template":"Hi","recipients_file":{"path":"/dev/zero"}}`,
			"/dev/zero: line 1: the row starting on this line is longer than 1048576 bytes"),
		invalidCampaign("Campaign recipients file changed since it was checked", `{"template":"Hi {{first_name}}","recipients_file":{"path":"{hostile}/bom.csv","sha256":"`+strings.Repeat("0", 64)+`"}}`,
			"bom.csv changed since the campaign was checked", "expected "+strings.Repeat("0", 64)),
		invalidCampaign("Campaign recipients file that does not parse", `{"template":"Hi {{first_name}}","recipients_file":{"path":"{hostile}/unclosed-quote.csv"}}`,
			`unclosed-quote.csv: line 2: extraneous or missing '"' in a quoted field`),
		invalidCampaign("Campaign with a state pointing past its recipients", `{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli11"}],"state":{"run":1,"cursor":{"offset":99,"line":100}}}`,
			"state.cursor.offset: 99 is past the 1 inline recipients"),
		invalidCampaign("Campaign with a negative state", `{"template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli12"}],"state":{"run":1,"cursor":{"offset":-1,"line":0}}}`,
			"state: cursor and page_done must not be negative"),
		invalidCampaign("Campaign id of 300 characters", `{"campaign_id":"`+strings.Repeat("c", 300)+`","template":"Hi","recipients":[{"recipient_urn":"urn:li:person:cli13"}]}`,
			"campaign_id: at most 200 characters"),
		invalidCampaign("Campaign template that does not parse", `{"template":"Hi {{first_name","recipients":[{"recipient_urn":"urn:li:person:cli14"}]}`,
			`template: line 1, column 4: unclosed "{{"`),
	)
	return cases
}

// TestHostileInput feeds every bad input of the corpus through its door:
// the real starter, or the official temporal CLI to the real worker. Each is
// refused with a message naming the field or line and the rule; nothing
// reaches OutX; no process panics; the worker is still serving afterwards;
// a run started with a bad input ends failed at once, never stuck retrying.
func TestHostileInput(t *testing.T) {
	// On a lane: it counts every request its sandbox receives.
	s := up(t)
	t.Parallel()
	s = s.lane(t, "e2e-hostile", sandboxOptions())
	root, err := filepath.Abs(filepath.Join("testdata", "hostile"))
	if err != nil {
		t.Fatal(err)
	}
	cases := hostileCases()
	doors := map[string]int{}
	for _, c := range cases {
		doors[c.door]++
	}
	if len(cases) < 50 {
		t.Fatalf("the corpus has %d cases, want at least 50", len(cases))
	}
	t.Logf("%d hostile inputs: %v", len(cases), doors)
	before := len(s.sandbox.Requests())

	for i, c := range cases {
		t.Run(c.door+"/"+c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			expand := func(v string) string {
				return strings.NewReplacer("{dir}", dir, "{hostile}", root).Replace(v)
			}
			requests, workerLog := len(s.sandbox.Requests()), len(s.worker.Output())

			var out string
			if c.starter != nil {
				args := make([]string, len(c.starter))
				for j, a := range c.starter {
					args[j] = expand(a)
				}
				r := s.run(t, "starter", args...)
				out = r.stdout + r.stderr
				if r.code != c.code {
					t.Fatalf("exit %d, want %d: %s", r.code, c.code, r)
				}
			} else {
				out = s.startHostileWorkflow(t, fmt.Sprintf("hostile-%d", i), c, expand)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			for _, crash := range []string{"panic:", "goroutine ", "runtime error"} {
				if strings.Contains(out, crash) {
					t.Errorf("output shows a crash (%q):\n%s", crash, out)
				}
				if log := s.worker.Output()[workerLog:]; strings.Contains(log, crash) {
					t.Errorf("the worker logged a crash (%q):\n%s", crash, log)
				}
			}
			if n := len(s.sandbox.Requests()) - requests; n != 0 {
				t.Errorf("OutX received %d requests, want none", n)
			}
		})
	}

	if n := len(s.sandbox.Requests()) - before; n != 0 {
		t.Fatalf("OutX received %d requests during the corpus, want none", n)
	}
	select {
	case <-s.worker.Exited():
		t.Fatalf("the worker exited: %v\n%s", s.worker.Err(), s.worker.Output())
	default:
	}
}

// startHostileWorkflow starts a run with the temporal CLI and returns what
// refused it: the CLI's output when the CLI or the server refuses the start,
// else the run's failure, which must come at once (a run whose workflow task
// keeps failing, stuck, fails the test).
func (s *stack) startHostileWorkflow(t *testing.T, id string, c hostileCase, expand func(string) string) string {
	t.Helper()
	args := []string{"workflow", "start", "--address", s.address, "--namespace", "default",
		"--type", c.workflow, "--task-queue", s.queue, "--workflow-id", id}
	if c.inputFile != "" {
		args = append(args, "--input-file", expand(c.inputFile))
	} else {
		args = append(args, "--input", expand(c.input))
	}
	r := s.run(t, s.temporalCLI, args...)
	if c.cliRefuses {
		if r.code == 0 {
			t.Fatalf("the temporal CLI started the run: %s", r)
		}
		return r.stdout + r.stderr
	}
	if r.code != 0 {
		t.Fatalf("temporal workflow start: %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.client.GetWorkflow(ctx, id, "").Get(ctx, nil)
	if ctx.Err() != nil {
		d, derr := describe(context.Background(), s.client, id, "")
		t.Fatalf("run %s did not end within a minute (stuck on a bad input?): %v %v", id, d.GetPendingWorkflowTask(), derr)
	}
	if err == nil {
		t.Fatalf("run %s completed; want it failed", id)
	}
	d, derr := describe(context.Background(), s.client, id, "")
	if derr != nil {
		t.Fatal(derr)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("run %s is %s, want FAILED", id, st)
	}
	// Every workflow task completed: the bad input failed the run, it did
	// not make the worker fail (and retry) a workflow task.
	for _, e := range s.history(t, id, "") {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Fatalf("run %s has a failed workflow task: %v", id, e.GetWorkflowTaskFailedEventAttributes().GetFailure())
		}
	}
	return err.Error()
}

func writeHostileJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}
