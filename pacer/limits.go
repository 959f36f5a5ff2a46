package pacer

import (
	"fmt"
	"time"

	"github.com/outpacehq/outpace/pacing"
)

// Pacing defaults of a campaign, inside OutX's guidance (30 to 60 seconds at
// least between messages, at most about 50 actions an hour) and what careful
// outreach tools ship: 20 to 50 messages a day in working hours, weekends
// off.
const (
	DefaultMinGap    = 60 * time.Second
	DefaultMaxGap    = 180 * time.Second
	DefaultHourlyCap = 20
	DefaultDailyCap  = 40
	DefaultTimeZone  = "UTC"
	DefaultDays      = "mon-fri"
	DefaultHours     = "09:00-18:00"
)

// Pacing spaces a campaign's OutX tasks. Absent fields take the defaults; a
// cap of 0 means no cap.
type Pacing struct {
	MinGap    *Duration `json:"min_gap,omitempty"`
	MaxGap    *Duration `json:"max_gap,omitempty"`
	HourlyCap *int      `json:"hourly_cap,omitempty"`
	DailyCap  *int      `json:"daily_cap,omitempty"`
}

// SendingWindow is when a campaign may send: days of the week and hours in a
// time zone, e.g. {"time_zone": "Europe/Berlin", "days": "mon-fri", "hours":
// "09:00-18:00"} (the default, in UTC).
type SendingWindow struct {
	TimeZone string `json:"time_zone,omitempty"`
	Days     string `json:"days,omitempty"`
	Hours    string `json:"hours,omitempty"`
}

// CampaignLimits are a campaign's own pacing and window, which the pacer
// applies to the campaign's actions besides the account's.
type CampaignLimits struct {
	Pacing Pacing        `json:"pacing,omitzero"`
	Window SendingWindow `json:"window,omitzero"`
}

// Policy is the campaign's pacing with defaults applied. Errors name the
// input field and the rule.
func (in CampaignLimits) Policy() (pacing.Policy, error) {
	tz, days, hours := in.Window.TimeZone, in.Window.Days, in.Window.Hours
	if tz == "" {
		tz = DefaultTimeZone
	}
	if days == "" {
		days = DefaultDays
	}
	if hours == "" {
		hours = DefaultHours
	}
	w, err := pacing.ParseWindow(tz, days, hours)
	if err != nil {
		return pacing.Policy{}, fmt.Errorf("window.%w", err)
	}
	p := pacing.Policy{
		MinGap: durOr(in.Pacing.MinGap, DefaultMinGap), MaxGap: durOr(in.Pacing.MaxGap, DefaultMaxGap),
		HourlyCap: intOr(in.Pacing.HourlyCap, DefaultHourlyCap), DailyCap: intOr(in.Pacing.DailyCap, DefaultDailyCap),
		Window: w,
	}
	if in.Pacing.MinGap != nil && in.Pacing.MaxGap == nil && p.MaxGap < p.MinGap {
		p.MaxGap = p.MinGap // "at least 2m" alone must not fail on the default maximum
	}
	if err := p.Validate(); err != nil {
		return pacing.Policy{}, fmt.Errorf("pacing.%w", err)
	}
	return p, nil
}

func durOr(d *Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return time.Duration(*d)
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}
