package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// Variant is one version of a message or a connection request's note, for
// an A/B test: each recipient is given one variant, drawn with probability
// Weight/total from the campaign, the recipient and the step (Draw), so
// that a campaign learns which text works.
type Variant struct {
	// Name labels the variant in previews, memos, status and reports.
	Name string `json:"name"`
	// Text is the variant's text, placeholders and choices allowed; a
	// note's may be empty (the request is sent without a note).
	Text string `json:"text,omitempty"`
	// Weight is the variant's share (default 1): weights 2 and 1 send two
	// thirds of the recipients the first variant.
	Weight int `json:"weight,omitempty"`
}

// Limits on variants: a handful per step is what an A/B test reads.
const (
	MaxVariants      = 10
	MaxVariantWeight = 1000
	MaxVariantName   = 40
)

// message is a text drawn per recipient: one variant for a plain text
// (unnamed), or several, each with its weight.
type message struct {
	kind     PartKind
	variants []variant
	weights  []int
	names    []string // the variables of every variant, in order of first use
	named    bool     // variants were given
}

// variant is a parsed text; body is nil for a note without text.
type variant struct {
	name    string
	weight  int
	body    seq
	choices int
}

// parseMessage parses a text of kind, or its variants when there are any,
// adding its variables to vars. Errors name the variant at fault
// ("variants[1].text: line 1, column 4: ...").
func parseMessage(kind PartKind, text string, variants []Variant, vars *[]string) (*message, error) {
	m := &message{kind: kind}
	if variants == nil {
		v, err := parseVariant(text, kind, vars)
		if err != nil {
			return nil, err
		}
		m.variants, m.weights = []variant{v}, []int{1}
	} else {
		if err := checkVariants(text, variants); err != nil {
			return nil, err
		}
		m.named = true
		var errs []error
		for i, vv := range variants {
			v, err := parseVariant(vv.Text, kind, vars)
			if err != nil {
				errs = append(errs, &fieldError{field: fmt.Sprintf("variants[%d].text", i), err: err})
				continue
			}
			v.name, v.weight = vv.Name, max(vv.Weight, 1)
			m.variants, m.weights = append(m.variants, v), append(m.weights, v.weight)
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	var used []int
	for _, v := range m.variants {
		v.body.collect(&used)
	}
	for _, i := range used {
		m.names = append(m.names, (*vars)[i])
	}
	return m, nil
}

// fieldError is a text's problem under the field that holds it:
// "variants[1].text: line 2, column 1: ...".
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string {
	return e.field + ": " + strings.TrimPrefix(e.err.Error(), "template: ")
}

func (e *fieldError) Unwrap() error { return e.err }

// checkVariants checks the variants' names, weights and number, each
// problem naming the variant and the field.
func checkVariants(text string, vs []Variant) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case text != "":
		bad("variants: give the text or its variants, not both")
	case len(vs) < 2:
		bad("variants: give two or more (there are %d); a single text needs no variant", len(vs))
	case len(vs) > MaxVariants:
		bad("variants: at most %d (there are %d)", MaxVariants, len(vs))
	}
	seen := map[string]int{}
	for i, v := range vs {
		switch {
		case v.Name == "":
			bad("variants[%d].name: is required: it names the variant in status and reports", i)
		case strings.TrimSpace(v.Name) != v.Name || utf8.RuneCountInString(v.Name) > MaxVariantName ||
			!utf8.ValidString(v.Name) || strings.ContainsFunc(v.Name, unicode.IsControl):
			bad("variants[%d].name: %s must be at most %d characters, without control characters or surrounding spaces", i, quote(v.Name), MaxVariantName)
		default:
			if j, dup := seen[v.Name]; dup {
				bad("variants[%d].name: %s is also variants[%d]'s name", i, quote(v.Name), j)
			}
			seen[v.Name] = i
		}
		if v.Weight < 0 || v.Weight > MaxVariantWeight {
			bad("variants[%d].weight: must be between 1 and %d (default 1)", i, MaxVariantWeight)
		}
	}
	return errors.Join(errs...)
}

// collect adds the variables s uses to used, each once, in order.
func (s seq) collect(used *[]int) {
	for _, e := range s {
		switch {
		case e.choice != nil:
			for _, a := range e.choice.alts {
				a.collect(used)
			}
		case e.v >= 0:
			if !containsInt(*used, e.v) {
				*used = append(*used, e.v)
			}
		}
	}
}

func containsInt(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// draw renders the text d draws: its variant, then its choices; vals are
// the template's variables' values. name is the variant's, "" for a plain
// text.
func (m *message) draw(d Draw, vals []string) (text, name string) {
	i := 0
	if len(m.variants) > 1 {
		i = ChooseVariant(d, m.weights)
	}
	v := m.variants[i]
	var b strings.Builder
	v.body.render(&b, vals, d.choices())
	return b.String(), v.name
}

// check validates a rendered text by its kind's rule.
func (m *message) check(text string) error {
	if m.kind == PartNote {
		return outx.ValidateNote(text)
	}
	return outx.ValidateMessage(text)
}

// checkLongest validates, for one recipient's values, every variant with
// every choice at its longest, so that whether a row fits OutX's limits
// never depends on its draw. A text without choices or variants was
// checked as drawn.
func (m *message) checkLongest(vals []string) error {
	if !m.named && m.variants[0].choices == 0 {
		return nil
	}
	for _, v := range m.variants {
		if v.body == nil {
			continue
		}
		var b strings.Builder
		v.body.render(&b, vals, longest(vals))
		if err := m.check(b.String()); err != nil {
			var where []string
			if m.named {
				where = append(where, "in variant "+quote(v.name))
			}
			if v.choices > 0 {
				where = append(where, "with every choice at its longest")
			}
			return fmt.Errorf("%w (%s)", err, strings.Join(where, ", "))
		}
	}
	return nil
}

// longestFixed is the longest any variant's text can be, in UTF-16 code
// units after trimming, before any variable is filled in: if that is over
// a limit, every recipient's is.
func (m *message) longestFixed(nvars int) int {
	empty := make([]string, nvars)
	n := 0
	for _, v := range m.variants {
		var b strings.Builder
		v.body.render(&b, empty, longest(empty))
		n = max(n, outx.MessageLength(strings.TrimFunc(b.String(), outx.IsJSWhitespace)))
	}
	return n
}

// ParseVariants parses a single message given as variants (see Variant):
// each recipient is sent the variant drawn for them (Prepared.Variant).
func ParseVariants(variants []Variant) (*Template, error) {
	if variants == nil {
		variants = []Variant{}
	}
	t := &Template{variantSource: slices.Clone(variants)}
	m, err := parseMessage(PartMessage, "", variants, &t.vars)
	if err != nil {
		return nil, err
	}
	t.msg = m
	return t, nil
}

// LongestFixedText is the longest a text (or its variants) can be, in
// UTF-16 code units after trimming, with every choice at its longest and
// before any variable is filled in; 0 if it does not parse (parsing says
// why). A campaign refuses a note whose fixed text alone is over OutX's
// limit: every recipient's would be.
func LongestFixedText(kind PartKind, text string, variants []Variant) int {
	var vars []string
	m, err := parseMessage(kind, text, variants, &vars)
	if err != nil {
		return 0
	}
	return m.longestFixed(len(vars))
}
