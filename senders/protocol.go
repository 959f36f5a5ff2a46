// Package senders describes the LinkedIn accounts outpace sends from: the
// worker's configuration of each named OutX account (its API key, its
// limits), and the names by which workflows reach the account's pacer.
//
// A workflow names a sender, never its key: the key stays in the worker's
// configuration, and activities look the client up by name.
package senders

import "regexp"

// Default is the sender used when a workflow names none: the account whose
// key is in OUTX_API_KEY (or --outx-api-key-file).
const Default = "default"

// PacerWorkflow is the workflow type of an account's pacer, which every
// LinkedIn action of that account waits for (workflows.SenderPacer).
const PacerWorkflow = "SenderPacer"

// PacerWorkflowID is the workflow id of the named sender's pacer on a task
// queue: one per account of the workers serving that queue (whose
// configuration defines the account), shared by every campaign and single
// send that uses it, e.g. "pacer/outpace/default".
func PacerWorkflowID(taskQueue, sender string) string { return "pacer/" + taskQueue + "/" + Or(sender) }

// Or returns sender, or Default when it is empty.
func Or(sender string) string {
	if sender == "" {
		return Default
	}
	return sender
}

// Names of the pacer's signals, update and query.
const (
	// SignalAcquire asks for a slot (a workflows.SlotRequest). Sent with
	// signal-with-start, so the first request starts the pacer.
	SignalAcquire = "acquire"
	// SignalRelease ends a granted slot (a workflows.SlotRelease).
	SignalRelease = "release"
	// SignalGranted is what the pacer sends back to the requesting workflow
	// (a workflows.SlotGrant).
	SignalGranted = "slot-granted"
	// StopRecipient is both a signal and an update: no further action is
	// taken for that person by the campaign named, or by any campaign of
	// the account (a workflows.StopRecipientRequest).
	StopRecipient = "stop-recipient"
	// QueryPacer returns a workflows.PacerStatus.
	QueryPacer = "pacer"
)

// Action is a kind of LinkedIn action; each has its own caps.
type Action string

const (
	ActionMessage Action = "message"
	ActionConnect Action = "connect"
	// ActionLookup: profile look-ups and connection checks (reads).
	ActionLookup Action = "lookup"
)

// Actions lists every action type, in a fixed order.
var Actions = []Action{ActionMessage, ActionConnect, ActionLookup}

// namePattern is what a sender's name may be: it names the pacer's
// workflow id and appears in flags and files.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can name a sender.
func ValidName(name string) bool { return namePattern.MatchString(name) }
