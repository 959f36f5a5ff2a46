package recipients

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// A message text is literal text, {{variable}} placeholders, and spintax
// choices: {Hi|Hello|Hey} is one of its alternatives, chosen per recipient,
// and alternatives may hold placeholders and further choices
// ({Hi|{Hello|Hey} there}, {Hi {{first_name}}|Hello}).
//
// The syntax, decided once here:
//   - "{{" always opens a placeholder; a run of three or more '{' opens
//     choices with all but its last two ("{{{first_name}}|there}" is a
//     choice between the placeholder and "there").
//   - A single '{' opens a choice, '|' separates its alternatives, '}'
//     closes it. Outside a choice '|' is plain text.
//   - '\' before '{', '}', '|' or '\' writes that character as plain text
//     ("\{", "\}", "\|", "\\"); before anything else it is itself.
//   - A choice has two alternatives or more, none empty: "{Hi}" is most
//     likely a placeholder missing a brace, "{Hi|}" a slip.
//
// A choice is made per recipient from a hash of the campaign, the
// recipient and the step (draw), never at random: a replay, a restart or
// the campaign started again under the same id sends the same text.

// maxChoiceDepth bounds how deeply choices nest: far more than any
// message needs, and a parse that cannot overflow a stack.
const maxChoiceDepth = 20

// seq is a run of literal text, placeholders and choices.
type seq []elem

// elem is literal text (choice nil, v < 0), the placeholder of vars[v]
// (v >= 0), or a choice.
type elem struct {
	lit    string
	v      int
	choice *choice
}

// choice is a spintax choice; id numbers it in its text in the order its
// '{' appears, from 0, and keys its draw.
type choice struct {
	id   int
	alts []seq
}

// spintaxParser parses one text into a seq, numbering its variables in
// vars (shared with the caller, so that several texts share one list).
type spintaxParser struct {
	text    string
	vars    *[]string
	choices int
	// firstAt, when not nil, records the byte offset of each variable's
	// first placeholder, by its index in vars (firstUse).
	firstAt map[int]int
}

// open is a choice being read: where its '{' is, its alternatives so far.
type open struct {
	at   int
	c    *choice
	cur  seq
	lit  strings.Builder
	altN int
}

// parseText parses text as a message text, adding its variables to vars.
// It returns the text's sequence and how many choices it has.
func parseText(text string, vars *[]string) (seq, int, error) {
	p := &spintaxParser{text: text, vars: vars}
	s, err := p.parse()
	return s, p.choices, err
}

