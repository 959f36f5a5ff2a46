package recipients

import (
	"errors"
	"slices"
	"strings"
	"testing"
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
		{"unclosed", "Hi {{first_name}},\nsee {{company", TemplateError{Offset: 23, Line: 2, Rule: `unclosed "{{": a placeholder is written {{name}}`},
			`template: line 2 (offset 23): unclosed "{{": a placeholder is written {{name}}`},
		{"closed by a single brace", "Hi {{first_name}", TemplateError{Offset: 3, Line: 1, Rule: `unclosed "{{": a placeholder is written {{name}}`}, ""},
		{"empty name", "Hi {{}}!", TemplateError{Offset: 3, Line: 1, Rule: `placeholder "{{}}" has no variable name`}, ""},
		{"blank name", "a\nb\n{{  }}", TemplateError{Offset: 4, Line: 3, Rule: `placeholder "{{  }}" has no variable name`}, ""},
		{"name with a space", "Hi {{first name}}", TemplateError{Offset: 3, Line: 1, Rule: `invalid variable name "first name": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
		{"name starting with a digit", "{{1st}}", TemplateError{Offset: 0, Line: 1, Rule: `invalid variable name "1st": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
		{"four braces", "{{{{x}}}}", TemplateError{Offset: 0, Line: 1, Rule: `invalid variable name "{{x": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
		{"nested", "{{a{{b}}}}", TemplateError{Offset: 0, Line: 1, Rule: `invalid variable name "a{{b": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`}, ""},
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
	if got := mustTemplate(t, "no variables }} here {").Variables(); len(got) != 0 {
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
			got, err := tpl.Render(tc.vars)
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
	text := "Hello there }} { }\n"
	got, err := mustTemplate(t, text).Render(nil)
	if got != text || err != nil {
		t.Errorf("Render = %q, %v; want %q, nil", got, err, text)
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{first_name}}!", "{{ a }}{{b}}{{a}}", "{{", "}}{{x}}{", "{{{{x}}}}", "{{ }}", "a\n{{b.c-d}}\n", "{{x}}}", ""} {
		f.Add(s, "Ada")
	}
	f.Fuzz(func(t *testing.T, text, value string) {
		tpl, err := ParseTemplate(text)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) || tpl != nil {
				t.Fatalf("ParseTemplate(%q) = %v, %v; want nil and a *TemplateError", text, tpl, err)
			}
			if te.Offset < 0 || te.Offset > len(text) || (te.Line > 0) != strings.Contains(text[te.Offset:], "{{") {
				t.Fatalf("error %#v does not point at a placeholder in %q", te, text)
			}
			return
		}
		if tpl.Text() != text {
			t.Fatalf("Text() = %q, want %q", tpl.Text(), text)
		}
		// Values without braces cannot form "{{" with the text around them:
		// any "{{" in the result would be the template's own.
		vars := map[string]string{}
		for _, name := range tpl.Variables() {
			vars[name] = "v"
		}
		out, err := tpl.Render(vars)
		if err != nil || strings.Contains(out, "{{") {
			t.Fatalf("Render(%q) = %q, %v; want no error and no \"{{\"", text, out, err)
		}
		// With a fuzzed value, Render fails with "" exactly when the
		// template has a variable and the trimmed value is empty, and
		// otherwise places the trimmed value verbatim.
		for name := range vars {
			vars[name] = value
		}
		out, err = tpl.Render(vars)
		trimmed := strings.TrimFunc(value, isSpace)
		if err != nil {
			var me *MissingVariableError
			if out != "" || !errors.As(err, &me) || me.Name != tpl.Variables()[0] || trimmed != "" {
				t.Fatalf("Render(%q) with %q = %q, %v", text, value, out, err)
			}
			return
		}
		if len(vars) > 0 && (trimmed == "" || !strings.Contains(out, trimmed)) {
			t.Fatalf("Render(%q) with %q = %q; want the trimmed value in it", text, value, out)
		}
	})
}
