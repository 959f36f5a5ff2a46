package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/workflows"
)

// TestContactPolicyJSON: contact_policy is "allow" or {scope, window}, the
// window in days or Go's units; a mistake names the field and the rule.
func TestContactPolicyJSON(t *testing.T) {
	base := `{"template":"hi","recipients":[{"recipient_urn":"urn:li:person:A1"}]`
	for _, tc := range []struct {
		json string
		want contacts.Policy
		err  string
	}{
		{json: `}`, want: contacts.Policy{}}, // the store's default: account, 90 days
		{json: `,"contact_policy":"allow"}`, want: contacts.Policy{Scope: contacts.ScopeAllow}},
		{json: `,"contact_policy":{"scope":"all","window":"90d"}}`, want: contacts.Policy{Scope: contacts.ScopeAll, Window: 90 * 24 * time.Hour}},
		{json: `,"contact_policy":{"window":"1d12h"}}`, want: contacts.Policy{Scope: contacts.ScopeAccount, Window: 36 * time.Hour}},
		{json: `,"contact_policy":{"scope":"account","window":"12h"}}`, want: contacts.Policy{Scope: contacts.ScopeAccount, Window: 12 * time.Hour}},
		{json: `,"contact_policy":"nobody"}`, err: `contact_policy.scope: "nobody": want account`},
		{json: `,"contact_policy":{"scope":"all","window":"0d"}}`, err: "contact_policy.window: \"0d\": must be positive"},
		{json: `,"contact_policy":{"scope":"all","window":"-3h"}}`, err: "contact_policy.window: \"-3h\": must be positive"},
		{json: `,"contact_policy":{"window":"ninety days"}}`, err: "contact_policy.window: \"ninety days\": want a positive duration such as 90d"},
		{json: `,"contact_policy":{"scope":"allow","window":"3d"}}`, err: "contact_policy.window: not used with allow"},
		{json: `,"contact_policy":{"window":90}}`, err: "contact_policy.window: got number, want a string"},
		{json: `,"contact_policy":7}`, err: "contact_policy"},
	} {
		var in workflows.CampaignInput
		if err := json.Unmarshal([]byte(base+tc.json), &in); err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		err := in.Validate()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: Validate = %v, want %q", tc.json, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		got, err := in.ContactPolicy.Policy()
		if err != nil || got != tc.want {
			t.Errorf("%s: policy %+v (%v), want %+v", tc.json, got, err, tc.want)
		}
		// It survives continue-as-new and the children's inputs.
		b, _ := json.Marshal(in)
		var again workflows.CampaignInput
		if err := json.Unmarshal(b, &again); err != nil || again.Validate() != nil {
			t.Errorf("%s: round trip %s: %v %v", tc.json, b, err, again.Validate())
		}
	}
}
