package recipients

import (
	"errors"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/outx"
)

func TestParsePerson(t *testing.T) {
	for _, tc := range []struct {
		in, urn, slug, problem string
	}{
		{in: "urn:li:person:ACoAAB1", urn: "urn:li:person:ACoAAB1"},
		{in: "  urn:li:person:ACoAAB1\r", urn: "urn:li:person:ACoAAB1"},
		{in: "https://www.linkedin.com/in/jane-doe-123/", slug: "jane-doe-123"},
		{in: "linkedin.com/in/jane%20doe", problem: "profile_url: must be a public profile slug"},
		{in: "jane-doe-123", slug: "jane-doe-123"},
		{in: "", problem: "person: is required"},
		{in: "urn:li:fsd_profile:ACoAAB1", problem: "urn:li:person:<id>"},
		{in: "urn:li:person:bad id", problem: "urn:li:person:<id>"},
		{in: "https://example.com/in/jane", problem: "linkedin.com/in/<slug>"},
		{in: "jane doe", problem: "profile_slug: must be a public profile slug"},
	} {
		urn, slug, err := ParsePerson(tc.in)
		if tc.problem != "" {
			var fe *outx.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("ParsePerson(%q) = %q, %q, %v; want a problem with %q", tc.in, urn, slug, err, tc.problem)
			}
			continue
		}
		if err != nil || urn != tc.urn || slug != tc.slug {
			t.Errorf("ParsePerson(%q) = %q, %q, %v; want %q, %q", tc.in, urn, slug, err, tc.urn, tc.slug)
		}
	}
}
