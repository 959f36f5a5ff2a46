package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// TestCampaignInputValidate: every rule of a campaign's input names its
// field, so a campaign started by any client is refused before it sends.
func TestCampaignInputValidate(t *testing.T) {
	one := []recipients.Recipient{{RecipientURN: "urn:li:person:A1"}}
	neg := workflows.Duration(-time.Second)
	small, big := workflows.Duration(time.Minute), workflows.Duration(2*time.Minute)
	long := workflows.Duration(5 * time.Minute) // above the default maximum gap
	many := make([]recipients.Recipient, workflows.MaxInlineRecipient+1)
	ab := []workflows.Variant{{Name: "A", Text: "{Hi|Hey} {{name}}", Weight: 2}, {Name: "B", Text: "Hello {{name}}"}}
	for name, tc := range map[string]struct {
		in   workflows.CampaignInput
		want string // "" for a valid input
	}{
		"valid inline":          {workflows.CampaignInput{Template: "Hi", Recipients: one}, ""},
		"valid file":            {workflows.CampaignInput{Template: "Hi", RecipientsFile: &activities.RecipientsFile{Path: "/data/r.csv"}}, ""},
		"no template":           {workflows.CampaignInput{Recipients: one}, "template"},
		"broken template":       {workflows.CampaignInput{Template: "Hi {{name", Recipients: one}, "template"},
		"no recipients":         {workflows.CampaignInput{Template: "Hi"}, "recipients: give recipients or recipients_file"},
		"both sources":          {workflows.CampaignInput{Template: "Hi", Recipients: one, RecipientsFile: &activities.RecipientsFile{Path: "/r.csv"}}, "not both"},
		"too many inline":       {workflows.CampaignInput{Template: "Hi", Recipients: many}, "at most 1000 inline"},
		"relative file":         {workflows.CampaignInput{Template: "Hi", RecipientsFile: &activities.RecipientsFile{Path: "r.csv"}}, "recipients_file.path"},
		"bad time zone":         {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{TimeZone: "Moon/Base"}}, "window.time_zone"},
		"bad days":              {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{Days: "someday"}}, "window.days"},
		"bad hours":             {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{Hours: "18:00-09:00"}}, "window.hours"},
		"negative gap":          {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &neg}}, "pacing.min_gap"},
		"max below min":         {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &big, MaxGap: &small}}, "pacing.max_gap"},
		"min alone above max":   {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &long}}, ""},
		"negative cap":          {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{DailyCap: num(-1)}}, "pacing.daily_cap"},
		"page too big":          {workflows.CampaignInput{Template: "Hi", Recipients: one, PageSize: 5000}, "page_size"},
		"tiny history limit":    {workflows.CampaignInput{Template: "Hi", Recipients: one, MaxRunEvents: 10}, "max_run_events"},
		"negative deadline":     {workflows.CampaignInput{Template: "Hi", Recipients: one, SendDeadline: neg}, "send_deadline"},
		"spintax":               {workflows.CampaignInput{Template: "{Hi|Hello} {{name}}", Recipients: one}, ""},
		"unbalanced spintax":    {workflows.CampaignInput{Template: "Hi\n{there|you", Recipients: one}, `template: line 2, column 1: unclosed "{"`},
		"empty alternative":     {workflows.CampaignInput{Template: "{Hi||Hey}", Recipients: one}, "template: line 1, column 5: alternative 2 of the choice opened at line 1, column 1 is empty"},
		"variants":              {workflows.CampaignInput{Variants: ab, Recipients: one}, ""},
		"variants and template": {workflows.CampaignInput{Template: "Hi", Variants: ab, Recipients: one}, "variants: give template (one text) or variants, not both"},
		"one variant":           {workflows.CampaignInput{Variants: ab[:1], Recipients: one}, "variants: give two or more"},
		"a variant's spintax":   {workflows.CampaignInput{Variants: []workflows.Variant{ab[0], {Name: "B", Text: "}"}}, Recipients: one}, `variants[1].text: line 1, column 1: "}" closes no choice`},
		"variants beside steps": {workflows.CampaignInput{Variants: ab, Steps: []workflows.Step{{Type: workflows.StepMessage, Template: "Hi"}}, Recipients: one},
			"variants: a sequence's variants are given in its message and connect steps"},
		"step variants": {workflows.CampaignInput{Steps: []workflows.Step{{Type: workflows.StepConnect, Variants: []workflows.Variant{{Name: "note", Text: "Hi"}, {Name: "none"}}}, {Type: workflows.StepMessage, Variants: ab}}, Recipients: one}, ""},
		"variants on a wait": {workflows.CampaignInput{Steps: []workflows.Step{{Type: workflows.StepMessage, Template: "Hi"}, {Type: workflows.StepWait, Duration: workflows.Duration(time.Hour), Variants: ab}}, Recipients: one},
			"steps[1].variants: only message and connect steps have variants"},
		"a note variant too long before its variables": {workflows.CampaignInput{Steps: []workflows.Step{{Type: workflows.StepConnect, Variants: []workflows.Variant{{Name: "long", Text: "{a|" + strings.Repeat("x", 301) + "} {{name}}"}, {Name: "none"}}}}, Recipients: one},
			"steps[0].variants: the note's own text is 301 characters long after trimming with every choice and variant at its longest, before any variable is filled in; the limit is 300"},
		"a note too long at its longest choice": {workflows.CampaignInput{Steps: []workflows.Step{{Type: workflows.StepConnect, Template: "{a|" + strings.Repeat("x", 301) + "}"}}, Recipients: one},
			"steps[0].template: the note's own text is 301 characters long after trimming with every choice and variant at its longest"},
		"a step's spintax error": {workflows.CampaignInput{Steps: []workflows.Step{{Type: workflows.StepMessage, Template: "Hi {a|b"}}, Recipients: one},
			`steps[0].template: line 1, column 4: unclosed "{"`},
	} {
		err := tc.in.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one naming %q", name, err, tc.want)
		}
	}
}
