package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/workflows"
)

// TestExitStatus: one place turns a command's error into its exit status
// and, unless the command has shown it, a line on standard error.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, exitOK, ""},
		{errors.New("campaign x: not found"), exitError, "starter: campaign x: not found\n"},
		{fmt.Errorf("starting: %w", errors.New("boom")), exitError, "starter: starting: boom\n"},
		{usagef("--id: is required"), exitUsage, "starter: --id: is required\n"},
		{fmt.Errorf("wrapped: %w", usagef("bad")), exitUsage, "starter: wrapped: bad\n"},
		{shown(usagef("3 of 5 recipients are invalid")), exitUsage, ""},
		{shown(errors.New("campaign already running")), exitError, ""},
		{outcomeErr(workflows.Failed), exitFailed, ""},
		{outcomeErr(workflows.Stopped), exitFailed, ""},
		{outcomeErr(workflows.Unknown), exitUnknown, ""},
		{outcomeErr(workflows.Invalid), exitUsage, ""},
		{outcomeErr(workflows.Delivered), exitOK, ""},
	} {
		var stderr strings.Builder
		if code := exitStatus(&stderr, c.err); code != c.code || stderr.String() != c.stderr {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.err, code, stderr.String(), c.code, c.stderr)
		}
	}
}
