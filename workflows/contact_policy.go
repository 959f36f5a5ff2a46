package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/outpacehq/outpace/contacts"
)

// ContactPolicy is a campaign's contact_policy: which earlier contacts by
// other campaigns make it skip a person. Unset, it is the default: a
// person contacted by another campaign of the same account within 90 days
// is skipped. In JSON (and a campaign file) it is "allow" (no
// cross-campaign check; the do-not-contact list still holds), or
// {"scope": "account" | "all", "window": "90d"}.
type ContactPolicy struct {
	// Scope is "account" (the default: the same sender account), "all"
	// (any account) or "allow".
	Scope string `json:"scope,omitempty"`
	// Window is how far back an earlier contact counts: a duration such
	// as "90d", "30d" or "12h" (default 90d).
	Window string `json:"window,omitempty"`
}

// UnmarshalJSON reads "allow" (or "account", "all") as the scope alone, or
// the object; Validate checks the values.
func (p *ContactPolicy) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = ContactPolicy{Scope: s}
		return nil
	}
	type plain ContactPolicy
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return err
		}
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[ContactPolicy]()}
	}
	*p = ContactPolicy(v)
	return nil
}

// MarshalJSON writes "allow" as a string, anything else as the object.
func (p ContactPolicy) MarshalJSON() ([]byte, error) {
	if p.Scope == contacts.ScopeAllow && p.Window == "" {
		return json.Marshal(p.Scope)
	}
	type plain ContactPolicy
	return json.Marshal(plain(p))
}

// Policy is the contacts store's policy; errors name the field
// (contact_policy.scope, contact_policy.window) and the rule.
func (p *ContactPolicy) Policy() (contacts.Policy, error) {
	if p == nil {
		return contacts.Policy{}, nil
	}
	var errs []error
	out := contacts.Policy{}
	switch strings.ToLower(strings.TrimSpace(p.Scope)) {
	case "", contacts.ScopeAccount:
		out.Scope = contacts.ScopeAccount
	case contacts.ScopeAll:
		out.Scope = contacts.ScopeAll
	case contacts.ScopeAllow:
		out.Scope = contacts.ScopeAllow
		if p.Window != "" {
			errs = append(errs, errors.New(`contact_policy.window: not used with allow, which checks no earlier contact (give scope: account or all with a window, or allow alone)`))
		}
	default:
		errs = append(errs, fmt.Errorf("contact_policy.scope: %q: want account (the same sender account), all (any account) or allow (no cross-campaign check)", p.Scope))
	}
	if p.Window != "" && out.Scope != contacts.ScopeAllow {
		d, err := parseWindow(p.Window)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("contact_policy.window: %q: want a positive duration such as 90d, 30d, 1d12h or 12h", p.Window))
		case d <= 0:
			errs = append(errs, fmt.Errorf("contact_policy.window: %q: must be positive (to check no earlier contact, use contact_policy: allow)", p.Window))
		default:
			out.Window = d
		}
	}
	if len(errs) > 0 {
		return contacts.Policy{}, errors.Join(errs...)
	}
	return out, nil
}

// ForActivity is the policy as the Send activities take it: nil for the
// default (and for a policy Validate refuses, which never gets this far).
func (p *ContactPolicy) ForActivity() *contacts.Policy {
	if p == nil {
		return nil
	}
	pol, err := p.Policy()
	if err != nil {
		return nil
	}
	return &pol
}

// String says the policy in words.
func (p *ContactPolicy) String() string {
	pol, err := p.Policy()
	if err != nil {
		return "invalid contact policy"
	}
	if pol.Scope == contacts.ScopeAllow {
		return "allow (no cross-campaign check)"
	}
	w := pol.Window
	if w == 0 {
		w = contacts.DefaultWindow
	}
	scope := pol.Scope
	if scope == "" {
		scope = contacts.ScopeAccount
	}
	return fmt.Sprintf("%s within %s", scope, formatWindow(w))
}

var windowDays = regexp.MustCompile(`^([0-9]+)d`)

// parseWindow reads Go's duration text, or whole days first ("90d",
// "1d12h"): a day is 24 hours.
func parseWindow(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	var days time.Duration
	if m := windowDays.FindStringSubmatch(rest); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, errors.New("too long")
		}
		days, rest = time.Duration(n)*24*time.Hour, rest[len(m[0]):]
		if rest == "" {
			return days, nil
		}
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, errors.New("bad duration")
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, err
	}
	if days > 0 && d > math.MaxInt64-days {
		return 0, errors.New("too long")
	}
	return days + d, nil
}

func formatWindow(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
