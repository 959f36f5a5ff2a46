package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/outpacehq/outpace/campaignfile"
	"github.com/outpacehq/outpace/workflows"
)

// stepsOutline describes a sequence in one line for the memo, the start's
// output and the UI: "connect → wait for connection (14d) → message →
// wait 3 sending days → message".
func stepsOutline(steps []workflows.Step) string {
	words := make([]string, len(steps))
	for i, st := range steps {
		words[i] = stepWords(st)
	}
	return strings.Join(words, " → ")
}

// stepWords names one step with what sets it apart.
func stepWords(st workflows.Step) string {
	name := ""
	if st.Name != "" {
		name = " “" + st.Name + "”"
	}
	switch st.Type {
	case workflows.StepWaitForConnection:
		return fmt.Sprintf("wait for connection%s (%s)", name, campaignfile.FormatDuration(st.Timeout.Or(workflows.DefaultConnectionTimeout)))
	case workflows.StepWait:
		d := time.Duration(st.Duration)
		switch {
		case st.SendingDaysOnly && d == 24*time.Hour:
			return "wait 1 sending day" + name
		case st.SendingDaysOnly && d%(24*time.Hour) == 0:
			return fmt.Sprintf("wait %d sending days%s", d/(24*time.Hour), name)
		case st.SendingDaysOnly:
			return fmt.Sprintf("wait %s of sending days%s", campaignfile.FormatDuration(d), name)
		}
		return "wait " + campaignfile.FormatDuration(d) + name
	case workflows.StepConnect:
		if st.Template == "" && st.Variants == nil {
			return "connect (no note)" + name
		}
	}
	if st.Variants != nil {
		return string(st.Type) + name + " (variants " + variantsOutline(st.Variants) + ")"
	}
	return string(st.Type) + name
}

// printStepTexts shows a recipient's sequence with every step's rendered
// text, and the variant drawn for a step with variants, indented under the
// recipient's line.
func printStepTexts(w io.Writer, steps []workflows.Step, texts, variants []string) {
	for i, st := range steps {
		text := ""
		if i < len(texts) {
			text = texts[i]
		}
		words := stepWords(st)
		if i < len(variants) && variants[i] != "" {
			words = fmt.Sprintf("%s%s, variant %s", st.Type, map[bool]string{true: " “" + st.Name + "”", false: ""}[st.Name != ""], variants[i])
		}
		fmt.Fprintf(w, "    %d. %s", i+1, words)
		if text == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, ":\n       %s\n", strings.ReplaceAll(text, "\n", "\n       "))
	}
}
