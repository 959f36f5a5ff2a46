package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/outpacehq/outpace/workflows"
)

// Exit statuses, documented in --help and README.md. Commands return an
// error; exitStatus, the one place that turns errors into exit statuses,
// reads them from its type: a *usageError is 2, an *outcomeError 3 or 4,
// any other error 1.
const (
	exitOK      = 0 // done; with --wait, the message was delivered
	exitError   = 1 // outpace or Temporal could not do what was asked
	exitUsage   = 2 // bad flags or bad input: nothing was sent
	exitFailed  = 3 // with --wait: the message was not delivered
	exitUnknown = 4 // with --wait: the message may or may not have been delivered
)

// usageError is bad flags or bad input: nothing was sent (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// outcomeError is a message that ended without being delivered, which
// send --wait has printed with its result: exit 3 when it was not
// delivered, 4 when that is unknown, 2 when it was invalid (nothing sent).
type outcomeError struct{ outcome workflows.Outcome }

func (e *outcomeError) Error() string { return "the message ended " + string(e.outcome) }

// outcomeErr is nil for a delivered message, else its *outcomeError.
func outcomeErr(o workflows.Outcome) error {
	if o == workflows.Delivered {
		return nil
	}
	return &outcomeError{outcome: o}
}

// shownError is an error the command has already shown, on standard
// output or error (a list of problems, a campaign's final status): only its
// exit status is left to give.
type shownError struct{ err error }

func (e *shownError) Error() string { return e.err.Error() }
func (e *shownError) Unwrap() error { return e.err }

func shown(err error) error { return &shownError{err: err} }

// exitCode is the exit status err calls for.
func exitCode(err error) int {
	var usage *usageError
	var outcome *outcomeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &outcome):
		switch outcome.outcome {
		case workflows.Invalid:
			return exitUsage
		case workflows.Unknown:
			return exitUnknown
		}
		return exitFailed
	}
	return exitError
}

// exitStatus tells the user of err, unless the command has, and returns
// the exit status it calls for.
func exitStatus(stderr io.Writer, err error) int {
	var done *shownError
	var outcome *outcomeError
	if err != nil && !errors.As(err, &done) && !errors.As(err, &outcome) {
		fmt.Fprintf(stderr, "starter: %v\n", err)
	}
	return exitCode(err)
}
