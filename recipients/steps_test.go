package recipients

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

func mustParts(t testing.TB, parts ...Part) *Template {
	t.Helper()
	tpl, err := ParseParts(parts)
	if err != nil {
		t.Fatalf("ParseParts(%+v): %v", parts, err)
	}
	return tpl
}

// sequence is a campaign of four steps: a connection request with a note, a
// wait, a message, and a follow-up using a variable no other step uses.
func sequence(t testing.TB) *Template {
	return mustParts(t,
		Part{Kind: PartNote, Text: "Hi {{first_name}}, fellow {{company}} alumnus here."},
		Part{},
		Part{Kind: PartMessage, Text: "Thanks for connecting, {{first_name}}!"},
		Part{Kind: PartMessage, Text: "How is {{company}} treating you as {{title}}?"},
	)
}

func TestParsePartsErrors(t *testing.T) {
	msg := func(text string) Part { return Part{Kind: PartMessage, Text: text} }
	cases := []struct {
		name  string
		parts []Part
		want  string
		te    bool // wraps a *TemplateError
	}{
		{"no steps", nil, "steps: at least one step is required", false},
		{"unclosed placeholder in step 3", []Part{msg("Hi"), {}, msg("Hi {{first_name"), msg("{{}}")},
			`steps[2].template: line 1, column 4: unclosed "{{": a placeholder is written {{name}}`, true},
		{"empty message", []Part{{Kind: PartNote}, msg("")}, "steps[1].template: must not be empty", true},
		{"whitespace-only message", []Part{msg(" \n ")}, "steps[0].template: must not be only whitespace", true},
		{"whitespace-only note", []Part{msg("Hi"), {Kind: PartNote, Text: "  "}}, "steps[1].template: must not be only whitespace", true},
		{"bad name in a note", []Part{{Kind: PartNote, Text: "a\n{{first name}}"}},
			`steps[0].template: line 2, column 1: invalid variable name "first name": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`, true},
		{"text on a step without text", []Part{msg("Hi"), {Text: "wait here"}}, "steps[1].template: must be empty: this step sends no text", false},
		{"unknown kind", []Part{msg("Hi"), {Kind: "connect", Text: "Hi"}}, `steps[1].kind: "connect" is not a kind of step text; kinds are "message", "note" or none`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseParts(tc.parts)
			if err == nil || err.Error() != tc.want || tpl != nil {
				t.Fatalf("ParseParts = %v, %v; want error %q", tpl, err, tc.want)
			}
			var te *TemplateError
			if errors.As(err, &te) != tc.te {
				t.Errorf("errors.As(*TemplateError) = %v, want %v", !tc.te, tc.te)
			}
		})
	}
}

func TestParsePartsVariables(t *testing.T) {
	tpl := sequence(t)
	if got, want := tpl.Variables(), []string{"first_name", "company", "title"}; !slices.Equal(got, want) {
		t.Errorf("Variables() = %q, want the union in order of first use %q", got, want)
	}
	if tpl.Text() != "" || len(tpl.Parts()) != 4 || tpl.Parts()[3].Text != "How is {{company}} treating you as {{title}}?" {
		t.Errorf("Text() = %q, Parts() = %+v", tpl.Text(), tpl.Parts())
	}
	if _, err := tpl.Render("urn:li:person:a", map[string]string{"first_name": "A", "company": "B", "title": "C"}); err == nil {
		t.Error("Render of a template of steps succeeded; it has no single message to render")
	}
}

