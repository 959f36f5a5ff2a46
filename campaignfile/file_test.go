package campaignfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/workflows"
)

func dur(d time.Duration) *workflows.Duration { w := workflows.Duration(d); return &w }
func num(n int) *int                          { return &n }

// exampleInput is what testdata/example.yaml and example.json describe.
func exampleInput() workflows.CampaignInput {
	return workflows.CampaignInput{
		Name:   "Spring launch",
		Sender: "alice",
		Window: workflows.SendingWindow{TimeZone: "Europe/Berlin", Days: "mon-fri", Hours: "09:00-17:30"},
		Pacing: workflows.Pacing{MinGap: dur(2 * time.Minute), MaxGap: dur(6 * time.Minute), HourlyCap: num(10), DailyCap: num(30)},
		Steps: []workflows.Step{
			{Type: workflows.StepConnect, Template: "Hi {{first_name}}, I saw your talk on {{topic}} and would like to connect."},
			{Type: workflows.StepWaitForConnection, Timeout: workflows.Duration(14 * 24 * time.Hour), CheckEvery: workflows.Duration(12 * time.Hour)},
			{Type: workflows.StepMessage, Template: "Thanks for connecting, {{first_name}}!\nWe are launching something for teams like {{company}}: may I send you a short demo?"},
			{Type: workflows.StepWait, Duration: workflows.Duration(3 * 24 * time.Hour), SendingDaysOnly: true},
			{Type: workflows.StepMessage, Name: "follow-up", Template: "{{first_name}}, just checking you saw my note. Happy to send the demo whenever suits you."},
		},
	}
}

