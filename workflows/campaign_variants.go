package workflows

import "github.com/outpacehq/outpace/recipients"

// A campaign counts, for each variant of each step's text, what became of
// the recipients drawn it: a one-message campaign as each message ends
// (message), a sequence campaign from its sequences' StepEnded events, so
// that `campaign status` shows an A/B test as it goes. The counts are
// carried through continue-as-new in CampaignState.Variants, one entry per
// variant and step: at most MaxSteps × recipients.MaxVariants.

// maxVariantCounts bounds CampaignState.Variants.
const maxVariantCounts = MaxSteps * recipients.MaxVariants

// initialVariants lists every variant of the campaign's texts, in the
// order of its steps and variants, at zero, so that status shows a
// variant nobody drew yet too.
func initialVariants(in CampaignInput) []VariantCounts {
	var out []VariantCounts
	for _, v := range in.Variants {
		out = append(out, VariantCounts{Step: 1, Type: StepMessage, Variant: v.Name, Weight: max(v.Weight, 1)})
	}
	for i, st := range in.Steps {
		for _, v := range st.Variants {
			out = append(out, VariantCounts{Step: i + 1, Type: st.Type, Variant: v.Name, Weight: max(v.Weight, 1)})
		}
	}
	if len(out) > maxVariantCounts {
		out = out[:maxVariantCounts]
	}
	return out
}

// variant finds the counts of a step's variant; nil for a step without
// variants ("") or past the bound.
func (c *campaign) variant(step int, name string) *VariantCounts {
	if name == "" {
		return nil
	}
	for i := range c.st.Variants {
		if v := &c.st.Variants[i]; v.Step == step && v.Variant == name {
			return v
		}
	}
	if len(c.st.Variants) >= maxVariantCounts {
		return nil
	}
	typ := StepMessage
	if step >= 1 && step <= len(c.in.Steps) {
		typ = c.in.Steps[step-1].Type
	}
	c.st.Variants = append(c.st.Variants, VariantCounts{Step: step, Type: typ, Variant: name, Weight: 1})
	return &c.st.Variants[len(c.st.Variants)-1]
}

// variantsStarted counts a recipient started with these variants, one
// per step ("" for a step without variants).
func (c *campaign) variantsStarted(variants []string) {
	for i, name := range variants {
		if v := c.variant(i+1, name); v != nil {
			v.Recipients++
		}
	}
}

// messageEnded counts a one-message campaign's message by its variant.
func (c *campaign) messageEnded(variant string, res SendMessageResult) {
	if v := c.variant(1, variant); v != nil {
		if res.TaskID != "" || res.Outcome == Delivered || res.Outcome == Unknown {
			v.Sent++
		}
		if res.Outcome == Delivered {
			v.Delivered++
		}
	}
}

// stepEnded counts what a sequence's step did for the variants drawn for
// its recipient: the step's own variant sent and delivered, the earlier
// steps' variants reaching it, and a connection request's variant
// accepted when the wait for the connection ends connected.
func (c *campaign) stepEnded(e StepEnded) {
	name := func(step int) string {
		if step >= 1 && step <= len(e.Variants) {
			return e.Variants[step-1]
		}
		return ""
	}
	switch e.Type {
	case StepMessage, StepConnect:
		if v := c.variant(e.Step, name(e.Step)); v != nil {
			if e.Sent {
				v.Sent++
			}
			if e.Outcome == Delivered {
				v.Delivered++
			}
		}
		for s := 1; s < e.Step; s++ {
			if v := c.variant(s, name(s)); v != nil {
				v.reach(e.Step)
			}
		}
	case StepWaitForConnection:
		if e.Outcome != Connected {
			return
		}
		// The connection request it waits for: the nearest connect step
		// before it.
		for s := min(e.Step-1, len(c.in.Steps)); s >= 1; s-- {
			if c.in.Steps[s-1].Type == StepConnect {
				if v := c.variant(s, name(s)); v != nil {
					v.Accepted++
				}
				return
			}
		}
	}
}

// reach counts one more recipient reaching step.
func (v *VariantCounts) reach(step int) {
	for i := range v.Reached {
		if v.Reached[i].Step == step {
			v.Reached[i].Recipients++
			return
		}
	}
	v.Reached = append(v.Reached, StepReach{Step: step, Recipients: 1})
}
