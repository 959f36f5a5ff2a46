package outx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors, one per row of OutX's published error tables. An *APIError
// matches (errors.Is) the sentinel of the row it came from, and also the
// group sentinels ErrBadRequest (any 400) and ErrUnauthorized (any 401).
var (
	ErrBadRequest          = errors.New("outx: bad request")
	ErrInvalidRecipientURN = errors.New("outx: missing or invalid 'recipient_urn'")
	ErrInvalidMessage      = errors.New("outx: missing or invalid 'message'")
	ErrMessageTooLong      = errors.New("outx: message text is too long")
	ErrInvalidTaskID       = errors.New("outx: missing or invalid 'api_agent_task_id'")
	ErrInvalidProfileSlug  = errors.New("outx: missing or invalid 'profile_slug'")

	ErrUnauthorized  = errors.New("outx: unauthorized")
	ErrMissingAPIKey = errors.New("outx: missing API key")
	ErrInvalidAPIKey = errors.New("outx: invalid API key")

	// ErrExtensionOffline is OutX's 403: no team member's Chrome extension was
	// active in the last 48 hours, so nothing can be performed until one is.
	ErrExtensionOffline = errors.New("outx: no active OutX browser extension (plugin installation required)")
	ErrNoAdmin          = errors.New("outx: no admin user found in the team")
	ErrTaskNotFound     = errors.New("outx: agent task not found")
	ErrRateLimited      = errors.New("outx: rate limit exceeded")
	ErrServer           = errors.New("outx: server error")
)

// APIError is an answer from OutX with an error status. Message is OutX's own
// text from the {"error": "..."} body; it never contains the API key.
type APIError struct {
	Endpoint   string // e.g. "send-message"
	StatusCode int
	Message    string
	kind       error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("outx %s: %d %s: %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Is matches the sentinel of the documented row and the group sentinels.
func (e *APIError) Is(target error) bool {
	switch {
	case target == e.kind:
		return true
	case target == ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case target == ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case target == ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

// newAPIError classifies an error answer by its status and OutX's text, as in
// the tables of outx-api.md. Texts are matched by prefix because OutX appends
// details to some of them ("Plugin installation required...").
func newAPIError(endpoint string, status int, message string) *APIError {
	e := &APIError{Endpoint: endpoint, StatusCode: status, Message: message}
	lower := strings.ToLower(message)
	has := func(s string) bool { return strings.Contains(lower, s) }
	switch {
	case status == http.StatusBadRequest && has("recipient_urn"):
		e.kind = ErrInvalidRecipientURN
	case status == http.StatusBadRequest && has("too long"):
		e.kind = ErrMessageTooLong
	case status == http.StatusBadRequest && has("'message'"):
		e.kind = ErrInvalidMessage
	case status == http.StatusBadRequest && has("api_agent_task_id"):
		e.kind = ErrInvalidTaskID
	case status == http.StatusBadRequest && has("profile_slug"):
		e.kind = ErrInvalidProfileSlug
	case status == http.StatusBadRequest:
		e.kind = ErrBadRequest
	case status == http.StatusUnauthorized && has("missing"):
		e.kind = ErrMissingAPIKey
	case status == http.StatusUnauthorized:
		e.kind = ErrInvalidAPIKey
	case status == http.StatusForbidden:
		e.kind = ErrExtensionOffline
	case status == http.StatusNotFound && has("admin"):
		e.kind = ErrNoAdmin
	case status == http.StatusNotFound && has("task"):
		e.kind = ErrTaskNotFound
	case status == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	case status >= 500:
		e.kind = ErrServer
	}
	return e
}

// TransportError is a call that got no usable answer from OutX: the
// connection failed, the answer was lost or could not be read.
//
// Ambiguous tells whether the request may have reached OutX. OutX has no
// idempotency key, so when Ambiguous is true a retried send may create a
// second task and a second LinkedIn message.
type TransportError struct {
	Endpoint  string
	Ambiguous bool
	Err       error
}

func (e *TransportError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("outx %s: request may have reached OutX, answer lost: %v", e.Endpoint, e.Err)
	}
	return fmt.Sprintf("outx %s: request not sent: %v", e.Endpoint, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// NoTaskCreated reports whether a failed POST certainly created no OutX task,
// so that sending it again cannot produce a second message. It is true for a
// request that never left this process and for answers that, by HTTP's own
// rules, mean the request was not acted on: 4xx (including 429) and 503.
//
// Any other 5xx is treated as ambiguous: a 500 or a gateway's 502/504 can come
// after OutX stored the task, and a duplicate message to a real person is the
// worst outcome this project can have.
func NoTaskCreated(err error) bool {
	var api *APIError
	if errors.As(err, &api) {
		return (api.StatusCode >= 400 && api.StatusCode < 500) || api.StatusCode == http.StatusServiceUnavailable
	}
	var tr *TransportError
	if errors.As(err, &tr) {
		return !tr.Ambiguous
	}
	return false
}
