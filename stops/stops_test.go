package stops

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const urn = "urn:li:person:ACoAAAda01"
	for name, c := range map[string]struct {
		r     Request
		field string // "" when valid
	}{
		"campaign":                    {r: Request{RecipientURN: urn, Scope: ScopeCampaign, Campaign: "spring"}},
		"account by name":             {r: Request{RecipientURN: urn, Scope: ScopeAccount, Account: "alice"}},
		"account by campaign":         {r: Request{RecipientURN: urn, Scope: ScopeAccount, Campaign: "spring"}},
		"everywhere":                  {r: Request{RecipientURN: urn, Scope: ScopeEverywhere, Reason: "replied"}},
		"no URN":                      {r: Request{Scope: ScopeEverywhere}, field: "recipient_urn"},
		"company URN":                 {r: Request{RecipientURN: "urn:li:company:1", Scope: ScopeEverywhere}, field: "recipient_urn"},
		"no scope":                    {r: Request{RecipientURN: urn}, field: "scope"},
		"campaign scope, no campaign": {r: Request{RecipientURN: urn, Scope: ScopeCampaign}, field: "campaign"},
		"campaign scope, an account":  {r: Request{RecipientURN: urn, Scope: ScopeCampaign, Campaign: "spring", Account: "alice"}, field: "account"},
		"account scope, neither":      {r: Request{RecipientURN: urn, Scope: ScopeAccount}, field: "account"},
		"bad account name":            {r: Request{RecipientURN: urn, Scope: ScopeAccount, Account: "Alice!"}, field: "account"},
		"everywhere with a campaign":  {r: Request{RecipientURN: urn, Scope: ScopeEverywhere, Campaign: "spring"}, field: "scope"},
		"control character in id":     {r: Request{RecipientURN: urn, Scope: ScopeCampaign, Campaign: "spr\ning"}, field: "campaign"},
		"long reason":                 {r: Request{RecipientURN: urn, Scope: ScopeEverywhere, Reason: strings.Repeat("r", MaxReason+1)}, field: "reason"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.r.Check()
			var fe *FieldError
			switch {
			case c.field == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Errorf("error %v, want one on field %s", err, c.field)
			}
		})
	}
}
