package campaignfile

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong in a campaign file: where it is (Line, 1-based;
// 0 when no line can be named), which field (a path such as
// steps[2].message.text, with 0-based indexes, in the file's own keys), and
// the rule it breaks.
type Problem struct {
	Line  int
	Field string
	Rule  string
}

// Errors is every problem of a campaign file, in the order of the file, so
// that the author fixes them in one pass rather than one per run.
type Errors struct {
	File     string // the file's name as given to Load or Parse
	Problems []Problem
}

// Error prints one problem per line, as compilers do:
// "campaign.yaml:12: steps[2].message: must not be empty".
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.format(p)
	}
	return strings.Join(lines, "\n")
}

func (e *Errors) format(p Problem) string {
	where := e.File
	if p.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, p.Line)
	}
	if p.Field == "" {
		return where + ": " + p.Rule
	}
	return where + ": " + p.Field + ": " + p.Rule
}
