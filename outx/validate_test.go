package outx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/outx"
)

func TestValidateMessage(t *testing.T) {
	emoji := "😀" // one rune, two UTF-16 code units
	cases := []struct {
		name string
		msg  string
		want string // substring of the rule; "" means valid
	}{
		{"plain text", "Hi Ada, great to connect!", ""},
		{"empty", "", "must not be empty"},
		{"spaces only", "   ", "only whitespace"},
		{"newlines and tabs only", "\n\t\r\n", "only whitespace"},
		{"no-break and ideographic spaces only", "\u00a0\u3000\u2003", "only whitespace"},
		{"byte order mark only (JS trims it)", "\ufeff", "only whitespace"},
		{"zero-width characters only", "\u200b\u200d", "invisible"},
		{"10,000 ASCII characters", strings.Repeat("a", 10000), ""},
		{"10,001 ASCII characters", strings.Repeat("a", 10001), "is 10001 characters long"},
		{"5,000 emoji are 10,000 UTF-16 units", strings.Repeat(emoji, 5000), ""},
		{"5,000 emoji and one letter are 10,001 units", strings.Repeat(emoji, 5000) + "a", "is 10001 characters long"},
		{"9,999 letters and an emoji are 10,001 units", strings.Repeat("a", 9999) + emoji, "is 10001 characters long"},
		{"10,000 accented letters (one unit each)", strings.Repeat("é", 10000), ""},
		{"invalid UTF-8", "hi \xff there", "valid UTF-8"},
		{"NUL byte", "hi\x00there", "control character U+0000"},
		{"escape sequence", "hi \x1b[31mred", "control character U+001B"},
		{"multi-line text", "Hi Ada,\n\nthanks!\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := outx.ValidateMessage(tc.msg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *outx.FieldError
			if !errors.As(err, &fe) || fe.Field != "message" || !strings.Contains(fe.Rule, tc.want) {
				t.Fatalf("got %v, want a message error containing %q", err, tc.want)
			}
		})
	}
}

func TestMessageLengthCountsUTF16Units(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "😀": 2, "👩‍💻": 5, "中文": 2} {
		if got := outx.MessageLength(s); got != want {
			t.Errorf("MessageLength(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestValidateRecipientURN(t *testing.T) {
	cases := []struct {
		urn  string
		want string
	}{
		{"urn:li:person:ACoAABCDEFG", ""},
		{"urn:li:person:ACoAAA8BYqEBCGLg_vT_ca6mMEqkpp9nVffJ3hc", ""},
		{"urn:li:person:abc-123", ""},
		{"", "is required"},
		{" urn:li:person:ACoAABCDEFG", "leading or trailing spaces"},
		{"urn:li:person:ACoAABCDEFG\n", "leading or trailing spaces"},
		{"urn:li:person:", "must be a LinkedIn person URN"},
		{"urn:li:member:123", "must be a LinkedIn person URN"},
		{"urn:li:fsd_profile:ACoAABCDEFG", "must be a LinkedIn person URN"},
		{"URN:LI:PERSON:ACoAABCDEFG", "must be a LinkedIn person URN"},
		{"urn:li:person:ACoA/../admin", "must be a LinkedIn person URN"},
		{"urn:li:person:abc;DROP TABLE", "must be a LinkedIn person URN"},
		{"urn:li:person:abc\x00", "must be a LinkedIn person URN"},
		{"urn:li:person:" + strings.Repeat("a", 101), "must be a LinkedIn person URN"},
		{"https://www.linkedin.com/in/jane-doe/", "profile URL, not a URN"},
	}
	for _, tc := range cases {
		err := outx.ValidateRecipientURN(tc.urn)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: want valid, got %v", tc.urn, err)
			}
			continue
		}
		var fe *outx.FieldError
		if !errors.As(err, &fe) || fe.Field != "recipient_urn" || !strings.Contains(fe.Rule, tc.want) {
			t.Errorf("%q: got %v, want a recipient_urn error containing %q", tc.urn, err, tc.want)
		}
	}
}

func TestValidateSendMessageReportsEveryField(t *testing.T) {
	err := outx.ValidateSendMessage(outx.SendMessageRequest{RecipientURN: "bob", Message: " "})
	if err == nil || !strings.Contains(err.Error(), "recipient_urn: ") || !strings.Contains(err.Error(), "message: ") {
		t.Fatalf("got %v, want both fields named", err)
	}
}

func TestErrorsQuoteHugeInputsShortly(t *testing.T) {
	err := outx.ValidateRecipientURN(strings.Repeat("x", 1<<20))
	if len(err.Error()) > 300 {
		t.Fatalf("error is %d bytes long; a huge input must be cut", len(err.Error()))
	}
}

func TestProfileSlugFromURL(t *testing.T) {
	cases := []struct{ in, slug, err string }{
		{"https://www.linkedin.com/in/jane-doe-123/", "jane-doe-123", ""},
		{"linkedin.com/in/jane-doe-123?trk=abc", "jane-doe-123", ""},
		{"https://de.linkedin.com/in/j%C3%BCrgen-m/", "jürgen-m", ""},
		{"jane-doe-123", "jane-doe-123", ""},
		{"https://example.com/in/jane", "", "linkedin.com/in/<slug>"},
		{"https://www.linkedin.com/company/acme", "", "linkedin.com/in/<slug>"},
		{"", "", "is required"},
	}
	for _, tc := range cases {
		slug, err := outx.ProfileSlugFromURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || slug != tc.slug {
			t.Errorf("%q: got %q, %v; want %q", tc.in, slug, err, tc.slug)
		}
	}
}
