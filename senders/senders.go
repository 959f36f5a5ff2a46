// Package senders describes the LinkedIn accounts outpace sends from: the
// worker's configuration of each named OutX account (its API key, its
// limits). The account's pacer, which every action of the account waits
// for, has its contract in package pacer.
//
// A workflow names a sender, never its key: the key stays in the worker's
// configuration, and activities look the client up by name.
package senders

import (
	"regexp"

	"github.com/outpacehq/outpace/pacer"
)

// Default is the sender used when a workflow names none: the account whose
// key is in OUTX_API_KEY (or --outx-api-key-file).
const Default = pacer.DefaultSender

// Or returns sender, or Default when it is empty.
func Or(sender string) string { return pacer.Or(sender) }

// namePattern is what a sender's name may be: it names the pacer's
// workflow id and appears in flags and files.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can name a sender.
func ValidName(name string) bool { return namePattern.MatchString(name) }
