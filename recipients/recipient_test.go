package recipients

import (
	"reflect"
	"strings"
	"testing"
)

const urnRule = `recipient_urn: must be a LinkedIn person URN urn:li:person:<id>, where <id> is 1 to 100 letters, digits, '_' or '-'`

func TestPrepare(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}!")
	vars := map[string]string{"name": "Ada"}
	cases := []struct {
		name string
		r    Recipient
		want Prepared
	}{
		{"URN", Recipient{RecipientURN: "urn:li:person:ACoAAB-_1", Vars: vars},
			Prepared{Line: 7, RecipientURN: "urn:li:person:ACoAAB-_1", Message: "Hi Ada!"}},
		{"URN with spaces around it", Recipient{RecipientURN: " urn:li:person:abc\t", Vars: vars},
			Prepared{Line: 7, RecipientURN: "urn:li:person:abc", Message: "Hi Ada!"}},
		{"URN wins over slug and URL", Recipient{RecipientURN: "urn:li:person:abc", ProfileSlug: "jane", ProfileURL: "https://linkedin.com/in/joe", Vars: vars},
			Prepared{Line: 7, RecipientURN: "urn:li:person:abc", Message: "Hi Ada!"}},
		{"slug", Recipient{ProfileSlug: "jane-doe-123", ProfileURL: "https://linkedin.com/in/joe", Vars: vars},
			Prepared{Line: 7, ProfileSlug: "jane-doe-123", Message: "Hi Ada!"}},
		{"URL", Recipient{ProfileURL: "https://www.linkedin.com/in/jos%C3%A9-1/?x=1", Vars: vars},
			Prepared{Line: 7, ProfileSlug: "josé-1", Message: "Hi Ada!"}},
		{"URL without scheme", Recipient{ProfileURL: "linkedin.com/in/jane/", Vars: vars},
			Prepared{Line: 7, ProfileSlug: "jane", Message: "Hi Ada!"}},
		{"no identity", Recipient{RecipientURN: " ", Vars: vars},
			Prepared{Line: 7, Problems: []string{"recipient_urn: one of recipient_urn, profile_url or profile_slug is required"}}},
		{"bad URN", Recipient{RecipientURN: "urn:li:member:1", Vars: vars},
			Prepared{Line: 7, Problems: []string{urnRule + ` (got "urn:li:member:1")`}}},
		{"profile URL in the URN column", Recipient{RecipientURN: "https://www.linkedin.com/in/jane", Vars: vars},
			Prepared{Line: 7, Problems: []string{`recipient_urn: "https://www.linkedin.com/in/jane" is a profile URL, not a URN: put it in a profile_url column (or its slug, "jane", in profile_slug) and outpace looks the URN up`}}},
		{"URL in the slug column", Recipient{ProfileSlug: "linkedin.com/in/jane", Vars: vars},
			Prepared{Line: 7, Problems: []string{`profile_slug: must be a public profile slug such as jane-doe-123, of at most 100 characters without spaces, '/', '?' or '#' (got "linkedin.com/in/jane")`}}},
		{"slug with a space", Recipient{ProfileURL: "jane doe", Vars: vars},
			Prepared{Line: 7, Problems: []string{`profile_url: must be a public profile slug such as jane-doe-123, of at most 100 characters without spaces, '/', '?' or '#' (got "jane doe")`}}},
		{"not a LinkedIn URL", Recipient{ProfileURL: "https://example.com/in/jane", Vars: vars},
			Prepared{Line: 7, Problems: []string{`profile_url: must be a linkedin.com/in/<slug> URL (got "https://example.com/in/jane")`}}},
		{"missing variable, identity kept", Recipient{RecipientURN: "urn:li:person:abc", Vars: map[string]string{"name": " "}},
			Prepared{Line: 7, RecipientURN: "urn:li:person:abc", Problems: []string{`template variable "name" is missing or empty`}}},
		{"every problem", Recipient{RecipientURN: "x"},
			Prepared{Line: 7, Problems: []string{urnRule + ` (got "x")`, `template variable "name" is missing or empty`}}},
		{"message refused", Recipient{RecipientURN: "urn:li:person:abc", Vars: map[string]string{"name": "A\x1bB"}},
			Prepared{Line: 7, RecipientURN: "urn:li:person:abc", Problems: []string{"message: must not contain control character U+001B (at byte 4)"}}},
		{"message too long", Recipient{RecipientURN: "urn:li:person:abc", Vars: map[string]string{"name": strings.Repeat("a", 9997)}},
			Prepared{Line: 7, RecipientURN: "urn:li:person:abc", Problems: []string{"message: is 10001 characters long (UTF-16 code units, as OutX counts them); the limit is 10000"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prepare(7, tc.r, tpl); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Prepare =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestInline(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	rs := []Recipient{
		{RecipientURN: "urn:li:person:a", Vars: map[string]string{"name": "A"}},
		{RecipientURN: "urn:li:person:b"},
		{ProfileSlug: "c", Vars: map[string]string{"name": "C"}},
	}
	type page struct {
		prepared []Prepared
		next     int
		done     bool
	}
	call := func(from, limit int) page {
		p, next, done := Inline(rs, tpl, from, limit)
		return page{p, next, done}
	}
	a := Prepared{Line: 1, RecipientURN: "urn:li:person:a", Message: "Hi A"}
	b := Prepared{Line: 2, RecipientURN: "urn:li:person:b", Problems: []string{`template variable "name" is missing or empty`}}
	c := Prepared{Line: 3, ProfileSlug: "c", Message: "Hi C"}
	cases := []struct {
		from, limit int
		want        page
	}{
		{0, 2, page{[]Prepared{a, b}, 2, false}},
		{2, 2, page{[]Prepared{c}, 3, true}},
		{0, 3, page{[]Prepared{a, b, c}, 3, true}},
		{1, 0, page{[]Prepared{b}, 2, false}},
		{3, 5, page{[]Prepared{}, 3, true}},
		{-1, 1, page{[]Prepared{a}, 1, false}},
		{9, 1, page{[]Prepared{}, 3, true}},
		{1, int(^uint(0) >> 1), page{[]Prepared{b, c}, 3, true}},
	}
	for _, tc := range cases {
		if got := call(tc.from, tc.limit); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Inline(from %d, limit %d) = %+v, want %+v", tc.from, tc.limit, got, tc.want)
		}
	}
}
