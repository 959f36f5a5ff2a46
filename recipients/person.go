package recipients

import (
	"strings"

	"github.com/outpacehq/outpace/outx"
)

// ParsePerson reads one person as a user names them on a command line or in
// a do-not-contact file: a LinkedIn person URN (urn:li:person:<id>), a
// profile URL (linkedin.com/in/<slug>) or a bare profile slug. It returns the
// URN or the slug, by the same rules as a campaign's recipient_urn,
// profile_url and profile_slug columns; the error is an *outx.FieldError.
func ParsePerson(s string) (urn, slug string, err error) {
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
		if err = checkSlug(colURL, slug); err != nil {
			return "", "", err
		}
		return "", slug, nil
	}
	if err := checkSlug(colSlug, s); err != nil {
		return "", "", err
	}
	return "", s, nil
}
