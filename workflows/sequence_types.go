package workflows

import (
	"time"

	"github.com/outpacehq/outpace/pacer"
)

// StepType is one kind of step in a campaign's sequence.
type StepType string

const (
	// StepMessage sends the step's template as a LinkedIn message.
	StepMessage StepType = "message"
	// StepConnect sends a connection request, with the step's template as
	// the optional note (at most 300 characters after trimming).
	StepConnect StepType = "connect"
	// StepWait waits Duration, or counts only sending days when
	// SendingDaysOnly is set.
	StepWait StepType = "wait"
	// StepWaitForConnection waits until the recipient has accepted the
	// connection request, checking through OutX every CheckEvery (each check
	// is a paced action), and ends the sequence as not_connected after
	// Timeout.
	StepWaitForConnection StepType = "wait_for_connection"
)

// Step is one step of a campaign's sequence, applied to each recipient in
// order. A step after a message or a connection request runs only if that
// one succeeded.
type Step struct {
	Type StepType `json:"type"`
	// Name labels the step in reports and the UI (default: its type and
	// number, e.g. "3-message").
	Name string `json:"name,omitempty"`
	// Template is a message step's text, or a connect step's note, with
	// {{variable}} placeholders filled from the recipient's columns and
	// {a|b} spintax choices.
	Template string `json:"template,omitempty"`
	// Variants, instead of Template, are versions of a message step's text
	// or a connect step's note (which may be empty: no note), each drawn
	// for a share of the recipients by its weight.
	Variants []Variant `json:"variants,omitempty"`
	// Duration is how long a wait step waits.
	Duration Duration `json:"duration,omitzero"`
	// SendingDaysOnly counts a wait in the campaign's sending days: "3 days"
	// from a Friday evening ends on Wednesday when weekends are off.
	SendingDaysOnly bool `json:"sending_days_only,omitempty"`
	// Timeout ends a wait_for_connection step (default 14 days).
	Timeout Duration `json:"timeout,omitzero"`
	// CheckEvery spaces a wait_for_connection step's checks (default 12h).
	CheckEvery Duration `json:"check_every,omitzero"`
}

// Defaults of wait_for_connection.
const (
	DefaultConnectionTimeout    = 14 * 24 * time.Hour
	DefaultConnectionCheckEvery = 12 * time.Hour
	MinConnectionCheckEvery     = 10 * time.Second
	MaxSteps                    = 20
)

// StepResult is what became of one step for one recipient.
type StepResult struct {
	Step    int       `json:"step"` // 1-based
	Type    StepType  `json:"type"`
	Name    string    `json:"name,omitempty"`
	Outcome Outcome   `json:"outcome"` // delivered (sent, accepted, waited), failed, unknown, invalid, not_connected, stopped
	Reason  string    `json:"reason,omitempty"`
	TaskID  string    `json:"task_id,omitempty"`
	At      time.Time `json:"at"`
}

// StopRecipientRequest stops one person's sequences (UpdateStopRecipient):
// in the campaign named, or in every campaign of the account when Campaign
// is empty. It is the pacer's own stop request.
type StopRecipientRequest = pacer.StopRequest

// Workflow type names of the sequence machinery.
const (
	SequenceWorkflow              = "Sequence"
	SendConnectionRequestWorkflow = "SendConnectionRequest"
	SenderPacerWorkflow           = pacer.WorkflowType
)

// Names of the controls that stop a recipient.
const (
	// UpdateStopRecipient is an update (and a signal) of a Campaign, taking
	// a StopRecipientRequest whose Campaign is ignored: that recipient's
	// sequence in this campaign ends as stopped, now or when reached. Sent
	// to a sender's pacer (pacer.WorkflowID) it stops the recipient
	// in the campaign named, or in every campaign of the account.
	UpdateStopRecipient = pacer.StopRecipient
	// SignalStopSequence ends one recipient's Sequence run at once (the
	// campaign and the starter send it; a StopRecipientRequest).
	SignalStopSequence = "stop"
	// SignalSequenceEvent is sent by a Sequence to its campaign (a
	// SequenceEvent).
	SignalSequenceEvent = "sequence-event"
	// QuerySequence returns a SequenceProgress.
	QuerySequence = "sequence"
)

// Memo key of a Sequence run: its steps' results so far ([]StepResult),
// besides MemoOutcome, MemoReason, MemoLine and MemoRecipientURN.
const MemoSteps = "steps"

// Memo keys of a campaign's variants: a message's or a step's variant
// (MemoVariant, a string, on its SendMessage or SendConnectionRequest
// run), and a Sequence's, one per step ("" for a step without variants),
// set by the campaign when it starts the run, where its report reads them.
const (
	MemoVariant  = "variant"
	MemoVariants = "variants"
)

// All lists every workflow a worker hosts, each registered under its
// function's name (SendMessage, Campaign, Sequence, SendConnectionRequest,
// SenderPacer).
func All() []any {
	return []any{SendMessage, Campaign, Sequence, SendConnectionRequest, SenderPacer}
}
