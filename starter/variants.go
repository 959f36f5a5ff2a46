package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// Variants (A/B tests), spintax and scheduled starts, as the starter shows
// and reads them.

// hasDraws says whether any text of the campaign draws something per
// recipient (a variant, a spintax choice), which depends on the campaign id.
func hasDraws(in workflows.CampaignInput) bool {
	t, err := parseTexts(in)
	return err == nil && t.Draws()
}

// parseTexts parses what the campaign renders per recipient, as the
// worker will.
func parseTexts(in workflows.CampaignInput) (*recipients.Template, error) {
	var parts []recipients.Part
	if len(in.Steps) > 0 {
		parts = workflows.StepParts(in.Steps)
	}
	return recipients.ParseTexts(in.Template, in.Variants, parts)
}

// variantsOutline names variants with their shares: "warm 2/3, short 1/3".
func variantsOutline(vs []workflows.Variant) string {
	total := 0
	for _, v := range vs {
		total += max(v.Weight, 1)
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s %d/%d", v.Name, max(v.Weight, 1), total)
	}
	return strings.Join(parts, ", ")
}

// atLayouts are the forms --at takes without an offset, read in the
// campaign's time zone.
var atLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// parseAt reads --at: a time with an offset (RFC 3339), or a local time in
// the campaign's time zone (tz, default UTC). "" is no schedule (zero).
func parseAt(at, tz string, now time.Time) (time.Time, error) {
	if at == "" {
		return time.Time{}, nil
	}
	tz = cmp.Or(tz, workflows.DefaultTimeZone)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.Time{}, usagef("--at: the time zone %q: %v", tz, err)
	}
	t, err := time.Parse(time.RFC3339, at)
	for _, layout := range atLayouts {
		if err == nil {
			break
		}
		t, err = time.ParseInLocation(layout, strings.TrimSpace(at), loc)
	}
	if err != nil {
		return time.Time{}, usagef("--at %q: want a time such as 2026-12-08T09:00 (in the campaign's time zone, %s) or 2026-12-08T09:00+01:00", at, tz)
	}
	if !t.After(now) {
		return time.Time{}, usagef("--at %s: is in the past (it is now %s); give a time to come, or leave --at out to start now", atText(t, tz), atText(now, tz))
	}
	return t, nil
}

