package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PartKind is what a campaign step does with its text, which decides the
// rule its rendering must meet.
type PartKind string

const (
	// PartNone is a step without text, such as a wait.
	PartNone PartKind = ""
	// PartMessage is a message's text: OutX's message rules apply.
	PartMessage PartKind = "message"
	// PartNote is a connection request's note, which may be empty: OutX's
	// note rules apply (at most 300 characters after trimming).
	PartNote PartKind = "note"
)

// Part is the text of one step of a campaign's sequence, aligned with the
// campaign's steps, so that every step's text is rendered and checked for
// every recipient before the campaign sends anything. A message or note
// may be given as Variants instead of Text.
type Part struct {
	Kind     PartKind  `json:"kind,omitempty"`
	Text     string    `json:"text,omitempty"`
	Variants []Variant `json:"variants,omitempty"`
}

// step is a parsed part; m is nil when the step has no text to render (a
// step without text, or a connection request without a note).
type step struct {
	kind PartKind
	m    *message
}

// ParseParts parses the texts of a campaign's steps into one template whose
// variables are those of every step, so that a CSV header is bound, and a
// recipient checked, for every variable any step uses. An error names the
// step, numbered from 0, and wraps the step's *TemplateError, e.g.
// `steps[2].template: line 1, column 4: unclosed "{{": ...`, or names its
// variant: `steps[2].variants[1].text: ...`.
//
// A note's text may be empty (the request is sent without one); a
// message's may not. A step without text must have none, since text there
// would never be sent.
func ParseParts(parts []Part) (*Template, error) {
	if len(parts) == 0 {
		return nil, errors.New("steps: at least one step is required")
	}
	t := &Template{steps: make([]step, len(parts)), source: slices.Clone(parts)}
	for i, p := range parts {
		s := step{kind: p.Kind}
		switch p.Kind {
		case PartNone:
			if p.Text != "" || p.Variants != nil {
				return nil, fmt.Errorf("steps[%d].template: must be empty: this step sends no text", i)
			}
		case PartNote:
			if p.Text == "" && p.Variants == nil {
				break
			}
			fallthrough
		case PartMessage:
			m, err := parseMessage(p.Kind, p.Text, p.Variants, &t.vars)
			switch {
			case err != nil && p.Variants != nil:
				return nil, PrefixErrors(fmt.Sprintf("steps[%d].", i), err)
			case err != nil:
				return nil, fmt.Errorf("steps[%d].%w", i, err)
			}
			s.m = m
		default:
			return nil, fmt.Errorf("steps[%d].kind: %s is not a kind of step text; kinds are %q, %q or none", i, quote(string(p.Kind)), PartMessage, PartNote)
		}
		t.steps[i] = s
	}
	return t, nil
}

// ParseTexts parses what a campaign renders per recipient: a sequence's
// step texts when there are any, else its single message's variants, else
// its template.
func ParseTexts(template string, variants []Variant, parts []Part) (*Template, error) {
	switch {
	case len(parts) > 0:
		return ParseParts(parts)
	case variants != nil:
		return ParseVariants(variants)
	}
	return ParseTemplate(template)
}

// PrefixErrors puts prefix before each error err joins.
func PrefixErrors(prefix string, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s%w", prefix, err)
	}
	var errs []error
	for _, e := range joined.Unwrap() {
		errs = append(errs, fmt.Errorf("%s%w", prefix, e))
	}
	return errors.Join(errs...)
}

// Parts returns the step texts a template was parsed from with ParseParts,
// or nil for a single message template.
func (t *Template) Parts() []Part { return slices.Clone(t.source) }

// renderSteps renders and checks every step's text for one recipient. A
// missing variable is reported once, at the first step that uses it, and
// every missing variable is reported, so that a user fixes a row once. The
// texts are nil when there is any problem: nothing half-rendered. variants
// names each step's variant, aligned with the steps, when any step has
// variants (else nil).
func (t *Template) renderSteps(recipient string, vars map[string]string) (texts, variants, problems []string) {
	texts = make([]string, len(t.steps))
	vals := make([]string, len(t.vars))
	for i, name := range t.vars {
		vals[i] = strings.TrimFunc(vars[name], isSpace)
	}
	var missing []string
	for i, s := range t.steps {
		if s.m == nil {
			continue
		}
		where := fmt.Sprintf("step %d (%s): ", i+1, s.kind)
		blank := false
		for _, v := range s.m.names {
			if strings.TrimFunc(vars[v], isSpace) != "" {
				continue
			}
			blank = true
			if !slices.Contains(missing, v) {
				missing = append(missing, v)
				problems = append(problems, where+(&MissingVariableError{Name: v}).Error())
			}
		}
		if blank {
			continue
		}
		text, name := s.m.draw(Draw{Campaign: t.campaign, Recipient: recipient, Step: i + 1}, vals)
		err := s.m.checkLongest(vals)
		if err == nil {
			err = s.m.check(text)
		}
		if err != nil {
			problems = append(problems, where+err.Error())
			continue
		}
		texts[i] = text
		if s.m.named {
			if variants == nil {
				variants = make([]string, len(t.steps))
			}
			variants[i] = name
		}
	}
	if problems != nil {
		return nil, nil, problems
	}
	return texts, variants, nil
}
