package senders

import (
	"time"

	"github.com/outpacehq/outpace/pacer"
)

// Limits is how fast one LinkedIn account may act, across everything that
// uses it. Durations are Go duration texts ("45s", "3m"); a cap of 0 means no
// cap; empty fields take the defaults (DefaultLimits). Limits carry no
// secret: workflows read them through an activity.
type Limits struct {
	// TimeZone, Days and Hours are the account's sending hours, e.g.
	// "Europe/Berlin", "mon-fri", "09:00-18:00".
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	Days     string `json:"days,omitempty" yaml:"days,omitempty"`
	Hours    string `json:"hours,omitempty" yaml:"hours,omitempty"`
	// MinGap and MaxGap bound the random gap between the end of one task of
	// the account and the start of the next, whatever their types.
	MinGap string `json:"min_gap,omitempty" yaml:"min_gap,omitempty"`
	MaxGap string `json:"max_gap,omitempty" yaml:"max_gap,omitempty"`
	// HourlyCap and DailyCap count every action of the account.
	HourlyCap *int `json:"hourly_cap,omitempty" yaml:"hourly_cap,omitempty"`
	DailyCap  *int `json:"daily_cap,omitempty" yaml:"daily_cap,omitempty"`
	// Message, Connect and Lookup cap each action type.
	Message Caps `json:"message,omitzero" yaml:"message,omitempty"`
	Connect Caps `json:"connect,omitzero" yaml:"connect,omitempty"`
	Lookup  Caps `json:"lookup,omitzero" yaml:"lookup,omitempty"`

	// PendingCeiling: while this many of the account's connection requests
	// are not yet accepted, further ones wait (0: no ceiling). LinkedIn
	// restricts accounts with many pending invitations; tools treat about
	// 500 as the danger line. OutX cannot withdraw an invitation: that is
	// done by hand in LinkedIn.
	PendingCeiling *int `json:"pending_ceiling,omitempty" yaml:"pending_ceiling,omitempty"`
	// InvitationLimitPause is how long connection requests pause after
	// OutX answers 429 to one (LinkedIn's invitation limit): "next_week"
	// (until the next ISO week in the account's time zone) or a duration.
	// Messages go on meanwhile.
	InvitationLimitPause string `json:"invitation_limit_pause,omitempty" yaml:"invitation_limit_pause,omitempty"`
	// OfflinePause is how long the whole account pauses after OutX refuses
	// OfflineRefusals actions in a row because no extension is online (403);
	// each further pause doubles it, up to 8 times as long.
	OfflinePause string `json:"offline_pause,omitempty" yaml:"offline_pause,omitempty"`
}

// OfflineRefusals is how many 403 refusals in a row pause an account.
const OfflineRefusals = 3

// Caps bound one action type per rolling hour, local day and ISO week.
type Caps struct {
	HourlyCap *int `json:"hourly_cap,omitempty" yaml:"hourly_cap,omitempty"`
	DailyCap  *int `json:"daily_cap,omitempty" yaml:"daily_cap,omitempty"`
	WeeklyCap *int `json:"weekly_cap,omitempty" yaml:"weekly_cap,omitempty"`
	// Warmup ramps the daily cap up on a new account: Start on its first
	// sending day through outpace, Step more each sending day after, up to
	// DailyCap.
	Warmup *Warmup `json:"warmup,omitempty" yaml:"warmup,omitempty"`
}

// Warmup is a daily cap's ramp.
type Warmup struct {
	Start int `json:"start" yaml:"start"`
	Step  int `json:"step" yaml:"step"`
}

// DailyCapOn is the daily cap on the account's sending day day (1 the
// first), with the warm-up applied; 0 is no cap.
func (c Caps) DailyCapOn(day int) int {
	limit := Value(c.DailyCap)
	if c.Warmup == nil || day < 1 {
		return limit
	}
	ramp := c.Warmup.Start + c.Warmup.Step*(day-1)
	if limit > 0 && ramp > limit {
		return limit
	}
	return ramp
}

// For returns the caps of one action type.
func (l Limits) For(a pacer.Action) Caps {
	switch a {
	case pacer.ActionConnect:
		return l.Connect
	case pacer.ActionLookup:
		return l.Lookup
	default:
		return l.Message
	}
}

func ptr(n int) *int { return &n }

// DefaultLimits are within OutX's guidance (30 to 60 s at least between
// actions, about 50 actions an hour) and what careful outreach tools ship:
// 40 messages and 20 connection requests a day, 100 requests a week
// (LinkedIn's own weekly invitation limit is about that), working hours,
// weekends off.
func DefaultLimits() Limits {
	return Limits{
		TimeZone: "UTC", Days: "mon-fri", Hours: "09:00-18:00",
		MinGap: "45s", MaxGap: "3m",
		HourlyCap: ptr(30), DailyCap: ptr(120),
		Message:              Caps{HourlyCap: ptr(20), DailyCap: ptr(40)},
		Connect:              Caps{HourlyCap: ptr(10), DailyCap: ptr(20), WeeklyCap: ptr(100)},
		Lookup:               Caps{HourlyCap: ptr(20), DailyCap: ptr(80)},
		PendingCeiling:       ptr(400),
		InvitationLimitPause: "next_week",
		OfflinePause:         "30m",
	}
}

// WithDefaults fills every unset field of l from DefaultLimits; a min_gap
// longer than the default max_gap, without a max_gap, is both.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	str := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	num := func(v **int, def *int) {
		if *v == nil {
			*v = def
		}
	}
	caps := func(c *Caps, def Caps) {
		num(&c.HourlyCap, def.HourlyCap)
		num(&c.DailyCap, def.DailyCap)
		num(&c.WeeklyCap, def.WeeklyCap)
	}
	// A min_gap above the default max_gap, with no max_gap of its own,
	// raises the max to it rather than making the limits contradict.
	if l.MinGap != "" && l.MaxGap == "" {
		minGap, err1 := time.ParseDuration(l.MinGap)
		maxGap, err2 := time.ParseDuration(d.MaxGap)
		if err1 == nil && err2 == nil && minGap > maxGap {
			l.MaxGap = l.MinGap
		}
	}
	str(&l.TimeZone, d.TimeZone)
	str(&l.Days, d.Days)
	str(&l.Hours, d.Hours)
	str(&l.MinGap, d.MinGap)
	str(&l.MaxGap, d.MaxGap)
	num(&l.HourlyCap, d.HourlyCap)
	num(&l.DailyCap, d.DailyCap)
	caps(&l.Message, d.Message)
	caps(&l.Connect, d.Connect)
	caps(&l.Lookup, d.Lookup)
	num(&l.PendingCeiling, d.PendingCeiling)
	str(&l.InvitationLimitPause, d.InvitationLimitPause)
	str(&l.OfflinePause, d.OfflinePause)
	return l
}

// Value is *p, or 0 (no cap) when p is nil.
func Value(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
