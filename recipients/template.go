// Package recipients reads the recipient list and message template of a
// LinkedIn outreach campaign: recipients inline or in a CSV file read page by
// page (a campaign can have a million rows), each identified and given its
// rendered, validated message.
package recipients

import (
	"cmp"
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

// Template is a parsed message template: text with {{name}} placeholders
// and spintax choices ({Hi|Hello}), or several such texts, variants of the
// message, each drawn for a share of the recipients (ParseVariants). It is
// parsed once per campaign so that a mistake in it is reported once,
// instead of once per recipient.
//
// A template parsed by ParseParts holds the texts of a campaign's steps
// instead of one message: preparing a recipient with it fills
// Prepared.Texts, one per step, rather than Prepared.Message.
type Template struct {
	text string   // a single plain message's text, as written
	msg  *message // a single message's; nil for steps
	vars []string // of every text, variant and alternative, in order of first use

	steps  []step // set by ParseParts only
	source []Part

	variantSource []Variant // set by ParseVariants only

	// campaign keys the draws of variants and choices (ForCampaign).
	campaign string
}

// TemplateError is a template that cannot be parsed. Offset (in bytes, from
// 0), Line and Column (from 1, the column in characters) locate the
// placeholder, brace or choice at fault, so that the author of a long
// template finds it; all are 0 for a fault of the whole text.
type TemplateError struct {
	Offset int
	Line   int
	Column int
	Rule   string
	// oneLine is Rule naming the places it mentions by their column alone,
	// "" when Rule mentions none (OneLineRule).
	oneLine string
}

// OneLineRule is Rule for a text of one line, whose places are named by
// their column alone: "the choice opened at column 4" rather than "at line
// 1, column 4".
func (e *TemplateError) OneLineRule() string { return cmp.Or(e.oneLine, e.Rule) }

func (e *TemplateError) Error() string {
	if e.Line == 0 {
		return "template: " + e.Rule
	}
	return fmt.Sprintf("template: line %d, column %d: %s", e.Line, e.Column, e.Rule)
}

// MissingVariableError is a variable that a recipient lacks, or has only
// whitespace for: sending "Hi ," is worse than not sending.
type MissingVariableError struct {
	Name string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("template variable %q is missing or empty", e.Name)
}

// ParseTemplate parses a message template: text with placeholders,
// {{name}} or {{ name }}, and spintax choices, {a|b|c} (see spintax.go for
// the syntax and its escapes). "{{" always starts a placeholder, so that a
// typo such as "{{first_name}" is an error here rather than text that
// reaches a thousand people; so are unbalanced braces and empty
// alternatives, each located by line and column.
func ParseTemplate(text string) (*Template, error) {
	t := &Template{text: text}
	m, err := parseMessage(PartMessage, text, nil, &t.vars)
	if err != nil {
		return nil, err
	}
	t.msg = m
	return t, nil
}

// parseVariant parses one text of kind (a note may be empty: no note).
func parseVariant(text string, kind PartKind, vars *[]string) (variant, error) {
	if kind == PartNote && text == "" {
		return variant{weight: 1}, nil
	}
	switch {
	case text == "":
		return variant{}, &TemplateError{Rule: "must not be empty"}
	case strings.TrimSpace(text) == "":
		return variant{}, &TemplateError{Rule: "must not be only whitespace"}
	}
	body, choices, err := parseText(text, vars)
	if err != nil {
		return variant{}, err
	}
	return variant{weight: 1, body: body, choices: choices}, nil
}

func errAt(text string, offset int, rule string) *TemplateError {
	line, col := lineColumn(text, offset)
	return &TemplateError{Offset: offset, Line: line, Column: col, Rule: rule}
}

// Variables returns the distinct variable names in order of first use, which
// is the order in which a recipient's missing variables are reported. A
// recipient must have every one, whichever variant and alternatives it
// draws, so that whether a row is valid never depends on the draw.
func (t *Template) Variables() []string { return slices.Clone(t.vars) }

// Text returns the template as it was written; "" for the variants of
// ParseVariants and the steps of ParseParts, which Parts returns.
func (t *Template) Text() string { return t.text }

// Draws says whether the template draws anything per recipient: a
// variant, or a spintax choice.
func (t *Template) Draws() bool {
	msgs := []*message{t.msg}
	for _, s := range t.steps {
		msgs = append(msgs, s.m)
	}
	for _, m := range msgs {
		if m == nil {
			continue
		}
		if m.named {
			return true
		}
		for _, v := range m.variants {
			if v.choices > 0 {
				return true
			}
		}
	}
	return false
}

// ForCampaign returns the template drawing its variants and choices for
// the campaign id: each recipient's draw depends on the campaign, the
// recipient and the step, and nothing else (Draw).
func (t *Template) ForCampaign(id string) *Template {
	c := *t
	c.campaign = id
	return &c
}

// Render renders a single message template for one recipient (its URN, or
// its profile slug; see Draw): the variant and every choice drawn for
// them, the placeholders filled with vars. Values are trimmed of
// surrounding whitespace (a CSV cell often has some) and inserted
// verbatim: a value is never expanded again, nor escaped, since a LinkedIn
// message is plain text. A variable that is absent, empty or whitespace
// only is a *MissingVariableError for the first such variable in template
// order, and the result is then "": nothing half-rendered can be sent by
// mistake.
//
// Render is for a single message template; the steps of ParseParts are
// rendered by Prepare.
func (t *Template) Render(recipient string, vars map[string]string) (string, error) {
	if t.steps != nil {
		return "", &TemplateError{Rule: "has one text per step: prepare recipients with it instead of rendering it"}
	}
	vals, err := values(t.vars, vars)
	if err != nil {
		return "", err
	}
	text, _ := t.msg.draw(Draw{Campaign: t.campaign, Recipient: recipient, Step: 1}, vals)
	return text, nil
}

// values reads the variables' values, trimmed; the first missing one is
// an error.
func values(names []string, vars map[string]string) ([]string, error) {
	vals := make([]string, len(names))
	for i, name := range names {
		vals[i] = strings.TrimFunc(vars[name], isSpace)
		if vals[i] == "" {
			return nil, &MissingVariableError{Name: name}
		}
	}
	return vals, nil
}

// isSpace is whitespace to Go or to OutX's JavaScript server (which also
// trims U+FEFF), so that a value OutX would see as blank counts as missing.
func isSpace(r rune) bool { return unicode.IsSpace(r) || outx.IsJSWhitespace(r) }
