package recipients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// UnknownVariableError is a template variable that no column of the CSV
// file (or no inline recipient's vars) provides. Every row would lack it,
// so it is reported once, before any row, with the nearest name: most
// often it is a typo ({{frist_name}}).
type UnknownVariableError struct {
	Name string
	// Nearest is the column (or var) most like Name, "" when none is near.
	Nearest string
	// Names are what there is: the file's columns, or the recipients' vars.
	Names []string
	// Inline: Names are inline recipients' vars, not a file's columns.
	Inline bool
	// Identity: Name is an identity column (recipient_urn, profile_url,
	// profile_slug), which says who the recipient is, not what to write.
	Identity bool
	// Source, when set, names where Names come from (the CSV file's path),
	// for a caller that puts the problem where the variable is used rather
	// than on the file: "(columns of people.csv: ...)".
	Source string
	// Uses are the texts that use the variable, with where its first
	// placeholder is in each, so that a campaign of several texts (steps,
	// variants) says which one to fix.
	Uses []VariableUse
}

// VariableUse is where a text uses a variable: the text's field in the
// campaign's input, as its problems name it ("template", "variants[1].text",
// "steps[2].template", "steps[0].variants[1].text"), and the line and
// column (from 1, in characters) of the variable's first placeholder in it.
type VariableUse struct {
	Field  string
	Line   int
	Column int
}

func (e *UnknownVariableError) Error() string {
	what, list := "a column", "columns"
	if e.Inline {
		what, list = "in any recipient's vars", "vars"
	}
	var b strings.Builder
	if e.Identity {
		fmt.Fprintf(&b, "template variable %q names the recipient's identity column, which is not a template variable", e.Name)
	} else {
		fmt.Fprintf(&b, "template variable %q is not %s", e.Name, what)
	}
	if e.Nearest != "" {
		fmt.Fprintf(&b, "; did you mean %q?", e.Nearest)
	}
	if e.Source != "" {
		list += " of " + e.Source
	}
	fmt.Fprintf(&b, " (%s: %s)", list, listNames(e.Names))
	return b.String()
}

// uses lists where t's texts use the variable name.
func (t *Template) uses(name string) []VariableUse {
	var out []VariableUse
	for _, src := range t.texts() {
		if line, col, ok := firstUse(src.text, name); ok {
			out = append(out, VariableUse{Field: src.field, Line: line, Column: col})
		}
	}
	return out
}

// fieldText is a text of a template with its field in the campaign's input.
type fieldText struct{ field, text string }

// texts lists t's texts, each with its field as problems name it.
func (t *Template) texts() []fieldText {
	var out []fieldText
	switch {
	case t.steps != nil:
		for i, p := range t.source {
			if p.Text != "" {
				out = append(out, fieldText{fmt.Sprintf("steps[%d].template", i), p.Text})
			}
			for j, v := range p.Variants {
				out = append(out, fieldText{fmt.Sprintf("steps[%d].variants[%d].text", i, j), v.Text})
			}
		}
	case t.variantSource != nil:
		for j, v := range t.variantSource {
			out = append(out, fieldText{fmt.Sprintf("variants[%d].text", j), v.Text})
		}
	default:
		out = append(out, fieldText{"template", t.text})
	}
	return out
}

// maxListedNames bounds the names an UnknownVariableError lists.
const maxListedNames = 20

func listNames(names []string) string {
	if len(names) <= maxListedNames {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxListedNames], ", ") + fmt.Sprintf(", and %d more", len(names)-maxListedNames)
}

// CheckColumns reports each variable of t that no column of a CSV file
// with these columns fills (columns are matched as rows are: without
// regard to case), as an *UnknownVariableError each, joined.
func CheckColumns(columns []string, t *Template) error {
	h, err := parseHeader(columns, 1)
	if err != nil {
		return err
	}
	var candidates []string
	for i, c := range h.Columns {
		if i != h.urn && i != h.url && i != h.slug {
			candidates = append(candidates, c)
		}
	}
	var errs []error
	for _, v := range t.vars {
		lv := strings.ToLower(v)
		if slices.Contains(candidates, lv) {
			continue
		}
		e := &UnknownVariableError{Name: v, Names: h.Columns, Identity: lv == colURN || lv == colURL || lv == colSlug, Uses: t.uses(v)}
		if !e.Identity {
			e.Nearest = nearest(lv, candidates)
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// CheckInlineVars reports each variable of t that no inline recipient has
// among its vars (names match exactly, as rendering reads them), as an
// *UnknownVariableError each, joined. Recipients without any vars (URNs
// alone) are left to each recipient's own check: a template with
// variables is then wrong for every one of them, which that check says.
func CheckInlineVars(rs []Recipient, t *Template) error {
	seen := map[string]bool{}
	var names []string
	for _, r := range rs {
		for k := range r.Vars {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	var errs []error
	for _, v := range t.vars {
		if !seen[v] {
			errs = append(errs, &UnknownVariableError{Name: v, Nearest: nearest(v, names), Names: names, Inline: true, Uses: t.uses(v)})
		}
	}
	return errors.Join(errs...)
}

// nearest is the candidate closest to name by edit distance, if it is near
// enough to be a typo of it: at most a third of the name's length apart
// (two letters swapped in "first_name" are 2 edits), and at least 1.
func nearest(name string, candidates []string) string {
	best, bestDist := "", max(1, len([]rune(name))/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