func TestPrepareParts(t *testing.T) {
	const urn = "urn:li:person:abc"
	all := map[string]string{"first_name": " Ada ", "company": "Acme", "title": "CTO"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range all {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	long := strings.Repeat("x", 300)
	note := func(text string) *Template {
		return mustParts(t, Part{Kind: PartMessage, Text: "Hi {{first_name}}"}, Part{Kind: PartNote, Text: text})
	}
	cases := []struct {
		name string
		tpl  *Template
		r    Recipient
		want Prepared
	}{
		{"every step rendered", sequence(t), Recipient{RecipientURN: urn, Vars: all},
			Prepared{Line: 7, RecipientURN: urn, Texts: []string{
				"Hi Ada, fellow Acme alumnus here.", "", "Thanks for connecting, Ada!", "How is Acme treating you as CTO?"}}},
		{"a variable missing is reported once, at its first step", sequence(t), Recipient{RecipientURN: urn, Vars: with("company", " ")},
			Prepared{Line: 7, RecipientURN: urn, Problems: []string{`step 1 (note): template variable "company" is missing or empty`}}},
		{"every missing variable is reported", sequence(t), Recipient{ProfileSlug: "ada", Vars: map[string]string{"company": "Acme"}},
			Prepared{Line: 7, ProfileSlug: "ada", Problems: []string{
				`step 1 (note): template variable "first_name" is missing or empty`,
				`step 4 (message): template variable "title" is missing or empty`}}},
		{"identity and step problems together", sequence(t), Recipient{RecipientURN: "x", Vars: with("title", "")},
			Prepared{Line: 7, Problems: []string{urnRule + ` (got "x")`, `step 4 (message): template variable "title" is missing or empty`}}},
		{"a message that renders as nothing visible", mustParts(t, Part{Kind: PartNote, Text: "Hi {{first_name}}"}, Part{}, Part{Kind: PartMessage, Text: "{{title}}"}),
			Recipient{RecipientURN: urn, Vars: with("title", "\u200b")},
			Prepared{Line: 7, RecipientURN: urn, Problems: []string{"step 3 (message): message: must not be only whitespace or invisible characters"}}},
		{"an empty note", note(""), Recipient{RecipientURN: urn, Vars: all},
			Prepared{Line: 7, RecipientURN: urn, Texts: []string{"Hi Ada", ""}}},
		{"a note of exactly 300 characters after trimming", note("  {{title}}\n"), Recipient{RecipientURN: urn, Vars: with("title", long)},
			Prepared{Line: 7, RecipientURN: urn, Texts: []string{"Hi Ada", "  " + long + "\n"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prepare(7, tc.r, tc.tpl); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Prepare =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}

	t.Run("a note over 300 characters after trimming", func(t *testing.T) {
		over := long + strings.Repeat("y", 12)
		got := Prepare(7, Recipient{RecipientURN: urn, Vars: with("title", over)}, note(" {{title}}\n"))
		want := Prepared{Line: 7, RecipientURN: urn, Problems: []string{"step 2 (note): " + outx.ValidateNote(" "+over+"\n").Error()}}
		if !reflect.DeepEqual(got, want) || !strings.HasPrefix(got.Problems[0], "step 2 (note): note: ") || !strings.Contains(got.Problems[0], "312") {
			t.Errorf("Prepare =\n%#v\nwant\n%#v", got, want)
		}
	})
}

// partsFile has rows that are valid, that lack a variable of step 1, and
// that lack step 4's title.
const partsFile = "recipient_urn,First_Name,company,title\n" + // 1
	"urn:li:person:a,Ada,Acme,CTO\n" + // 2
	"urn:li:person:b,Bo,\"Bee,\nInc\",CEO\n" + // 3-4
	"urn:li:person:c,Cy,,COO\n" + // 5
	"urn:li:person:d,Di,Dee,\n" + // 6
	"urn:li:person:e,Ed,Eek,CFO\n" // 7

func TestReadPageWithParts(t *testing.T) {
	tpl := mustParts(t,
		Part{Kind: PartNote}, // a request without a note
		Part{},
		Part{Kind: PartMessage, Text: "Hi {{First_Name}} at {{company}}"}, // read from the lower-cased column
		Part{Kind: PartMessage, Text: "As {{title}}, {{first_name}}?"},
	)
	want := []Prepared{
		{Line: 2, RecipientURN: "urn:li:person:a", Texts: []string{"", "", "Hi Ada at Acme", "As CTO, Ada?"}},
		{Line: 3, RecipientURN: "urn:li:person:b", Texts: []string{"", "", "Hi Bo at Bee,\nInc", "As CEO, Bo?"}},
		{Line: 5, RecipientURN: "urn:li:person:c", Problems: []string{`step 3 (message): template variable "company" is missing or empty`}},
		{Line: 6, RecipientURN: "urn:li:person:d", Problems: []string{`step 4 (message): template variable "title" is missing or empty`}},
		{Line: 7, RecipientURN: "urn:li:person:e", Texts: []string{"", "", "Hi Ed at Eek", "As CFO, Ed?"}},
	}
	pages := readAll(t, partsFile, 2, 1<<20, tpl)
	var got []Prepared
	var sizes []int
	for _, p := range pages {
		got = append(got, p.Recipients...)
		sizes = append(sizes, len(p.Recipients))
	}
	if !reflect.DeepEqual(got, want) || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("pages of %v rows =\n%+v\nwant\n%+v", sizes, got, want)
	}
	s, err := Scan(strings.NewReader(partsFile), tpl, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 5 || s.Invalid != 2 || !reflect.DeepEqual(s.Preview, want[:3]) || !slices.Equal(s.Problems, []string{
		`line 5: step 3 (message): template variable "company" is missing or empty`,
		`line 6: step 4 (message): template variable "title" is missing or empty`,
	}) {
		t.Errorf("Scan = %+v", s)
	}
}

func TestScanPartsHeaderLacksAStepsVariable(t *testing.T) {
	file := "recipient_urn,first_name\nurn:li:person:a,Ada\nurn:li:person:b,Bo\n"
	tpl := mustParts(t,
		Part{Kind: PartMessage, Text: "Hi {{first_name}}"},
		Part{},
		Part{Kind: PartNote, Text: "{{first_name}}?"},
		Part{Kind: PartMessage, Text: "And {{company}}?"},
	)
	s := scan(t, file, tpl)
	if s.Rows != 2 || s.Invalid != 2 || !slices.Equal(s.Problems, []string{
		`line 2: step 4 (message): template variable "company" is missing or empty`,
		`line 3: step 4 (message): template variable "company" is missing or empty`,
	}) {
		t.Errorf("Scan = %+v; want every row invalid for step 4's company", s)
	}
	for _, p := range s.Preview {
		if p.Texts != nil || p.Message != "" {
			t.Errorf("line %d half-rendered: %+v", p.Line, p)
		}
	}
}

func TestPagingMaxBytesCountsEveryText(t *testing.T) {
	var b strings.Builder
	b.WriteString("recipient_urn,name\n")
	for i := range 6 {
		fmt.Fprintf(&b, "urn:li:person:p%02d,%s\n", i, strings.Repeat("x", 497))
	}
	tpl := mustParts(t, Part{Kind: PartMessage, Text: "Hi {{name}}"}, Part{}, Part{Kind: PartMessage, Text: "Yo {{name}}"})
	const row = 2*500 + len("urn:li:person:p00") // two texts of 500 bytes each
	var sizes []int
	for _, p := range readAll(t, b.String(), 10, 2*row, tpl) {
		sizes = append(sizes, len(p.Recipients))
	}
	if !slices.Equal(sizes, []int{2, 2, 2}) {
		t.Errorf("pages of %v rows, want [2 2 2]", sizes)
	}
}

func TestSummarizeInlineWithParts(t *testing.T) {
	rs := []Recipient{
		{RecipientURN: "urn:li:person:a", Vars: map[string]string{"first_name": "Ada", "company": "Acme", "title": "CTO"}},
		{RecipientURN: "urn:li:person:b", Vars: map[string]string{"first_name": "Bo", "company": "Bee"}},
	}
	s := SummarizeInline(rs, sequence(t), 1)
	want := Summary{
		Rows: 2, Invalid: 1,
		Problems: []string{`recipient 2: step 4 (message): template variable "title" is missing or empty`},
		Preview: []Prepared{{Line: 1, RecipientURN: "urn:li:person:a", Texts: []string{
			"Hi Ada, fellow Acme alumnus here.", "", "Thanks for connecting, Ada!", "How is Acme treating you as CTO?"}}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("SummarizeInline =\n%+v\nwant\n%+v", s, want)
	}
}

// FuzzPrepareParts prepares any recipient with any three steps: no panic;
// a prepared recipient has either one text per step, each meeting its kind's
// rule, or problems naming a step or a field, and no texts.
func FuzzPrepareParts(f *testing.F) {
	f.Add("Hi {{first_name}}", "{{company}} note", "Bye {{first_name}}", "Ada", "Acme")
	f.Add("Hi {{first_name}}", "", "{{x}}", "\u200b", strings.Repeat("😀", 151))
	f.Add("{{a}}{{b}}", "  {{b}}  ", "{{first_name}}", " ", strings.Repeat("n", 300))
	f.Add("Hi", "{{", "x", "", "")
	f.Fuzz(func(t *testing.T, msg, note, follow, v1, v2 string) {
		tpl, err := ParseParts([]Part{{Kind: PartMessage, Text: msg}, {Kind: PartNote, Text: note}, {}, {Kind: PartMessage, Text: follow}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "steps[") {
				t.Fatalf("error %q does not name a step", err)
			}
			return
		}
		vars := map[string]string{}
		for i, v := range tpl.Variables() {
			vars[v] = []string{v1, v2}[i%2]
		}
		p := Prepare(3, Recipient{RecipientURN: "urn:li:person:a", Vars: vars}, tpl)
		if p.Message != "" {
			t.Fatalf("message %q for a template of steps", p.Message)
		}
		if len(p.Problems) > 0 {
			if p.Texts != nil {
				t.Fatalf("texts %q despite problems %q", p.Texts, p.Problems)
			}
			for _, pr := range p.Problems {
				if !strings.HasPrefix(pr, "step ") || !utf8.ValidString(pr) || len(pr) > 600 {
					t.Fatalf("problem %q does not name its step in short, valid text", pr)
				}
			}
			return
		}
		if len(p.Texts) != 4 || p.Texts[2] != "" {
			t.Fatalf("texts %q not aligned with 4 steps", p.Texts)
		}
		if outx.ValidateMessage(p.Texts[0]) != nil || outx.ValidateMessage(p.Texts[3]) != nil || outx.ValidateNote(p.Texts[1]) != nil {
			t.Fatalf("texts %q accepted but break OutX's rules", p.Texts)
		}
		if note == "" && p.Texts[1] != "" {
			t.Fatalf("note %q without a note template", p.Texts[1])
		}
	})
}
