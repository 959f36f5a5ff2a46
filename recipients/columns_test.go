package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCheckColumnsNamesTheNearestColumn(t *testing.T) {
	columns := []string{"first_name", "company", "recipient_urn"}
	for _, c := range []struct {
		template string
		want     []string // one error per unknown variable; none for nil
	}{
		{"Hi {{first_name}} at {{company}}", nil},
		{"Hi {{First_Name}}", nil}, // read from the lower-cased column, as rows are
		{"Hi {{frist_name}}", []string{`template variable "frist_name" is not a column; did you mean "first_name"? (columns: first_name, company, recipient_urn)`}},
		{"Hi {{Compnay}}", []string{`template variable "Compnay" is not a column; did you mean "company"? (columns: first_name, company, recipient_urn)`}},
		{"Hi {{title}}", []string{`template variable "title" is not a column (columns: first_name, company, recipient_urn)`}},
		{"{{recipient_urn}}", []string{`template variable "recipient_urn" names the recipient's identity column, which is not a template variable (columns: first_name, company, recipient_urn)`}},
		{"{{frist_name}} {{compny}} {{first_name}}", []string{`"frist_name" is not a column; did you mean "first_name"?`, `"compny" is not a column; did you mean "company"?`}},
	} {
		err := CheckColumns(columns, mustTemplate(t, c.template))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.template, err)
			}
			continue
		}
		var uv *UnknownVariableError
		if !errors.As(err, &uv) {
			t.Errorf("%s: %v, want an *UnknownVariableError", c.template, err)
			continue
		}
		if lines := strings.Split(err.Error(), "\n"); len(lines) != len(c.want) {
			t.Errorf("%s: %d errors, want %d:\n%v", c.template, len(lines), len(c.want), err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s:\n got %v\nwant %s", c.template, err, w)
			}
		}
	}

	// Steps: every variable of every step.
	tpl := mustParts(t, Part{Kind: PartNote, Text: "Hi {{first_name}}"}, Part{}, Part{Kind: PartMessage, Text: "About {{topic}}?"})
	if err := CheckColumns(columns, tpl); err == nil || !strings.Contains(err.Error(), `template variable "topic" is not a column`) {
		t.Errorf("steps: %v", err)
	}

	// A wide file lists its first columns.
	wide := []string{"recipient_urn"}
	for i := range 30 {
		wide = append(wide, fmt.Sprintf("c%d", i))
	}
	if err := CheckColumns(wide, mustTemplate(t, "{{x}}")); err == nil || !strings.HasSuffix(err.Error(), ", c18, and 11 more)") {
		t.Errorf("wide: %v", err)
	}
}

// TestUnknownVariableSaysWhereItIsUsed: each text that uses the variable,
// by its field in the campaign's input, and its first placeholder's line
// and column there, past choices, escapes and other placeholders.
func TestUnknownVariableSaysWhereItIsUsed(t *testing.T) {
	columns := []string{"first_name", "recipient_urn"}
	uses := func(err error) []VariableUse {
		var uv *UnknownVariableError
		if !errors.As(err, &uv) {
			t.Fatalf("%v, want an *UnknownVariableError", err)
		}
		return uv.Uses
	}
	check := func(name string, err error, want ...VariableUse) {
		t.Helper()
		if got := uses(err); !slices.Equal(got, want) {
			t.Errorf("%s: uses %+v, want %+v", name, got, want)
		}
	}
	check("template", CheckColumns(columns, mustTemplate(t, "{Hi|Hey} \\{ {{first_name}}, see {{ frist_name }} and {{frist_name}}")),
		VariableUse{Field: "template", Line: 1, Column: 33})
	check("template, second line", CheckColumns(columns, mustTemplate(t, "Hi {{first_name}},\n  {a|{{frist_name}}}")),
		VariableUse{Field: "template", Line: 2, Column: 6})
	vs, err := ParseVariants([]Variant{{Name: "A", Text: "Hi"}, {Name: "B", Text: "Yo {{frist_name}}"}})
	if err != nil {
		t.Fatal(err)
	}
	check("variants", CheckColumns(columns, vs), VariableUse{Field: "variants[1].text", Line: 1, Column: 4})
	steps := mustParts(t,
		Part{Kind: PartNote, Variants: []Variant{{Name: "A", Text: "{{frist_name}}!"}, {Name: "B"}}},
		Part{},
		Part{Kind: PartMessage, Text: "Thanks, {{first_name}}.\nAnd {{frist_name}}"},
		Part{Kind: PartMessage, Text: "No typo, {{first_name}}"})
	check("steps", CheckColumns(columns, steps),
		VariableUse{Field: "steps[0].variants[0].text", Line: 1, Column: 1},
		VariableUse{Field: "steps[2].template", Line: 2, Column: 5})
	rs := []Recipient{{RecipientURN: "urn:li:person:a", Vars: map[string]string{"first_name": "Ada"}}}
	check("inline", CheckInlineVars(rs, steps),
		VariableUse{Field: "steps[0].variants[0].text", Line: 1, Column: 1},
		VariableUse{Field: "steps[2].template", Line: 2, Column: 5})
}

func TestCheckInlineVars(t *testing.T) {
	rs := []Recipient{
		{RecipientURN: "urn:li:person:a", Vars: map[string]string{"first_name": "Ada", "company": "Acme"}},
		{RecipientURN: "urn:li:person:b", Vars: map[string]string{"first_name": "Bo"}},
	}
	if err := CheckInlineVars(rs, mustTemplate(t, "Hi {{first_name}} at {{company}}")); err != nil {
		t.Errorf("every variable in some recipient's vars: %v", err)
	}
	err := CheckInlineVars(rs, mustTemplate(t, "Hi {{frist_name}}"))
	if want := `template variable "frist_name" is not in any recipient's vars; did you mean "first_name"? (vars: company, first_name)`; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// URNs alone: each recipient's own check says the variable is missing.
	if err := CheckInlineVars([]Recipient{{RecipientURN: "urn:li:person:a"}}, mustTemplate(t, "Hi {{first_name}}")); err != nil {
		t.Errorf("recipients without vars: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"frist_name", "first_name", 2}, {"company", "compnay", 2}, {"kitten", "sitting", 3}, {"naïve", "naive", 1}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
