package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// Clients builds one OutX client per sender account, for Activities.Accounts.
// Its errors name the account, never its key.
func Clients(cfg senders.Config, opts ...outx.Option) (map[string]*outx.Client, error) {
	clients := make(map[string]*outx.Client, len(cfg.Accounts))
	for _, acc := range cfg.Accounts {
		c, err := outx.New(acc.BaseURL, acc.APIKey, opts...)
		if err != nil {
			return nil, fmt.Errorf("sender %s: %w", acc.Name, err)
		}
		clients[acc.Name] = c
	}
	return clients, nil
}

// client is the OutX client of the named sender ("" is senders.Default).
// A name the worker has no key for is a non-retryable ErrUnknownSender that
// lists the names it has.
func (a *Activities) client(sender string) (*outx.Client, error) {
	name := senders.Or(sender)
	if c, ok := a.Accounts[name]; ok && c != nil {
		return c, nil
	}
	if name == senders.Default && a.OutX != nil {
		return a.OutX, nil
	}
	configured := "none"
	if names := a.senderNames(); len(names) > 0 {
		configured = strings.Join(names, ", ")
	}
	shown := name
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("sender %q is not configured in this worker (configured: %s)", shown, configured), ErrUnknownSender, nil)
}

// senderNames lists the senders the activities can act for, sorted.
func (a *Activities) senderNames() []string {
	var names []string
	for name, c := range a.Accounts {
		if c != nil {
			names = append(names, name)
		}
	}
	if a.OutX != nil && !slices.Contains(names, senders.Default) {
		names = append(names, senders.Default)
	}
	slices.Sort(names)
	return names
}

// SenderLimitsInput names a sender account, and the campaign asking, if
// one is.
type SenderLimitsInput struct {
	Sender   string `json:"sender,omitempty"`
	Campaign string `json:"campaign,omitempty"`
}

// SenderLimitsResult is the account's limits and, for a campaign, the
// types of the events only a workflow sees that the worker's webhook
// endpoints take for it: the campaign writes those (one local activity
// each) and no other, so without endpoints it writes none.
type SenderLimitsResult struct {
	senders.Limits
	Events []string `json:"events,omitempty"`
}

// SenderLimits returns the account's limits, defaults filled in, for its
// pacer: the limits live in the worker's configuration beside the key, but
// carry no secret.
func (a *Activities) SenderLimits(_ context.Context, in SenderLimitsInput) (SenderLimitsResult, error) {
	if _, err := a.client(in.Sender); err != nil {
		return SenderLimitsResult{}, err
	}
	res := SenderLimitsResult{Limits: senders.DefaultLimits()}
	if acc, ok := a.Senders.Get(in.Sender); ok {
		res.Limits = acc.Limits.WithDefaults()
	}
	if in.Campaign != "" && a.Events.Enabled() {
		for _, typ := range webhooks.Types {
			if len(a.Events.Config.For(webhooks.Event{Type: typ, Account: senders.Or(in.Sender), Campaign: in.Campaign})) > 0 {
				res.Events = append(res.Events, typ)
			}
		}
	}
	return res, nil
}
