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
	for name, tc := range map[string]struct {
		in   workflows.CampaignInput
		want string // "" for a valid input
	}{
		"valid inline":        {workflows.CampaignInput{Template: "Hi", Recipients: one}, ""},
		"valid file":          {workflows.CampaignInput{Template: "Hi", RecipientsFile: &activities.RecipientsFile{Path: "/data/r.csv"}}, ""},
		"no template":         {workflows.CampaignInput{Recipients: one}, "template"},
		"broken template":     {workflows.CampaignInput{Template: "Hi {{name", Recipients: one}, "template"},
		"no recipients":       {workflows.CampaignInput{Template: "Hi"}, "recipients: give recipients or recipients_file"},
		"both sources":        {workflows.CampaignInput{Template: "Hi", Recipients: one, RecipientsFile: &activities.RecipientsFile{Path: "/r.csv"}}, "not both"},
		"too many inline":     {workflows.CampaignInput{Template: "Hi", Recipients: many}, "at most 1000 inline"},
		"relative file":       {workflows.CampaignInput{Template: "Hi", RecipientsFile: &activities.RecipientsFile{Path: "r.csv"}}, "recipients_file.path"},
		"bad time zone":       {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{TimeZone: "Moon/Base"}}, "window.time_zone"},
		"bad days":            {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{Days: "someday"}}, "window.days"},
		"bad hours":           {workflows.CampaignInput{Template: "Hi", Recipients: one, Window: workflows.SendingWindow{Hours: "18:00-09:00"}}, "window.hours"},
		"negative gap":        {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &neg}}, "pacing.min_gap"},
		"max below min":       {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &big, MaxGap: &small}}, "pacing.max_gap"},
		"min alone above max": {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{MinGap: &long}}, ""},
		"negative cap":        {workflows.CampaignInput{Template: "Hi", Recipients: one, Pacing: workflows.Pacing{DailyCap: num(-1)}}, "pacing.daily_cap"},
		"page too big":        {workflows.CampaignInput{Template: "Hi", Recipients: one, PageSize: 5000}, "page_size"},
		"tiny history limit":  {workflows.CampaignInput{Template: "Hi", Recipients: one, MaxRunEvents: 10}, "max_run_events"},
		"negative deadline":   {workflows.CampaignInput{Template: "Hi", Recipients: one, SendDeadline: neg}, "send_deadline"},
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