// atText shows a time in the campaign's time zone.
func atText(t time.Time, tz string) string {
	loc, err := time.LoadLocation(cmp.Or(tz, workflows.DefaultTimeZone))
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// variantLine describes one variant's counts in one line: "step 1 (connect)
// short (weight 2): recipients 120  sent 118  delivered 118  accepted 40 of
// 118 (33.9%)  reached step 3: 40, step 5: 12".
func variantLine(v workflows.VariantCounts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d (%s) %s (weight %d): recipients %d  sent %d  delivered %d", v.Step, v.Type, v.Variant, max(v.Weight, 1), v.Recipients, v.Sent, v.Delivered)
	if v.Type == workflows.StepConnect {
		fmt.Fprintf(&b, "  accepted %d of %d (%s)", v.Accepted, v.Delivered, percent(v.Accepted, v.Delivered))
	}
	if len(v.Reached) > 0 {
		parts := make([]string, len(v.Reached))
		for i, r := range v.Reached {
			parts[i] = fmt.Sprintf("step %d: %d", r.Step, r.Recipients)
		}
		b.WriteString("  reached " + strings.Join(parts, ", "))
	}
	return b.String()
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// printVariants prints a line per variant, each starting with prefix.
func printVariants(w io.Writer, prefix string, vs []workflows.VariantCounts) {
	for _, v := range vs {
		fmt.Fprintf(w, "%s%s\n", prefix, variantLine(v))
	}
}

// variantTally counts a campaign's variants from its report's rows: what
// visibility says each recipient's runs did.
type variantTally struct {
	list []*workflows.VariantCounts
}

// seed lists the campaign's own variants first, in its order, with their
// weights (from its progress), so that one nobody drew is listed too.
func (t *variantTally) seed(vs []workflows.VariantCounts) {
	for _, v := range vs {
		t.get(v.Step, v.Type, v.Variant).Weight = v.Weight
	}
}

func (t *variantTally) get(step int, typ workflows.StepType, name string) *workflows.VariantCounts {
	for _, v := range t.list {
		if v.Step == step && v.Variant == name {
			if v.Type == "" {
				v.Type = typ
			}
			return v
		}
	}
	v := &workflows.VariantCounts{Step: step, Type: typ, Variant: name, Weight: 1}
	t.list = append(t.list, v)
	return v
}

// sentResult says whether a step's run made its OutX task, or may have.
func sentResult(taskID string, o workflows.Outcome) bool {
	return taskID != "" || o == workflows.Delivered || o == workflows.Unknown
}

// add counts one row: a message's variant, or each step's of a sequence.
func (t *variantTally) add(row reportRow) {
	if row.Variant != "" {
		v := t.get(1, workflows.StepMessage, row.Variant)
		v.Recipients++
		o := workflows.Outcome(row.Outcome)
		if sentResult(row.TaskID, o) {
			v.Sent++
		}
		if o == workflows.Delivered {
			v.Delivered++
		}
	}
	for i, name := range row.Variants {
		if name == "" {
			continue
		}
		step := i + 1
		var typ workflows.StepType
		results := map[int]workflows.StepResult{}
		for _, r := range row.Steps {
			results[r.Step] = r
		}
		if r, ok := results[step]; ok {
			typ = r.Type
		}
		v := t.get(step, typ, name)
		v.Recipients++
		r, ok := results[step]
		if !ok {
			continue
		}
		if sentResult(r.TaskID, r.Outcome) {
			v.Sent++
		}
		if r.Outcome == workflows.Delivered {
			v.Delivered++
		}
		waiting := r.Type == workflows.StepConnect
		for _, later := range row.Steps {
			switch {
			case later.Step <= step:
			case later.Type == workflows.StepWaitForConnection && waiting:
				// The wait for this request's acceptance.
				waiting = false
				if later.Outcome == workflows.Connected {
					v.Accepted++
				}
			case later.Type == workflows.StepMessage || later.Type == workflows.StepConnect:
				waiting = waiting && later.Type != workflows.StepConnect
				reach(v, later.Step)
			}
		}
	}
}

func reach(v *workflows.VariantCounts, step int) {
	i := slices.IndexFunc(v.Reached, func(r workflows.StepReach) bool { return r.Step == step })
	if i < 0 {
		v.Reached = append(v.Reached, workflows.StepReach{Step: step})
		i = len(v.Reached) - 1
	}
	v.Reached[i].Recipients++
}

// counts are the tally's variants, in order.
func (t *variantTally) counts() []workflows.VariantCounts {
	out := make([]workflows.VariantCounts, len(t.list))
	for i, v := range t.list {
		out[i] = *v
		slices.SortFunc(out[i].Reached, func(a, b workflows.StepReach) int { return a.Step - b.Step })
	}
	return out
}

// variantHeader is report --by-variant's CSV header.
var variantHeader = []string{"step", "type", "variant", "weight", "recipients", "sent", "delivered", "accepted", "acceptance", "reached"}

// variantRecord is one variant as a --by-variant CSV record; reached is
// "3:40 5:12" (step: recipients).
func variantRecord(v workflows.VariantCounts) []string {
	accepted, acceptance := "", ""
	if v.Type == workflows.StepConnect {
		accepted, acceptance = fmt.Sprint(v.Accepted), percent(v.Accepted, v.Delivered)
	}
	var reached []string
	for _, r := range v.Reached {
		reached = append(reached, fmt.Sprintf("%d:%d", r.Step, r.Recipients))
	}
	return []string{fmt.Sprint(v.Step), string(v.Type), v.Variant, fmt.Sprint(max(v.Weight, 1)), fmt.Sprint(v.Recipients),
		fmt.Sprint(v.Sent), fmt.Sprint(v.Delivered), accepted, acceptance, strings.Join(reached, " ")}
}

// stepVariants shows a sequence's variants, "1:short 3:thanks".
func stepVariants(vs []string) string {
	var parts []string
	for i, v := range vs {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%d:%s", i+1, v))
		}
	}
	return strings.Join(parts, " ")
}
