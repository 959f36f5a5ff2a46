package outx

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessageLength is OutX's limit on a message, counted as OutX's JavaScript
// server counts a string's length: in UTF-16 code units (an emoji counts 2).
const MaxMessageLength = 10000

// MaxNoteLength is OutX's limit on a connection request's note, counted like
// MaxMessageLength but after trimming the note's surrounding whitespace.
const MaxNoteLength = 300

// personURN is a LinkedIn person URN. Ids are opaque base64url-like strings
// such as ACoAABCDEFG.
var personURN = regexp.MustCompile(`^urn:li:person:[A-Za-z0-9_-]{1,100}$`)

// FieldError is a request field that breaks one of OutX's rules. It names the
// field and the rule so a person can fix the input.
type FieldError struct {
	Field string
	Rule  string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// ValidateSendMessage checks a Send Message request against OutX's published
// rules before anything is sent, so the server never has to refuse it. It
// returns every problem found, each a *FieldError.
func ValidateSendMessage(req SendMessageRequest) error {
	return errors.Join(ValidateRecipientURN(req.RecipientURN), ValidateMessage(req.Message))
}

// ValidateRecipientURN checks the shape of a LinkedIn person URN.
func ValidateRecipientURN(urn string) error {
	return validatePersonURN("recipient_urn", urn)
}

// ValidateConnectionRequest checks a Send Connection Request body against
// OutX's published rules before anything is sent. It returns every problem
// found, each a *FieldError.
func ValidateConnectionRequest(req SendConnectionRequestBody) error {
	return errors.Join(validatePersonURN("profile_urn", req.ProfileURN), ValidateNote(req.Note))
}

// ValidateNote checks a connection request's note. The note is optional: an
// empty or whitespace-only note means no note. Otherwise it follows the
// message rules (valid UTF-8, no control characters but tab and newlines)
// and is at most MaxNoteLength UTF-16 code units once trimmed, because OutX
// counts it after trimming.
func ValidateNote(note string) error {
	const field = "note"
	trimmed := strings.TrimFunc(note, IsJSWhitespace)
	if trimmed == "" {
		return nil
	}
	if !utf8.ValidString(note) {
		return &FieldError{field, "must be valid UTF-8 text"}
	}
	for i, r := range note {
		if isControl(r) {
			return &FieldError{field, fmt.Sprintf("must not contain control character %U (at byte %d)", r, i)}
		}
	}
	if n := MessageLength(trimmed); n > MaxNoteLength {
		return &FieldError{field, fmt.Sprintf("is %d characters long after trimming (UTF-16 code units, as OutX counts them); the limit is %d", n, MaxNoteLength)}
	}
	return nil
}

// validatePersonURN checks the shape of a LinkedIn person URN given in field.
func validatePersonURN(field, urn string) error {
	switch {
	case urn == "":
		return &FieldError{field, "is required"}
	case personURN.MatchString(urn):
		return nil
	case strings.TrimSpace(urn) != urn:
		return &FieldError{field, "must not have leading or trailing spaces"}
	case strings.Contains(urn, "linkedin.com/"):
		return &FieldError{field, fmt.Sprintf("%s is a profile URL, not a URN: look the URN up with Fetch Profile", quote(urn))}
	}
	rule := fmt.Sprintf("must be a LinkedIn person URN urn:li:person:<id>, where <id> is 1 to 100 letters, digits, '_' or '-' (got %s", quote(urn))
	// A look-alike letter (Cyrillic "а" for Latin "a") reads as a typo
	// nobody can see: name it.
	if i := strings.IndexFunc(urn, func(r rune) bool { return r > unicode.MaxASCII }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(urn[i:])
		rule += fmt.Sprintf("; %U at byte %d is not an ASCII character: a look-alike letter?", r, i)
	}
	return &FieldError{field, rule + ")"}
}

// ValidateMessage checks a message text: valid UTF-8, some visible text, no
// control characters but tab and newlines, at most MaxMessageLength UTF-16
// code units.
//
// OutX itself only refuses empty and whitespace-only texts; outpace also
// refuses texts that would reach a person as nothing (only invisible
// characters) or garbled (invalid UTF-8, control characters).
func ValidateMessage(msg string) error {
	const field = "message"
	if !utf8.ValidString(msg) {
		return &FieldError{field, "must be valid UTF-8 text"}
	}
	visible := false
	for i, r := range msg {
		if isControl(r) {
			return &FieldError{field, fmt.Sprintf("must not contain control character %U (at byte %d)", r, i)}
		}
		if !IsJSWhitespace(r) && !isInvisible(r) {
			visible = true
		}
	}
	if !visible {
		if msg == "" {
			return &FieldError{field, "must not be empty"}
		}
		return &FieldError{field, "must not be only whitespace or invisible characters"}
	}
	if n := MessageLength(msg); n > MaxMessageLength {
		return &FieldError{field, fmt.Sprintf("is %d characters long (UTF-16 code units, as OutX counts them); the limit is %d", n, MaxMessageLength)}
	}
	return nil
}

// MessageLength counts a text's length as JavaScript does: UTF-16 code units.
func MessageLength(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// IsJSWhitespace is the set String.prototype.trim removes, which is how OutX's
// JavaScript server decides a text is whitespace only: ECMAScript's WhiteSpace
// and LineTerminator. It differs from unicode.IsSpace (U+0085 is not in it;
// U+FEFF is).
func IsJSWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0xFEFF, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// isInvisible is a character that renders as nothing on its own: format
// characters such as zero-width spaces and joiners, and U+0085.
func isInvisible(r rune) bool {
	return r == 0x0085 || unicode.Is(unicode.Cf, r)
}

// isControl is a control character other than tab, line feed and carriage
// return (which messages legitimately contain).
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r', 0x0085:
		return false
	}
	return unicode.IsControl(r)
}

// ProfileSlugFromURL extracts the public profile slug from a LinkedIn profile
// URL such as https://www.linkedin.com/in/jane-doe-123/; a bare slug is
// returned as it is.
func ProfileSlugFromURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &FieldError{"profile_url", "is required"}
	}
	if !strings.Contains(s, "/") {
		return s, nil
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || !strings.HasSuffix(strings.ToLower(u.Hostname()), "linkedin.com") {
		return "", &FieldError{"profile_url", fmt.Sprintf("must be a linkedin.com/in/<slug> URL (got %s)", quote(s))}
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "in" || parts[1] == "" {
		return "", &FieldError{"profile_url", fmt.Sprintf("must be a linkedin.com/in/<slug> URL (got %s)", quote(s))}
	}
	slug, err := url.PathUnescape(parts[1])
	if err != nil {
		return "", &FieldError{"profile_url", fmt.Sprintf("has a badly escaped slug (got %s)", quote(s))}
	}
	return slug, nil
}

// quote shows a value in an error, shortened so that a hostile or huge input
// cannot flood a terminal or a log.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
