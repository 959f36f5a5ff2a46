// Package webhooks sends outpace's events to a team's own endpoints (a CRM,
// n8n, Zapier...): the event envelope, the endpoints' configuration, the
// signature a receiver verifies, and one HTTP delivery. It knows nothing of
// Temporal: activities write events to the outbox (see Outbox) and a
// deliverer workflow's activity sends them.
package webhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Event types. A receiver subscribes to names or globs ("message.*").
const (
	MessageDelivered      = "message.delivered"
	MessageFailed         = "message.failed"
	MessageUnknown        = "message.unknown"
	MessageInvalid        = "message.invalid"
	ConnectionSent        = "connection.sent"
	ConnectionAccepted    = "connection.accepted"
	ConnectionNotAccepted = "connection.not_accepted"
	SequenceFinished      = "sequence.finished"
	RecipientExcluded     = "recipient.excluded"
	RecipientSkipped      = "recipient.skipped"
	CampaignStarted       = "campaign.started"
	CampaignPaused        = "campaign.paused"
	CampaignResumed       = "campaign.resumed"
	CampaignFinished      = "campaign.finished"
	CampaignStopped       = "campaign.stopped"
	AccountWaiting        = "account.waiting"
)

// Types lists every event type, for the configuration's check of names.
var Types = []string{
	MessageDelivered, MessageFailed, MessageUnknown, MessageInvalid,
	ConnectionSent, ConnectionAccepted, ConnectionNotAccepted,
	SequenceFinished, RecipientExcluded, RecipientSkipped,
	CampaignStarted, CampaignPaused, CampaignResumed, CampaignFinished, CampaignStopped,
	AccountWaiting,
}

// Event is the envelope every delivery carries as its JSON body.
type Event struct {
	// ID is stable: the same event, emitted again (an activity's retry, a
	// workflow's replay), has the same id. Receivers deduplicate on it.
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Account is the sender account ("default" when the worker has one).
	Account      string `json:"account"`
	Campaign     string `json:"campaign,omitempty"`
	Step         string `json:"step,omitempty"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	Outcome      string `json:"outcome,omitempty"`
	Reason       string `json:"reason,omitempty"`
	TaskID       string `json:"task_id,omitempty"`
	// Data carries what one type adds (sequence.finished: every step's
	// outcome).
	Data json.RawMessage `json:"data,omitempty"`
}

// ID derives an event's id from what the event is about: subject is the
// run's workflow id (a message, a sequence, a campaign), typ the event
// type, and part tells apart the events of one type about one subject (a
// sequence's step, a campaign's n-th pause). Same inputs, same id.
func ID(subject, typ, part string) string {
	h := sha256.New()
	for _, s := range []string{subject, typ, part} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil))[:32]
}

// Body is the JSON body of e, as delivered and signed.
func (e Event) Body() ([]byte, error) { return json.Marshal(e) }
