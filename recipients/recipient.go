package recipients

import (
	"cmp"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// Recipient is one row, inline (JSON, from a campaign input) or from a CSV. It
// names the person by URN, or by profile URL or slug when the user only has
// those (the workflow then looks the URN up), and carries the values of the
// template's variables.
type Recipient struct {
	RecipientURN string            `json:"recipient_urn,omitempty"`
	ProfileURL   string            `json:"profile_url,omitempty"`
	ProfileSlug  string            `json:"profile_slug,omitempty"`
	Vars         map[string]string `json:"vars,omitempty"`
}

// Prepared is a recipient ready for the workflow: identified, with the message
// rendered and checked, so the workflow itself never parses or renders.
type Prepared struct {
	Line         int      `json:"line"`                    // CSV line number (1 = header), or 1-based index for inline recipients
	RecipientURN string   `json:"recipient_urn,omitempty"` // set when the recipient names a valid URN
	ProfileSlug  string   `json:"profile_slug,omitempty"`  // set when the recipient names a profile instead of a URN: the URN must be looked up
	Message      string   `json:"message,omitempty"`       // empty when Problems is non-empty (nothing half-rendered), and for a template of steps
	Texts        []string `json:"texts,omitempty"`         // for a template of steps, one text per step ("" for a step without text, or without a note); nil when Problems is non-empty
	Problems     []string `json:"problems,omitempty"`      // why this recipient is invalid, each naming the field or variable and the rule
	// Variant names the variant of the message drawn for this recipient
	// (a template of variants); Variants, those of each step, aligned
	// with Texts ("" for a step without variants), when any step has
	// variants. Both are empty when Problems is non-empty.
	Variant  string   `json:"variant,omitempty"`
	Variants []string `json:"variants,omitempty"`
}

// maxSlugLength is LinkedIn's limit on a public profile URL's slug.
const maxSlugLength = 100

// Prepare identifies the recipient and renders its message with t (for a
// template of steps, every step's text, each checked by its kind's rule),
// recording every problem rather than the first, so that a user fixes a row
// once.
//
// The identity is RecipientURN if set, else ProfileSlug, else the slug of
// ProfileURL; all three are trimmed, as CSV cells often carry stray spaces. A
// valid identity is kept even when the message has problems, to name the
// person in a report.
func Prepare(line int, r Recipient, t *Template) Prepared {
	p := Prepared{Line: line}
	urn, slug, url := strings.TrimSpace(r.RecipientURN), strings.TrimSpace(r.ProfileSlug), strings.TrimSpace(r.ProfileURL)
	var err error
	switch {
	case urn != "":
		if err = outx.ValidateRecipientURN(urn); err == nil {
			p.RecipientURN = urn
		} else if strings.Contains(urn, "linkedin.com/") {
			err = profileURLAsURN(urn)
		}
	case slug != "":
		if err = checkSlug("profile_slug", slug); err == nil {
			p.ProfileSlug = slug
		}
	case url != "":
		if slug, err = outx.ProfileSlugFromURL(url); err == nil {
			if err = checkSlug("profile_url", slug); err == nil {
				p.ProfileSlug = slug
			}
		}
	default:
		err = &outx.FieldError{Field: "recipient_urn", Rule: "one of recipient_urn, profile_url or profile_slug is required"}
	}
	if err != nil {
		p.Problems = append(p.Problems, err.Error())
	}
	// Variants and choices are drawn for the person, named as the row
	// names them (Draw).
	who := cmp.Or(urn, slug, url)
	if p.RecipientURN != "" || p.ProfileSlug != "" {
		who = cmp.Or(p.RecipientURN, p.ProfileSlug)
	}
	if t.steps != nil {
		texts, variants, problems := t.renderSteps(who, r.Vars)
		p.Problems = append(p.Problems, problems...)
		if p.Problems == nil {
			p.Texts, p.Variants = texts, variants
		}
		return p
	}
	vals, err := values(t.vars, r.Vars)
	var msg, variant string
	if err == nil {
		// The longest text first: a row too long for OutX is so whatever
		// it draws, and is told so the same way.
		msg, variant = t.msg.draw(Draw{Campaign: t.campaign, Recipient: who, Step: 1}, vals)
		if err = t.msg.checkLongest(vals); err == nil {
			err = outx.ValidateMessage(msg)
		}
	}
	if err != nil {
		p.Problems = append(p.Problems, err.Error())
	}
	if p.Problems == nil {
		p.Message, p.Variant = msg, variant
	}
	return p
}

// profileURLAsURN is the problem of a profile URL given as the URN. outpace
// looks the URN up itself when a row names its person by profile_url (or
// profile_slug), so the fix is to name the column so.
func profileURLAsURN(url string) error {
	rule := fmt.Sprintf("%s is a profile URL, not a URN: put it in a %s column", quote(url), colURL)
	if slug, err := outx.ProfileSlugFromURL(url); err == nil && checkSlug(colSlug, slug) == nil {
		rule += fmt.Sprintf(" (or its slug, %s, in %s)", quote(slug), colSlug)
	}
	return &outx.FieldError{Field: colURN, Rule: rule + " and outpace looks the URN up"}
}

// checkSlug refuses what cannot be a public profile slug (at most 100
// characters, no spaces, no URL syntax), so a bad cell is reported before the
// campaign starts rather than by OutX midway.
func checkSlug(field, slug string) error {
	bad := func(r rune) bool { return isSpace(r) || unicode.IsControl(r) || strings.ContainsRune("/?#", r) }
	if !utf8.ValidString(slug) || utf8.RuneCountInString(slug) > maxSlugLength || strings.ContainsFunc(slug, bad) {
		return &outx.FieldError{Field: field, Rule: fmt.Sprintf("must be a public profile slug such as jane-doe-123, of at most %d characters without spaces, '/', '?' or '#' (got %s)", maxSlugLength, quote(slug))}
	}
	return nil
}

// Inline prepares the inline recipients rs[from:from+limit], numbering them
// from 1 as a user counts them. It returns where the next call starts and
// whether none are left, so a workflow walks a long list in pages as it walks
// a CSV. A limit below 1 counts as 1.
func Inline(rs []Recipient, t *Template, from, limit int) (prepared []Prepared, next int, done bool) {
	from = min(max(from, 0), len(rs))
	end := from + min(max(limit, 1), len(rs)-from)
	prepared = make([]Prepared, 0, end-from)
	for i := from; i < end; i++ {
		prepared = append(prepared, Prepare(i+1, rs[i], t))
	}
	return prepared, end, end == len(rs)
}

// quote shows a value in a problem, shortened so that a huge cell cannot
// flood a report or a workflow's history.
func quote(s string) string {
	const max = 80
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}
