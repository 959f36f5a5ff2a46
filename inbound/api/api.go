// Package api is the inbound server's contract: its requests, responses and
// errors as Go types, the OpenAPI document that describes them
// (openapi.yaml, served at /v1/openapi.yaml), and a client, so that a
// program (a webhook receiver, a CRM bridge) stops a person in three lines:
//
//	c := api.NewClient("http://127.0.0.1:8089", token)
//	_, err := c.Stop(ctx, api.StopRequest{Person: urn, Scope: api.ScopeCampaign, Campaign: id, Reason: "replied"})
package api

import (
	_ "embed"
	"time"
)

// OpenAPI is the OpenAPI 3 document of the server.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Scopes of a stop (stops.Scope's values).
const (
	ScopeCampaign   = "campaign"
	ScopeAccount    = "account"
	ScopeEverywhere = "everywhere"
)

// StopRequest is POST /v1/stops's body. Person is a URN
// (urn:li:person:<id>), a profile URL (linkedin.com/in/<slug>) or a slug.
type StopRequest struct {
	Person   string `json:"person"`
	Scope    string `json:"scope"`
	Campaign string `json:"campaign,omitempty"`
	Account  string `json:"account,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// StopResponse says what a stop did: each workflow told, and for
// everywhere the do-not-contact entry written.
type StopResponse struct {
	RecipientURN string    `json:"recipient_urn,omitempty"`
	ProfileSlug  string    `json:"profile_slug,omitempty"`
	Scope        string    `json:"scope"`
	Told         []Told    `json:"told"`
	DoNotContact *DNCEntry `json:"do_not_contact,omitempty"`
	Notes        []string  `json:"notes,omitempty"`
	At           time.Time `json:"at"`
}

// Told is one workflow told to stop the person.
type Told struct {
	WorkflowID   string `json:"workflow_id"`
	CampaignID   string `json:"campaign_id,omitempty"`
	Account      string `json:"account,omitempty"`
	Result       string `json:"result,omitempty"`
	StartedPacer bool   `json:"started_pacer,omitempty"`
}

// DNCRequest is POST /v1/dnc's body.
type DNCRequest struct {
	Person string `json:"person"`
	Reason string `json:"reason,omitempty"`
}

// DNCEntry is one do-not-contact entry.
type DNCEntry struct {
	RecipientURN string    `json:"recipient_urn,omitempty"`
	ProfileSlug  string    `json:"profile_slug,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	AddedAt      time.Time `json:"added_at,omitzero"`
}

// DNCRemoved is DELETE /v1/dnc/{person}'s answer.
type DNCRemoved struct {
	Person  string `json:"person"`
	Removed bool   `json:"removed"`
}

// PersonStatus is GET /v1/people/{person}'s answer.
type PersonStatus struct {
	Person       string `json:"person"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	ProfileSlug  string `json:"profile_slug,omitempty"`
	// DoNotContact is true when the person is on the list; Reason says
	// why they were added.
	DoNotContact bool   `json:"do_not_contact"`
	DNCReason    string `json:"dnc_reason,omitempty"`
	// Actions are the ledger's: every LinkedIn action outpace took with
	// the person, oldest first.
	Actions []Action `json:"actions"`
	// Running are the workflows running for the person (their messages
	// and sequences), from Temporal's visibility store; empty when
	// payloads are encrypted (runs are then named by pseudonyms).
	Running []Run `json:"running"`
}

// Action is one ledger row (contacts.Entry).
type Action struct {
	Account      string    `json:"account"`
	RecipientURN string    `json:"recipient_urn"`
	ProfileSlug  string    `json:"profile_slug,omitempty"`
	Action       string    `json:"action"`
	CampaignID   string    `json:"campaign_id,omitempty"`
	Step         string    `json:"step,omitempty"`
	WorkflowID   string    `json:"workflow_id"`
	TaskID       string    `json:"task_id,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	ClaimedAt    time.Time `json:"claimed_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
}

// Run is a workflow running for a person.
type Run struct {
	WorkflowID string    `json:"workflow_id"`
	Type       string    `json:"type"`
	CampaignID string    `json:"campaign_id,omitempty"`
	StartedAt  time.Time `json:"started_at"`
}

// ErrorBody is every error's body: {"error": {"code", "message", "field"}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error codes.
const (
	CodeUnauthorized     = "unauthorized"       // 401: no token, or not a valid one
	CodeBadJSON          = "bad_json"           // 400: not JSON, or not one object
	CodeUnknownField     = "unknown_field"      // 400
	CodeWrongType        = "wrong_type"         // 400
	CodeInvalid          = "invalid"            // 400: a field breaks a rule (Field names it)
	CodeTooLarge         = "too_large"          // 413
	CodeUnsupportedMedia = "unsupported_media"  // 415: not application/json
	CodeNotFound         = "not_found"          // 404: no such route, campaign or entry
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeNotRunning       = "not_running"        // 409: the campaign has ended
	CodeUnresolved       = "unresolved"         // 422: a slug outpace knows no URN for
	CodeNoStore          = "no_store"           // 503: no contacts store configured
	CodeUnavailable      = "unavailable"        // 503: Temporal or the store cannot be reached
	CodeInternal         = "internal"           // 500
)

// Error is one error: a stable code, a message for a person, and the
// request field at fault when there is one.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}
