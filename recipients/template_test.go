package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustTemplate(t testing.TB, text string) *Template {
	t.Helper()
	tpl, err := ParseTemplate(text)
	if err != nil {
		t.Fatalf("ParseTemplate(%q): %v", text, err)
	}
	return tpl
}

func TestParseTemplateErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       TemplateError
		msg        string
	}{
		{"empty", "", TemplateError{Rule: "must not be empty"}, "template: must not be empty"},
		{"whitespace only", " \n\t", TemplateError{Rule: "must not be only whitespace"}, "template: must not be only whitespace"},
		{"unclosed", "Hi {{first_name}},\nsee {{company", TemplateError{Offset: 23, Line: 2, Column: 5, Rule: `unclosed "{{": a placeholder is written {{name}}`},
			`template: line 2, column 5: unclosed "{{": a placeholder is written {{name}}`},
		{"closed by a single brace", "Hi {{first_name}", TemplateError{Offset: 3, Line: 1, Column: 4, Rule: `unclosed "{{": a placeholder is written {{name}}`}, ""},
		{"empty name", "Hi {{}}!", TemplateError{Offset: 3, Line: 1, Column: 4, Rule: `placeholder "{{}}" has no variable name`}, ""},
		{"blank name", "a\nb\n{{  }}", TemplateError{Offset: 4, Line: 3, Column: 1, Rule: `placeholder "{{  }}" has no variable name`}, ""},
		{"name with a space", "Hi {{first name}}", TemplateError{Offset: 3, Line: 1, Column: 4, Rule: `invalid variable name "first name": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
		{"name starting with a digit", "{{1st}}", TemplateError{Offset: 0, Line: 1, Column: 1, Rule: `invalid variable name "1st": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
		{"four braces: two choices of one placeholder each", "{{{{x}}}}", TemplateError{Offset: 1, Line: 1, Column: 2, Rule: `the choice "{{{x}}}" has one alternative; a choice is written {a|b} (a placeholder {{name}}, a literal brace \{)`}, ""},
		{"nested", "{{a{{b}}}}", TemplateError{Offset: 0, Line: 1, Column: 1, Rule: `invalid variable name "a{{b": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.text)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTemplate(%q) = %v, %v; want a *TemplateError", tc.text, tpl, err)
			}
			if *te != tc.want {
				t.Errorf("error = %#v, want %#v", *te, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("Error() = %q, want %q", err.Error(), tc.msg)
			}
			if tpl != nil {
				t.Errorf("template = %v, want nil", tpl)
			}
		})
	}
}

func TestTemplateVariables(t *testing.T) {
	text := "Hi {{first_name}}, {{ company.name }} and {{first_name}} again; {{\tx-1 }} {{_y}} {{company.name}}"
	tpl := mustTemplate(t, text)
	want := []string{"first_name", "company.name", "x-1", "_y"}
	if got := tpl.Variables(); !slices.Equal(got, want) {
		t.Errorf("Variables() = %q, want %q", got, want)
	}
	tpl.Variables()[0] = "changed"
	if got := tpl.Variables()[0]; got != "first_name" {
		t.Errorf("Variables() shares its slice: got %q after changing a copy", got)
	}
	if tpl.Text() != text {
		t.Errorf("Text() = %q, want %q", tpl.Text(), text)
	}
	if got := mustTemplate(t, "no variables \\}\\} here \\{").Variables(); len(got) != 0 {
		t.Errorf("Variables() = %q, want none", got)
	}
}

func TestRender(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{first_name}}, how is {{ company }}? Bye {{first_name}}.")
	cases := []struct {
		name    string
		vars    map[string]string
		want    string
		missing string
	}{
		{"all set", map[string]string{"first_name": "Ada", "company": "Analytical Engines", "unused": "x"}, "Hi Ada, how is Analytical Engines? Bye Ada.", ""},
		{"values are trimmed", map[string]string{"first_name": "  Ada\t", "company": "\u00a0A & B <Ltd>\ufeff\n"}, "Hi Ada, how is A & B <Ltd>? Bye Ada.", ""},
		{"a value is not expanded again", map[string]string{"first_name": "{{company}}", "company": "{{"}, "Hi {{company}}, how is {{? Bye {{company}}.", ""},
		{"missing", map[string]string{"company": "X"}, "", "first_name"},
		{"empty", map[string]string{"first_name": "", "company": "X"}, "", "first_name"},
		{"whitespace only", map[string]string{"first_name": "Ada", "company": " \t\u3000\n"}, "", "company"},
		{"several missing: the first in template order", map[string]string{}, "", "first_name"},
		{"nil map", nil, "", "first_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tpl.Render("urn:li:person:a", tc.vars)
			if got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
			if tc.missing == "" {
				if err != nil {
					t.Errorf("Render error = %v", err)
				}
				return
			}
			var me *MissingVariableError
			if !errors.As(err, &me) || me.Name != tc.missing {
				t.Fatalf("Render error = %v, want a *MissingVariableError for %q", err, tc.missing)
			}
			if want := `template variable "` + tc.missing + `" is missing or empty`; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestRenderWithoutVariables(t *testing.T) {
	text := "Hello there \\}\\} \\{ | \\| \\\\ \\n }\n"
	_, err := ParseTemplate(text)
	var te *TemplateError
	if !errors.As(err, &te) || te.Column != 32 {
		t.Fatalf("ParseTemplate(%q) = %v; want the unmatched brace at column 32", text, err)
	}
	text = strings.TrimSuffix(text, " }\n")
	got, err := mustTemplate(t, text).Render("", nil)
	if want := `Hello there }} { | | \ \n`; got != want || err != nil {
		t.Errorf("Render = %q, %v; want %q, nil", got, err, want)
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{first_name}}!", "{{ a }}{{b}}{{a}}", "{{", "}}{{x}}{", "{{{{x}}}}", "{{ }}", "a\n{{b.c-d}}\n", "{{x}}}", "",
		"{Hi|Hello} {{x}}", "{a|{b|c} d}", "{{{x}}|y}", "\\{{{x}}\\}", "{a||b}", "{a"} {
		f.Add(s, "Ada")
	}
	f.Fuzz(func(t *testing.T, text, value string) {
		tpl, err := ParseTemplate(text)
		if err != nil {
			checkTemplateError(t, text, tpl, err)
			return
		}
		if tpl.Text() != text {
			t.Fatalf("Text() = %q, want %q", tpl.Text(), text)
		}
		// The draw depends on the recipient, never on the values: a
		// marker's places are where the value goes.
		const marker = "\x00marker\x00"
		vars := map[string]string{}
		for _, name := range tpl.Variables() {
			vars[name] = marker
		}
		marked, err := tpl.Render("urn:li:person:a", vars)
		if err != nil {
			t.Fatalf("Render(%q) = %q, %v; want no error", text, marked, err)
		}
		// With a fuzzed value, Render fails with "" exactly when the
		// template has a variable and the trimmed value is empty, and
		// otherwise places the trimmed value verbatim.
		for name := range vars {
			vars[name] = value
		}
		out, err := tpl.Render("urn:li:person:a", vars)
		trimmed := strings.TrimFunc(value, isSpace)
		if err != nil {
			var me *MissingVariableError
			if out != "" || !errors.As(err, &me) || me.Name != tpl.Variables()[0] || trimmed != "" {
				t.Fatalf("Render(%q) with %q = %q, %v", text, value, out, err)
			}
			return
		}
		if len(vars) > 0 && trimmed == "" {
			t.Fatalf("Render(%q) with %q = %q; want a missing variable", text, value, out)
		}
		if want := strings.ReplaceAll(marked, marker, trimmed); !strings.Contains(text, marker) && out != want {
			t.Fatalf("Render(%q) with %q = %q; want %q, the value where the placeholders are", text, value, out, want)
		}
	})
}

// checkTemplateError asserts that a parse failed with a *TemplateError
// that locates its fault: a brace or a '|' for a fault of the syntax,
// nothing for one of the whole text; the line and column match the
// offset.
func checkTemplateError(t *testing.T, text string, tpl *Template, err error) {
	t.Helper()
	var te *TemplateError
	if !errors.As(err, &te) || tpl != nil {
		t.Fatalf("ParseTemplate(%q) = %v, %v; want nil and a *TemplateError", text, tpl, err)
	}
	if te.Line == 0 {
		if te.Offset != 0 || te.Column != 0 || strings.TrimSpace(text) != "" {
			t.Fatalf("error %#v for %q: a fault of the whole text, but the text is not blank", te, text)
		}
		return
	}
	if te.Offset < 0 || te.Offset >= len(text) || !strings.ContainsRune("{}|", rune(text[te.Offset])) {
		t.Fatalf("error %#v does not point at a brace or '|' in %q", te, text)
	}
	before := text[:te.Offset]
	line := 1 + strings.Count(before, "\n")
	col := 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	if te.Line != line || te.Column != col {
		t.Fatalf("error %#v for %q: offset %d is line %d, column %d", te, text, te.Offset, line, col)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("line %d, column %d: ", line, col)) {
		t.Fatalf("Error() = %q does not name line %d, column %d", err, line, col)
	}
}
