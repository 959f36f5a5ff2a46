// Package recipients reads the recipient list and message template of a
// LinkedIn outreach campaign: recipients inline or in a CSV file read page by
// page (a campaign can have a million rows), each identified and given its
// rendered, validated message.
package recipients

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/outpacehq/outpace/outx"
)

// varName is a template variable name. Dots and hyphens are allowed so that
// CSV columns such as company.name or first-name can be used as they are.
var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// Template is a parsed message template: text with {{name}} placeholders. It
// is parsed once per campaign so that a mistake in it is reported once,
// instead of once per recipient.
//
// A template parsed by ParseParts holds the texts of a campaign's steps
// instead of one message: preparing a recipient with it fills
// Prepared.Texts, one per step, rather than Prepared.Message.
type Template struct {
	text  string
	parts []part
	vars  []string // for steps, those of every step, in order of first use

	steps  []step // set by ParseParts only
	source []Part
}

// part is a run of literal text (v < 0) or a placeholder for vars[v].
type part struct {
	lit string
	v   int
}

// TemplateError is a template that cannot be parsed. Offset (in bytes, from
// 0) and Line (from 1) locate the placeholder at fault, so that the author of
// a long template finds it; both are 0 for a fault of the whole text.
type TemplateError struct {
	Offset int
	Line   int
	Rule   string
}

func (e *TemplateError) Error() string {
	if e.Line == 0 {
		return "template: " + e.Rule
	}
	return fmt.Sprintf("template: line %d (offset %d): %s", e.Line, e.Offset, e.Rule)
}

// MissingVariableError is a variable that a recipient lacks, or has only
// whitespace for: sending "Hi ," is worse than not sending.
type MissingVariableError struct {
	Name string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("template variable %q is missing or empty", e.Name)
}

// ParseTemplate parses a message template. A placeholder is {{name}} or
// {{ name }}. There is no escaping: every "{{" must start a placeholder, so
// that a typo such as "{{first_name}" is an error here rather than text that
// reaches a thousand people.
func ParseTemplate(text string) (*Template, error) {
	switch {
	case text == "":
		return nil, &TemplateError{Rule: "must not be empty"}
	case strings.TrimSpace(text) == "":
		return nil, &TemplateError{Rule: "must not be only whitespace"}
	}
	t := &Template{text: text}
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], "{{")
		if i < 0 {
			t.parts = append(t.parts, part{lit: text[off:], v: -1})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: text[off : off+i], v: -1})
		}
		start := off + i
		j := strings.Index(text[start+2:], "}}")
		if j < 0 {
			return nil, errAt(text, start, `unclosed "{{": a placeholder is written {{name}}`)
		}
		end := start + 2 + j + 2
		name := strings.Trim(text[start+2:end-2], " \t")
		switch {
		case name == "":
			return nil, errAt(text, start, fmt.Sprintf("placeholder %s has no variable name", quote(text[start:end])))
		case !varName.MatchString(name):
			return nil, errAt(text, start, fmt.Sprintf("invalid variable name %s: a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'", quote(name)))
		}
		v := slices.Index(t.vars, name)
		if v < 0 {
			v = len(t.vars)
			t.vars = append(t.vars, name)
		}
		t.parts = append(t.parts, part{v: v})
		off = end
	}
	return t, nil
}

func errAt(text string, offset int, rule string) *TemplateError {
	return &TemplateError{Offset: offset, Line: 1 + strings.Count(text[:offset], "\n"), Rule: rule}
}

// Variables returns the distinct variable names in order of first use, which
// is the order in which a recipient's missing variables are reported.
func (t *Template) Variables() []string { return slices.Clone(t.vars) }

// Text returns the template as it was written; "" for the steps of
// ParseParts, which Parts returns.
func (t *Template) Text() string { return t.text }

// Render fills the placeholders with vars. Values are trimmed of surrounding
// whitespace (a CSV cell often has some) and inserted verbatim: a value is
// never expanded again, nor escaped, since a LinkedIn message is plain text.
// A variable that is absent, empty or whitespace only is a
// *MissingVariableError for the first such variable in template order, and
// the result is then "": nothing half-rendered can be sent by mistake.
//
// Render is for a single message template; the steps of ParseParts are
// rendered by Prepare.
func (t *Template) Render(vars map[string]string) (string, error) {
	if t.steps != nil {
		return "", &TemplateError{Rule: "has one text per step: prepare recipients with it instead of rendering it"}
	}
	vals := make([]string, len(t.vars))
	n := 0
	for i, name := range t.vars {
		vals[i] = strings.TrimFunc(vars[name], isSpace)
		if vals[i] == "" {
			return "", &MissingVariableError{Name: name}
		}
	}
	for _, p := range t.parts {
		if p.v < 0 {
			n += len(p.lit)
		} else {
			n += len(vals[p.v])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range t.parts {
		if p.v < 0 {
			b.WriteString(p.lit)
		} else {
			b.WriteString(vals[p.v])
		}
	}
	return b.String(), nil
}

// isSpace is whitespace to Go or to OutX's JavaScript server (which also
// trims U+FEFF), so that a value OutX would see as blank counts as missing.
func isSpace(r rune) bool { return unicode.IsSpace(r) || outx.IsJSWhitespace(r) }
