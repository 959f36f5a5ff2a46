package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/activities"
)

// Outcome is what became of one recipient, one step, or one OutX action.
type Outcome string

// Final outcomes of a message, a connection request, or a recipient.
const (
	// Delivered: OutX reported the action performed (for a sequence: every
	// step succeeded).
	Delivered Outcome = "delivered"
	// Failed: certainly not sent (OutX's task failed, or OutX refused the
	// request); the reason says why.
	Failed Outcome = "failed"
	// Unknown: a task may exist but its result is not known (the answer to
	// the send was lost, or no final status came before the deadline). It
	// is never resent automatically: an operator decides.
	Unknown Outcome = "unknown"
	// Invalid: the input breaks a rule; nothing was sent.
	Invalid Outcome = "invalid"
	// Skipped: the campaign did not act for this recipient because it
	// already did (or is doing) it: listed twice, or handled by an earlier
	// run of the same campaign; or because another campaign contacted
	// them within the contact policy (the reason names that campaign).
	Skipped Outcome = "skipped"
	// Excluded: the recipient is on the do-not-contact list; nothing was
	// sent (the reason says why they were listed).
	Excluded Outcome = "excluded"
	// NotConnected: the recipient did not accept the connection request
	// within the wait_for_connection step's timeout.
	NotConnected Outcome = "not_connected"
	// Stopped: the user (or their CRM) stopped this recipient, e.g. because
	// they replied; nothing further is sent to them.
	Stopped Outcome = "stopped"
)

// Outcomes of a sequence's steps besides the ones above.
const (
	// Done: a wait step waited its time.
	Done Outcome = "done"
	// Connected: the recipient accepted the connection request.
	Connected Outcome = "connected"
)

// succeeded says whether a step's outcome lets the sequence go on.
func (o Outcome) succeeded() bool { return o == Delivered || o == Done || o == Connected }

// Error types of the failures of task workflows, by what they carry: a
// SendMessage's is "Message<Outcome>" (MessageFailed), a
// SendConnectionRequest's "Connection<Outcome>", a Sequence's
// "Sequence<Outcome>".
const (
	messageErrors    = "Message"
	connectionErrors = "Connection"
	sequenceErrors   = "Sequence"
)

// ErrorType is the ApplicationError type of a message run that was not
// delivered, e.g. "MessageFailed".
func (o Outcome) ErrorType() string { return o.errorType(messageErrors) }

func (o Outcome) errorType(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for word := range strings.SplitSeq(string(o), "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

// ResultFromError extracts the result carried by a failed SendMessage or
// SendConnectionRequest run (or child run). ok is false when err is not
// such a failure.
func ResultFromError(err error) (res SendMessageResult, ok bool) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && (strings.HasPrefix(app.Type(), messageErrors) || strings.HasPrefix(app.Type(), connectionErrors)) && app.HasDetails() {
		if app.Details(&res) == nil && res.Outcome != "" {
			return res, true
		}
	}
	return SendMessageResult{}, false
}

// SequenceResultFromError extracts the result carried by a failed Sequence
// run (one that did not reach its person).
func SequenceResultFromError(err error) (res SequenceResult, ok bool) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && strings.HasPrefix(app.Type(), sequenceErrors) && app.HasDetails() {
		if app.Details(&res) == nil && res.Outcome != "" {
			return res, true
		}
	}
	return SequenceResult{}, false
}

// NoTask says whether the run certainly made no OutX task: it ended
// failed, invalid, stopped, excluded or skipped without a task id. Only such a run may be
// followed by another attempt for the same person: one that made a task
// (delivered, or failed by OutX) or may have (unknown) never is.
func (r SendMessageResult) NoTask() bool {
	switch r.Outcome {
	case Failed, Invalid, Stopped, Excluded, Skipped:
		return r.TaskID == ""
	}
	return false
}

// noTaskCreated decides, for every workflow, whether an activity's failure
// certainly created no OutX task: OutX refused the request (400, 401, 403,
// 404 no admin, 429, refused connections and 5xx before any byte), the
// worker has no such sender, or the contacts store refused the action or
// could not be asked (the check comes before the request). A timeout, a crash, an ambiguous answer or a
// failure after the task was created may have created one. It mirrors
// outx.NoTaskCreated for the activities' error types.
func noTaskCreated(err error) bool {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return false
	}
	switch app.Type() {
	case activities.ErrInvalidInput, activities.ErrUnauthorized, activities.ErrNoAdmin,
		activities.ErrExtensionOffline, activities.ErrRateLimited, activities.ErrNotSent,
		activities.ErrUnknownSender,
		activities.ErrExcluded, activities.ErrContactedElsewhere, activities.ErrContactsUnavailable:
		return true
	}
	return false
}

// errorType is an activity failure's ApplicationError type, or "".
func errorType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return ""
}

// problemsOf lists a validation's errors (errors.Join), each naming the
// field and the rule; nil when there are none.
func problemsOf(err error) []string {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
