package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
)

// maxConnectionChecks bounds a wait_for_connection step's checks (its
// timeout over its check interval), which bounds the run's history.
const maxConnectionChecks = 500

// validateSteps checks a campaign's sequence as a whole. Every problem names
// the step's field path (steps[i].field, 0-based) and the rule.
func validateSteps(steps []Step) []error {
	var errs []error
	bad := func(i int, field, format string, args ...any) {
		path := fmt.Sprintf("steps[%d]", i)
		if field != "" {
			path += "." + field
		}
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if len(steps) > MaxSteps {
		errs = append(errs, fmt.Errorf("steps: at most %d steps (there are %d)", MaxSteps, len(steps)))
	}
	actions, connects := 0, 0
	for i, st := range steps {
		switch st.Type {
		case StepMessage:
			actions++ // its text is checked by ParseParts, below
		case StepConnect:
			actions++
			connects++
			// The note's fixed text alone must fit, with every choice and
			// variant at its longest: otherwise every recipient would be
			// invalid.
			if n := recipients.LongestFixedText(recipients.PartNote, st.Template, st.Variants); n > outx.MaxNoteLength {
				field, longest := "template", ""
				if st.Variants != nil {
					field = "variants"
				}
				if st.Variants != nil || strings.ContainsAny(st.Template, "{|") {
					longest = " with every choice and variant at its longest"
				}
				bad(i, field, "the note's own text is %d characters long after trimming%s, before any variable is filled in; the limit is %d", n, longest, outx.MaxNoteLength)
			}
		case StepWait:
			if st.Duration <= 0 {
				bad(i, "duration", "a wait step needs a positive duration, e.g. 3d or 72h")
			} else if time.Duration(st.Duration) > 365*24*time.Hour {
				bad(i, "duration", "at most 365 days")
			}
		case StepWaitForConnection:
			if connects == 0 {
				bad(i, "type", "wait_for_connection must come after a connect step")
			}
			if st.Timeout < 0 || time.Duration(st.Timeout) > 90*24*time.Hour {
				bad(i, "timeout", "must be between 1s and 90 days (default 14 days)")
			}
			every := st.CheckEvery.Or(DefaultConnectionCheckEvery)
			if st.CheckEvery < 0 || every < MinConnectionCheckEvery {
				bad(i, "check_every", "must be at least %s: each check is a LinkedIn action", MinConnectionCheckEvery)
			} else if n := st.Timeout.Or(DefaultConnectionTimeout) / every; n > maxConnectionChecks {
				bad(i, "check_every", "%s checks %d times within the timeout; at most %d: check less often", every, n, maxConnectionChecks)
			}
		case "":
			bad(i, "type", "is required: one of message, connect, wait, wait_for_connection")
		default:
			bad(i, "type", "%q is not a step type: one of message, connect, wait, wait_for_connection", st.Type)
		}
		if st.Type != StepMessage && st.Type != StepConnect && st.Template != "" {
			bad(i, "template", "only message and connect steps have a text")
		}
		if st.Type != StepMessage && st.Type != StepConnect && st.Variants != nil {
			bad(i, "variants", "only message and connect steps have variants")
		}
		if st.Type != StepWait && (st.Duration != 0 || st.SendingDaysOnly) {
			bad(i, "duration", "only wait steps have a duration")
		}
		if st.Type != StepWaitForConnection && (st.Timeout != 0 || st.CheckEvery != 0) {
			bad(i, "timeout", "only wait_for_connection steps have a timeout and check_every")
		}
		if len(st.Name) > 100 {
			bad(i, "name", "at most 100 characters")
		}
	}
	if len(steps) > 0 && actions == 0 {
		errs = append(errs, errors.New("steps: at least one message or connect step is required"))
	}
	if _, err := recipients.ParseParts(StepParts(steps)); err != nil && len(steps) <= MaxSteps {
		errs = append(errs, err) // it names steps[i].template
	}
	return errs
}

func checkSender(name string) error {
	if name != "" && !senders.ValidName(name) {
		return fmt.Errorf("sender: %q is not a sender name: lower-case letters, digits, '-' and '_', at most 63", name)
	}
	return nil
}
