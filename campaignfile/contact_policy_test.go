package campaignfile

import (
	"reflect"
	"testing"

	"github.com/outpacehq/outpace/workflows"
)

func TestContactPolicy(t *testing.T) {
	for text, want := range map[string]*workflows.ContactPolicy{
		"":                        nil,
		"contact_policy: allow\n": {Scope: "allow"},
		"contact_policy: {scope: all, window: 30d}\n":          {Scope: "all", Window: "30d"},
		"contact_policy:\n  scope: account\n  window: 1d12h\n": {Scope: "account", Window: "1d12h"},
		"contact_policy: {window: 12h}\n":                      {Window: "12h"},
	} {
		f, err := Parse("/c/p.yaml", []byte(text+"steps: [{message: hi}]\n"))
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if !reflect.DeepEqual(f.Input.ContactPolicy, want) {
			t.Errorf("%q: contact_policy = %+v, want %+v", text, f.Input.ContactPolicy, want)
		}
	}
}

func TestContactPolicyProblems(t *testing.T) {
	steps := "steps: [{message: hi}]\n"
	checkProblems(t, "p.yaml", "contact_policy: everyone\n"+steps,
		want{1, "contact_policy.scope", `"everyone": want account (the same sender account), all (any account) or allow`})
	checkProblems(t, "p.yaml", "contact_policy:\n  scope: all\n  window: 0d\n"+steps,
		want{3, "contact_policy.window", "must be positive"})
	checkProblems(t, "p.yaml", "contact_policy:\n  scope: all\n  window: soon\n"+steps,
		want{3, "contact_policy.window", "want a duration such as 90s"})
	checkProblems(t, "p.yaml", "contact_policy: {scope: allow, window: 30d}\n"+steps,
		want{1, "contact_policy.window", "not used with allow"})
	checkProblems(t, "p.yaml", "contact_policy: {scop: all}\n"+steps,
		want{1, "contact_policy.scop", "unknown key (did you mean scope?)"})
}