func (p *spintaxParser) parse() (seq, error) {
	text := p.text
	// stack[0] is the text itself; each open choice adds a level.
	stack := []*open{{at: -1}}
	top := func() *open { return stack[len(stack)-1] }
	flush := func() {
		o := top()
		if o.lit.Len() > 0 {
			o.cur = append(o.cur, elem{lit: o.lit.String(), v: -1})
			o.lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '\\' && i+1 < len(text) && strings.IndexByte(`{}|\`, text[i+1]) >= 0:
			top().lit.WriteByte(text[i+1])
			i += 2
		case c == '{':
			n := 1
			for i+n < len(text) && text[i+n] == '{' {
				n++
			}
			opens := n
			if n >= 2 {
				opens = n - 2
			}
			for k := range opens {
				if len(stack) > maxChoiceDepth {
					return nil, errAt(text, i+k, fmt.Sprintf("choices nested more than %d deep", maxChoiceDepth))
				}
				flush()
				stack = append(stack, &open{at: i + k, c: &choice{id: p.choices}})
				p.choices++
			}
			i += opens
			if n >= 2 {
				end, v, err := p.placeholder(i)
				if err != nil {
					return nil, err
				}
				flush()
				top().cur = append(top().cur, elem{v: v})
				if _, seen := p.firstAt[v]; p.firstAt != nil && !seen {
					p.firstAt[v] = i
				}
				i = end
			}
		case c == '|' && len(stack) > 1:
			flush()
			if err := top().endAlternative(text, i); err != nil {
				return nil, err
			}
			i++
		case c == '}' && len(stack) > 1:
			flush()
			o := top()
			if err := o.endAlternative(text, i); err != nil {
				return nil, err
			}
			if len(o.c.alts) < 2 {
				return nil, errAt(text, o.at, fmt.Sprintf("the choice %s has one alternative; a choice is written {a|b} (a placeholder {{name}}, a literal brace \\{)", quote(text[o.at:i+1])))
			}
			stack = stack[:len(stack)-1]
			top().cur = append(top().cur, elem{v: -1, choice: o.c})
			i++
		case c == '}':
			return nil, errAt(text, i, `"}" closes no choice: write \} for a literal brace`)
		default:
			// Plain text up to the next special character.
			j := i + 1
			for j < len(text) && strings.IndexByte(`\{}|`, text[j]) < 0 {
				j++
			}
			top().lit.WriteString(text[i:j])
			i = j
		}
	}
	if len(stack) > 1 {
		return nil, errAt(text, top().at, `unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`)
	}
	flush()
	return stack[0].cur, nil
}

// endAlternative ends the alternative being read at i (a '|' or the '}').
func (o *open) endAlternative(text string, i int) error {
	o.altN++
	if len(o.cur) == 0 {
		const rule = "alternative %d of the choice opened at %s is empty"
		_, col := lineColumn(text, o.at)
		e := errAt(text, i, fmt.Sprintf(rule, o.altN, position(text, o.at)))
		e.oneLine = fmt.Sprintf(rule, o.altN, fmt.Sprintf("column %d", col))
		return e
	}
	o.c.alts = append(o.c.alts, o.cur)
	o.cur = nil
	return nil
}

// placeholder reads the {{name}} at start; it returns where it ends and
// the variable's index.
func (p *spintaxParser) placeholder(start int) (end, v int, err error) {
	text := p.text
	j := strings.Index(text[start+2:], "}}")
	if j < 0 {
		return 0, 0, errAt(text, start, `unclosed "{{": a placeholder is written {{name}}`)
	}
	end = start + 2 + j + 2
	name := strings.Trim(text[start+2:end-2], " \t")
	switch {
	case name == "":
		return 0, 0, errAt(text, start, fmt.Sprintf("placeholder %s has no variable name", quote(text[start:end])))
	case !varName.MatchString(name):
		return 0, 0, errAt(text, start, fmt.Sprintf("invalid variable name %s: a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'", quote(name)))
	}
	v = slices.Index(*p.vars, name)
	if v < 0 {
		v = len(*p.vars)
		*p.vars = append(*p.vars, name)
	}
	return end, v, nil
}

// firstUse finds the first placeholder of the variable name in text: its
// line and column, as an editor counts them; ok is false when text does
// not parse or has no such placeholder.
func firstUse(text, name string) (line, column int, ok bool) {
	var vars []string
	p := &spintaxParser{text: text, vars: &vars, firstAt: map[int]int{}}
	if _, err := p.parse(); err != nil {
		return 0, 0, false
	}
	v := slices.Index(vars, name)
	if v < 0 {
		return 0, 0, false
	}
	line, column = lineColumn(text, p.firstAt[v])
	return line, column, true
}

// position names a byte offset of text as a person finds it.
func position(text string, offset int) string {
	line, col := lineColumn(text, offset)
	return fmt.Sprintf("line %d, column %d", line, col)
}

// lineColumn numbers a byte offset's line and column from 1, the column
// in characters, as an editor counts them.
func lineColumn(text string, offset int) (line, column int) {
	before := text[:offset]
	start := strings.LastIndexByte(before, '\n') + 1
	return 1 + strings.Count(before, "\n"), 1 + utf8.RuneCountInString(before[start:])
}

// picker chooses an alternative of each choice of a text.
type picker func(c *choice) int

// render writes s with vals for the variables and pick for the choices.
func (s seq) render(b *strings.Builder, vals []string, pick picker) {
	for _, e := range s {
		switch {
		case e.choice != nil:
			e.choice.alts[pick(e.choice)].render(b, vals, pick)
		case e.v >= 0:
			b.WriteString(vals[e.v])
		default:
			b.WriteString(e.lit)
		}
	}
}

// length is s's longest rendering's length in UTF-16 code units, as OutX
// counts it: every choice at its longest, variables at vals.
func (s seq) length(vals []string) int {
	n := 0
	for _, e := range s {
		switch {
		case e.choice != nil:
			best := 0
			for _, a := range e.choice.alts {
				best = max(best, a.length(vals))
			}
			n += best
		case e.v >= 0:
			n += outx.MessageLength(vals[e.v])
		default:
			n += outx.MessageLength(e.lit)
		}
	}
	return n
}

// longest picks each choice's longest alternative with vals (the first of
// equals).
func longest(vals []string) picker {
	return func(c *choice) int {
		best, bestLen := 0, -1
		for i, a := range c.alts {
			if n := a.length(vals); n > bestLen {
				best, bestLen = i, n
			}
		}
		return best
	}
}

// Draw names one recipient's text in one campaign: the campaign's id, the
// recipient (its URN, or its profile slug when the URN is looked up later)
// and the step (from 1; a one-message campaign's message is step 1). The
// variant and every choice of the text are drawn from hashes of it, and of
// nothing else, so that the same recipient gets the same text on a replay,
// on a restart and when the campaign is started again under the same id.
type Draw struct {
	Campaign  string
	Recipient string
	Step      int
}

// sum hashes the draw with a domain, so that the variant and the choices
// are drawn independently of each other.
func (d Draw) sum(domain string, extra ...int) uint64 {
	h := sha256.New()
	for _, s := range []string{domain, d.Campaign, d.Recipient, strconv.Itoa(d.Step)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, x := range extra {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(x)))
	}
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// ChooseVariant draws a variant for d: an index into weights, each variant
// drawn with probability weight/total. The hash of d, a number in [0, 2^64),
// is taken modulo the total weight (whose bias, for totals of a few
// thousand at most, is below one in 10^15) and located among the
// cumulative weights. Weights below 1 count as 1.
func ChooseVariant(d Draw, weights []int) int {
	total := 0
	for _, w := range weights {
		total += max(w, 1)
	}
	if total == 0 {
		return 0
	}
	x := int(d.sum("outpace/variant/v1") % uint64(total))
	for i, w := range weights {
		if x -= max(w, 1); x < 0 {
			return i
		}
	}
	return len(weights) - 1
}

// choices picks each choice of d's text by its own hash.
func (d Draw) choices() picker {
	return func(c *choice) int {
		return int(d.sum("outpace/spintax/v1", c.id) % uint64(len(c.alts)))
	}
}