func TestExamplesParse(t *testing.T) {
	csv, err := filepath.Abs(filepath.Join("testdata", "people.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"example.yaml", "example.json"} {
		t.Run(name, func(t *testing.T) {
			f, err := Load(filepath.Join("testdata", name))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if f.ID != "spring-2026" {
				t.Errorf("id = %q, want spring-2026", f.ID)
			}
			if f.Recipients != csv {
				t.Errorf("recipients = %q, want %q: a relative path is the file's directory's", f.Recipients, csv)
			}
			if want := exampleInput(); !reflect.DeepEqual(f.Input, want) {
				t.Errorf("input:\n got %+v\nwant %+v", f.Input, want)
			}
			if f.Input.CampaignID != "" || f.Input.RecipientsFile != nil || f.Input.Template != "" {
				t.Errorf("input = %+v: its campaign id and recipients are the caller's, and a file has steps, not a template", f.Input)
			}
		})
	}
}

func TestExampleLines(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int{"recipients": 9, "window.hours": 16, "steps[2].message": 29, "steps[4].message.text": 37, "steps[4].message.nonesuch": 36, "steps[9]": 24} {
		if got := f.Line(field); got != want {
			t.Errorf("Line(%q) = %d, want %d", field, got, want)
		}
	}
}

func TestShorthandsAndDefaults(t *testing.T) {
	f, err := Parse("/campaigns/short.yaml", []byte(`
steps:
  - connect
  - wait_for_connection
  - message: Hi {{first_name}}!
  - wait: 1d12h
  - connect: "Hello {{first_name}}"
  - wait_for_connection:
  - connect:
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []workflows.Step{
		{Type: workflows.StepConnect},
		{Type: workflows.StepWaitForConnection},
		{Type: workflows.StepMessage, Template: "Hi {{first_name}}!"},
		{Type: workflows.StepWait, Duration: workflows.Duration(36 * time.Hour)},
		{Type: workflows.StepConnect, Template: "Hello {{first_name}}"},
		{Type: workflows.StepWaitForConnection},
		{Type: workflows.StepConnect},
	}
	if !reflect.DeepEqual(f.Input.Steps, want) {
		t.Errorf("steps:\n got %+v\nwant %+v", f.Input.Steps, want)
	}
	if f.ID != "" || f.Recipients != "" || f.Input.Sender != "" || f.Input.Pacing != (workflows.Pacing{}) || f.Input.Window != (workflows.SendingWindow{}) {
		t.Errorf("file = %+v: what it does not give must stay unset, for the defaults", f)
	}
}

func TestRecipientsPath(t *testing.T) {
	for _, c := range []struct{ file, recipients, want string }{
		{"/campaigns/spring.yaml", "people.csv", "/campaigns/people.csv"},
		{"/campaigns/spring.yaml", "../lists/people.csv", "/lists/people.csv"},
		{"/campaigns/spring.yaml", "/data/people.csv", "/data/people.csv"},
	} {
		f, err := Parse(c.file, []byte("recipients: "+c.recipients+"\nsteps: [{message: Hi}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Recipients != c.want {
			t.Errorf("%s in %s: %q, want %q", c.recipients, c.file, f.Recipients, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "2m": 2 * time.Minute, "12h": 12 * time.Hour, "1h30m": 90 * time.Minute,
		"3d": 72 * time.Hour, "1d12h": 36 * time.Hour, "14d": 14 * 24 * time.Hour, "0d": 0, " 2d ": 48 * time.Hour, "-5m": -5 * time.Minute,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "3 days", "1.5d", "-1d", "d", "1d-2h", "3D", "2w", "1d2d", "99999999999999d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		14 * 24 * time.Hour: "14d", 36 * time.Hour: "1d12h", 12 * time.Hour: "12h", 90 * time.Minute: "1h30m",
		2 * time.Minute: "2m", 45 * time.Second: "45s", 24*time.Hour + 30*time.Second: "1d30s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

// want is one expected problem; rule is a part of its text.
type want struct {
	line        int
	field, rule string
}

func checkProblems(t *testing.T, name, content string, wants ...want) {
	t.Helper()
	_, err := Parse(name, []byte(content))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want *Errors", err)
	}
	ok := len(errs.Problems) == len(wants)
	for i := 0; ok && i < len(wants); i++ {
		p, w := errs.Problems[i], wants[i]
		ok = p.Line == w.line && p.Field == w.field && strings.Contains(p.Rule, w.rule)
	}
	if !ok {
		t.Errorf("problems:\n%v\nwant %+v", err, wants)
	}
}

func TestBrokenFiles(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		wants   []want
	}{
		// The YAML parser names the line of the construct around the fault
		// (here the list item before the tab), not always the fault's own.
		"YAML syntax":     {"name: x\nsteps:\n  - message: hi\n\t- wait: 3d\n", []want{{3, "", "invalid YAML: found a tab character that violates indentation"}}},
		"bad indentation": {"name: x\n  sender: y\nsteps: [{message: hi}]\n", []want{{2, "", "invalid YAML: mapping values are not allowed"}}},
		"unknown top-level key": {"name: x\nsendr: alice\nsteps: [{message: hi}]\n",
			[]want{{2, "sendr", "unknown key (did you mean sender?); a campaign has name, id, sender"}}},
		"unknown step key": {"steps:\n  - message: hi\n  - wait: {duration: 3d, sending_day_only: true}\n",
			[]want{{3, "steps[1].wait.sending_day_only", "did you mean sending_days_only?"}}},
		"unknown step type": {"steps:\n  - connect\n  - mesage: hi\n",
			[]want{{3, "steps[1]", `unknown step type "mesage" (did you mean message?)`}}},
		"settings not indented": {"steps:\n  - message:\n    text: hi\n",
			[]want{{2, "steps[0]", "a step has one key, its type (connect, wait_for_connection, message, wait); found message, text: are the step's settings indented"}}},
		"type key":             {"steps:\n  - type: connect\n    note: hi\n", []want{{2, "steps[0]", "not with a type: key"}}},
		"message without text": {"steps:\n  - connect\n  - message:\n", []want{{3, "steps[1].message", "needs the message's text"}}},
		"message mapping without text": {"steps:\n  - message:\n      name: hello\n",
			[]want{{3, "steps[0].message.text", "is required"}}},
		"empty text": {"steps:\n  - message: {text: \"\"}\n", []want{{2, "steps[0].message.text", "must not be empty"}}},
		"wait without duration": {"steps:\n  - message: hi\n  - wait: {sending_days_only: true}\n  - message: again\n",
			[]want{{3, "steps[1].wait.duration", "is required"}}},
		"zero wait": {"steps:\n  - message: hi\n  - wait: 0d\n  - message: again\n", []want{{3, "steps[1].wait", "must be positive"}}},
		"duration without unit": {"pacing:\n  min_gap: 90\nsteps: [{message: hi}]\n",
			[]want{{2, "pacing.min_gap", "90: a duration needs its unit, such as 90s"}}},
		"bad duration": {"steps:\n  - connect\n  - wait_for_connection: {timeout: 2 weeks}\n",
			[]want{{3, "steps[1].wait_for_connection.timeout", `"2 weeks": want a duration such as`}}},
		"check too often": {"steps:\n  - connect\n  - wait_for_connection:\n      check_every: 5s\n",
			[]want{{4, "steps[1].wait_for_connection.check_every", "at least 10s"}}},
		"wait_for_connection with a value": {"steps:\n  - connect\n  - wait_for_connection: 14d\n",
			[]want{{3, "steps[1].wait_for_connection", "takes {timeout: 14d, check_every: 12h}"}}},
		"cap not a number": {"pacing: {hourly_cap: ten}\nsteps: [{message: hi}]\n",
			[]want{{1, "pacing.hourly_cap", `want a whole number (0 for no cap); found "ten"`}}},
		"flag not a boolean": {"steps:\n  - wait: {duration: 3d, sending_days_only: yes}\n",
			[]want{{2, "steps[0].wait.sending_days_only", `want true or false; found "yes"`}}},
		"window not a mapping": {"window: mon-fri\nsteps: [{message: hi}]\n",
			[]want{{1, "window", `want the sending window as a mapping of time_zone, days, hours; found "mon-fri"`}}},
		"steps not a list": {"steps:\n  message: hi\n", []want{{2, "steps", "want a list of steps"}}},
		"no steps":         {"name: x\nsender: alice\n", []want{{1, "steps", "is required"}}},
		"empty steps":      {"steps: []\n", []want{{1, "steps", "at least one step is required"}}},
		"too many steps":   {"steps: [" + strings.Repeat("{message: hi}, ", workflows.MaxSteps) + "{message: hi}]\n", []want{{1, "steps", "at most 20 steps (there are 21)"}}},
		"repeated key":     {"name: x\nsteps: [{message: hi}]\nname: y\n", []want{{3, "name", "repeated key (first at line 1)"}}},
		"bad sender":       {"sender: Alice Smith\nsteps: [{message: hi}]\n", []want{{1, "sender", `"Alice Smith": a sender's name is lowercase`}}},
		"empty file":       {"# nothing yet\n", []want{{0, "", "the file is empty"}}},
		"two documents":    {"steps: [{message: hi}]\n---\nsteps: [{message: ho}]\n", []want{{2, "", "one YAML document"}}},
		"not a mapping":    {"- message: hi\n", []want{{1, "", "want a campaign as a mapping of name, id, sender"}}},
		// Problems of Validate, mapped to the file's lines and keys.
		"window hours": {"window:\n  time_zone: Europe/Berlin\n  hours: 25:00-26:00\nsteps: [{message: hi}]\n",
			[]want{{3, "window.hours", `"25:00-26:00"`}}},
		"time zone": {"window: {time_zone: Mars/Olympus}\nsteps: [{message: hi}]\n",
			[]want{{1, "window.time_zone", "unknown time zone"}}},
		"campaign id": {"id: \"spring\\t2026\"\nsteps: [{message: hi}]\n", []want{{1, "id", "without control characters"}}},
		"every problem at once": {`name: Spring
sendr: alice
window:
  hours: "9-5"
pacing: {min_gap: 90}
steps:
  - connect
  - wait_for_connection: {timeout: 0d}
  - mesage: hi
`, []want{
			{2, "sendr", "unknown key"},
			{4, "window.hours", `"9-5"`},
			{5, "pacing.min_gap", "needs its unit"},
			{8, "steps[1].wait_for_connection.timeout", "must be positive"},
			{9, "steps[2]", "unknown step type"},
		}},
	} {
		t.Run(name, func(t *testing.T) { checkProblems(t, "campaign.yaml", c.content, c.wants...) })
	}
}

func TestBrokenJSON(t *testing.T) {
	checkProblems(t, "campaign.json", "{\n  \"name\": \"x\",\n  \"steps\": [{\"message\": \"hi\"}],\n}\n",
		want{4, "", "invalid JSON"})
	checkProblems(t, "campaign.json", "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"wait\": {\"duration\": \"3d\", \"sending_days\": true}}\n  ]\n}\n",
		want{4, "steps[0].wait.sending_days", "did you mean sending_days_only?"})
}

func TestTemplateProblemsFromValidate(t *testing.T) {
	long := strings.Repeat("x", 301)
	checkProblems(t, "campaign.yaml", `steps:
  - connect:
      note: "`+long+`"
  - wait_for_connection
  - message: |
      Hi {{first_name
  - wait: 3d
  - message:
      text: "   "
`,
		want{3, "steps[0].connect.note", "300"},
		want{6, "steps[2].message", `column 4: unclosed "{{"`},
		want{9, "steps[4].message.text", "must not be empty"},
	)
}

// TestTextProblemsAtTheFilesLine: a problem at a line and column of a text
// is reported at the file's line where it is, with the text's own line
// only when the text's lines are not the file's.
func TestTextProblemsAtTheFilesLine(t *testing.T) {
	for name, c := range map[string]struct {
		file, content string
		want          want
	}{
		"a block, its first line": {"campaign.yaml", "steps:\n  - message: |\n      {Thanks|Thank you for connecting\n      See you!\n",
			want{3, "steps[0].message", `column 1: unclosed "{"`}},
		"a block, its third line": {"campaign.yaml", "steps:\n  - message: |   # a comment\n      Hi,\n\n      {{first_name}, welcome\n",
			want{5, "steps[0].message", `column 1: unclosed "{{"`}},
		"a block of one line": {"campaign.yaml", "steps:\n  - message:\n      name: x\n      text: |\n        Hi {a||b}\n",
			want{5, "steps[0].message.text", "column 7: alternative 2 of the choice opened at column 4 is empty"}},
		"a plain text": {"campaign.yaml", "steps:\n  - connect: Hi {{first_name}, let's connect\n",
			want{2, "steps[0].connect", `column 4: unclosed "{{"`}},
		"a quoted text with line breaks": {"campaign.yaml", "steps:\n  - message: \"Hi,\\n{there\"\n",
			want{2, "steps[0].message", `line 2, column 1: unclosed "{"`}},
		"a folded block": {"campaign.yaml", "steps:\n  - message: >\n      Hi {there\n      you\n",
			want{3, "steps[0].message", `column 4: unclosed "{"`}},
		"JSON": {"campaign.json", "{\n  \"steps\": [\n    {\"message\": \"Hi {a||b}\"}\n  ]\n}\n",
			want{3, "steps[0].message", "column 7: alternative 2 of the choice opened at column 4 is empty"}},
		"a variant's note": {"campaign.yaml", "steps:\n  - connect:\n      variants:\n        - name: a\n          note: |\n            Hi,\n            {a|b\n        - name: b\n",
			want{7, "steps[0].connect.variants[0].note", `column 1: unclosed "{"`}},
	} {
		t.Run(name, func(t *testing.T) { checkProblems(t, c.file, c.content, c.want) })
	}
}

func TestErrorsFormat(t *testing.T) {
	_, err := Parse("spring.yaml", []byte("sendr: alice\nsteps:\n  - message:\n"))
	want := "spring.yaml:1: sendr: unknown key (did you mean sender?); a campaign has name, id, sender, recipients, window, pacing, send_deadline, poll_deadline, contact_policy, steps\n" +
		"spring.yaml:3: steps[0].message: needs the message's text: \"- message: TEXT\", or \"- message: {text: TEXT, name: NAME}\""
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant\n%s", err, want)
	}
	e := &Errors{File: "x.yaml", Problems: []Problem{{Rule: "the file is empty"}, {Line: 2, Rule: "invalid YAML: oops"}}}
	if got := e.Error(); got != "x.yaml: the file is empty\nx.yaml:2: invalid YAML: oops" {
		t.Errorf("without line or field: %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want a not-exist error", err)
	}
}

func TestVariantsAndSpintax(t *testing.T) {
	f, err := Parse("/campaigns/ab.yaml", []byte(`
steps:
  - connect:
      variants:
        - {name: short, note: "{Hi|Hello} {{first_name}}", weight: 2}
        - name: no-note
  - wait_for_connection
  - message:
      name: thanks
      variants:
        - "Thanks, {{first_name}}!"
        - text: 'Thank you, {{first_name}} \{really\}!'
          weight: 3
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []workflows.Step{
		{Type: workflows.StepConnect, Variants: []workflows.Variant{{Name: "short", Text: "{Hi|Hello} {{first_name}}", Weight: 2}, {Name: "no-note"}}},
		{Type: workflows.StepWaitForConnection},
		{Type: workflows.StepMessage, Name: "thanks", Variants: []workflows.Variant{{Name: "A", Text: "Thanks, {{first_name}}!"}, {Name: "B", Text: `Thank you, {{first_name}} \{really\}!`, Weight: 3}}},
	}
	if !reflect.DeepEqual(f.Input.Steps, want) {
		t.Errorf("steps:\n got %+v\nwant %+v", f.Input.Steps, want)
	}
}

func TestVariantProblems(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		wants   []want
	}{
		"text and variants": {"steps:\n  - message:\n      text: hi\n      variants: [a, b]\n",
			[]want{{3, "steps[0].message.variants", "give the message's text or its variants, not both"}}},
		"note and variants": {"steps:\n  - connect:\n      note: hi\n      variants: [a, b]\n",
			[]want{{3, "steps[0].connect.variants", "give the note or its variants, not both"}}},
		"variants not a list": {"steps:\n  - message: {variants: hi}\n",
			[]want{{2, "steps[0].message.variants", "want a list of variants"}}},
		"one variant": {"steps:\n  - message:\n      variants:\n        - hi\n",
			[]want{{4, "steps[0].message.variants", "give two or more (there are 1)"}}},
		"a variant without text": {"steps:\n  - message:\n      variants:\n        - {name: a, text: hi}\n        - {name: b, weight: 2}\n",
			[]want{{5, "steps[0].message.variants[1].text", "is required"}}},
		"unknown key in a variant": {"steps:\n  - message:\n      variants:\n        - {name: a, txt: hi}\n        - hello\n",
			[]want{{4, "steps[0].message.variants[0].txt", "unknown key (did you mean text?)"}, {4, "steps[0].message.variants[0].text", "is required"}}},
		"a note variant keyed text": {"steps:\n  - connect:\n      variants:\n        - {name: a, text: hi}\n        - {name: b}\n",
			[]want{{4, "steps[0].connect.variants[0].text", "unknown key; a variant has name, note, weight"}}},
		"same names": {"steps:\n  - message:\n      variants:\n        - {name: x, text: hi}\n        - {name: x, text: ho}\n",
			[]want{{5, "steps[0].message.variants[1].name", `"x" is also variants[0]'s name`}}},
		"weight zero": {"steps:\n  - message:\n      variants:\n        - {text: hi, weight: 0}\n        - ho\n",
			[]want{{4, "steps[0].message.variants[0].weight", "want a whole number from 1"}}},
		"spintax in a variant": {"steps:\n  - message:\n      variants:\n        - hi\n        - text: |\n            Hello,\n            {there|you\n",
			[]want{{7, "steps[0].message.variants[1].text", `column 1: unclosed "{"`}}},
		"spintax in a message": {"steps:\n  - message: \"Hi {a||b}\"\n",
			[]want{{2, "steps[0].message", "column 7: alternative 2 of the choice opened at column 4 is empty"}}},
		"variants on a wait": {"steps:\n  - message: hi\n  - wait: {duration: 1d, variants: [a, b]}\n",
			[]want{{3, "steps[1].wait.variants", "unknown key; a wait step has duration, sending_days_only, name"}}},
	} {
		t.Run(name, func(t *testing.T) { checkProblems(t, "campaign.yaml", c.content, c.wants...) })
	}
}
