package activities

import (
	"context"
	"fmt"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// WithEvents returns the contacts store that also writes, to the webhooks
// outbox, the event of each verdict and outcome it records: the activity
// that records it (Send's claim, PollStatus at a final status, a
// connection check) thereby emits the event, at no extra Temporal action.
// Without endpoints it returns st itself.
func WithEvents(st contacts.Store, em *webhooks.Emitter) contacts.Store {
	if st == nil || !em.Enabled() {
		return st
	}
	return &eventingStore{Store: st, em: em}
}

type eventingStore struct {
	contacts.Store
	em *webhooks.Emitter
}

// Claim emits recipient.excluded or recipient.skipped for a refusal.
func (s *eventingStore) Claim(ctx context.Context, c contacts.Claim) (contacts.Verdict, error) {
	v, err := s.Store.Claim(ctx, c)
	if err != nil || !(v.Excluded || v.Skipped) || !c.Action.Contacting() {
		return v, err
	}
	typ, outcome, reason := webhooks.RecipientSkipped, "skipped", elsewhereText(v, &c.Policy)
	if v.Excluded {
		typ, outcome, reason = webhooks.RecipientExcluded, "excluded", excludedText(v)
	}
	e := webhooks.Event{
		ID: webhooks.ID(c.WorkflowID, typ, c.Step), Type: typ, Account: senders.Or(c.Account),
		Campaign: c.CampaignID, Step: c.Step, RecipientURN: c.RecipientURN, Outcome: outcome, Reason: reason,
	}
	if err := s.em.Emit(ctx, e); err != nil {
		// The outbox is the store: the claim waits for it like any write.
		return contacts.Verdict{}, fmt.Errorf("%w: %v", contacts.ErrUnavailable, err)
	}
	return v, nil
}

// Finish emits the event of a final outcome: message.delivered, failed or
// unknown; connection.sent; connection.accepted when a check finds the
// person connected.
func (s *eventingStore) Finish(ctx context.Context, r contacts.Result) error {
	if err := s.Store.Finish(ctx, r); err != nil {
		return err
	}
	typ := outcomeEvent(r)
	if typ == "" {
		return nil
	}
	row, err := contacts.Lookup(ctx, s.Store, r.WorkflowID, r.Action, r.Step)
	if err != nil || row == nil {
		return err
	}
	outcome := r.Outcome
	if typ == webhooks.ConnectionAccepted {
		outcome = "accepted"
	}
	return s.em.Emit(ctx, webhooks.Event{
		ID: webhooks.ID(r.WorkflowID, typ, r.Step), Type: typ, Account: senders.Or(row.Account),
		Campaign: row.CampaignID, Step: r.Step, RecipientURN: row.RecipientURN,
		Outcome: outcome, Reason: r.Reason, TaskID: r.TaskID,
	})
}

// outcomeEvent is the event type of a recorded outcome, "" for none: a
// request that certainly made no task (the workflow decides what follows),
// a failed connection request or check (its sequence's end tells).
func outcomeEvent(r contacts.Result) string {
	switch {
	case r.Action == contacts.ActionMessage && r.Outcome == "delivered":
		return webhooks.MessageDelivered
	case r.Action == contacts.ActionMessage && r.Outcome == "failed" && !r.NoTask:
		return webhooks.MessageFailed
	case r.Action == contacts.ActionMessage && r.Outcome == "unknown":
		return webhooks.MessageUnknown
	case r.Action == contacts.ActionConnect && r.Outcome == "delivered":
		return webhooks.ConnectionSent
	case r.Action == contacts.ActionCheck && r.Outcome == "delivered" && r.Reason == "connected":
		return webhooks.ConnectionAccepted
	}
	return ""
}
