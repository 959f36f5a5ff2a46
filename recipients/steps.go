package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/outpacehq/outpace/outx"
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
// every recipient before the campaign sends anything.
type Part struct {
	Kind PartKind `json:"kind,omitempty"`
	Text string   `json:"text,omitempty"`
}

// step is a parsed part; t is nil when the step has no text to render (a
// step without text, or a connection request without a note).
type step struct {
	kind PartKind
	t    *Template
}

// ParseParts parses the texts of a campaign's steps into one template whose
// variables are those of every step, so that a CSV header is bound, and a
// recipient checked, for every variable any step uses. An error names the
// step, numbered from 1, and wraps the step's *TemplateError, e.g.
// `steps[2].template: line 1 (offset 5): unclosed "{{": ...`.
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
			if p.Text != "" {
				return nil, fmt.Errorf("steps[%d].template: must be empty: this step sends no text", i)
			}
		case PartNote:
			if p.Text == "" {
				break
			}
			fallthrough
		case PartMessage:
			st, err := ParseTemplate(p.Text)
			if err != nil {
				return nil, fmt.Errorf("steps[%d].%w", i, err)
			}
			s.t = st
			for _, v := range st.vars {
				if !slices.Contains(t.vars, v) {
					t.vars = append(t.vars, v)
				}
			}
		default:
			return nil, fmt.Errorf("steps[%d].kind: %s is not a kind of step text; kinds are %q, %q or none", i, quote(string(p.Kind)), PartMessage, PartNote)
		}
		t.steps[i] = s
	}
	return t, nil
}

// Parts returns the step texts a template was parsed from with ParseParts,
// or nil for a single message template.
func (t *Template) Parts() []Part { return slices.Clone(t.source) }

// renderSteps renders and checks every step's text for one recipient. A
// missing variable is reported once, at the first step that uses it, and
// every missing variable is reported, so that a user fixes a row once. The
// texts are nil when there is any problem: nothing half-rendered.
func (t *Template) renderSteps(vars map[string]string) (texts, problems []string) {
	texts = make([]string, len(t.steps))
	var missing []string
	for i, s := range t.steps {
		if s.t == nil {
			continue
		}
		where := fmt.Sprintf("step %d (%s): ", i+1, s.kind)
		blank := false
		for _, v := range s.t.vars {
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
		text, err := s.t.Render(vars)
		if err == nil {
			if s.kind == PartNote {
				err = outx.ValidateNote(text)
			} else {
				err = outx.ValidateMessage(text)
			}
		}
		if err != nil {
			problems = append(problems, where+err.Error())
			continue
		}
		texts[i] = text
	}
	if problems != nil {
		return nil, problems
	}
	return texts, nil
}
