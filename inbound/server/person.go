package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// parsePerson reads one person: a URN, a profile URL or a bare slug, by
// outx's URN and URL rules and the slug rule of a campaign's profile_slug
// column. (recipients.ParsePerson, from issue 14, replaces it on merge.)
func parsePerson(s string) (urn, slug string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", &outx.FieldError{Field: "person", Rule: "is required: a URN urn:li:person:<id>, a profile URL linkedin.com/in/<slug> or a profile slug"}
	case strings.HasPrefix(strings.ToLower(s), "urn:"):
		if err := outx.ValidateRecipientURN(s); err != nil {
			return "", "", err
		}
		return s, "", nil
	case strings.Contains(s, "/"):
		if slug, err = outx.ProfileSlugFromURL(s); err != nil {
			return "", "", err
		}
		return "", slug, checkSlug("profile_url", slug)
	}
	return "", s, checkSlug("profile_slug", s)
}

func checkSlug(field, slug string) error {
	bad := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("/?#", r) }
	if !utf8.ValidString(slug) || utf8.RuneCountInString(slug) > 100 || strings.ContainsFunc(slug, bad) {
		return &outx.FieldError{Field: field, Rule: fmt.Sprintf("must be a public profile slug such as jane-doe-123, of at most 100 characters without spaces, '/', '?' or '#' (got %q)", clip(slug))}
	}
	return nil
}
