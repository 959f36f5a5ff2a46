package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/pacer"
)

// TestPrintAccountOnDay3: an account on day 3 of its warm-up shows the day,
// today's ramped caps and what they grow to, its pending invitations, and
// its pauses with their reasons and ends.
func TestPrintAccountOnDay3(t *testing.T) {
	now := time.Date(2026, 11, 9, 10, 0, 0, 0, time.UTC)
	st := pacer.Status{Sender: "alice", Queued: 1, Account: pacer.AccountStatus{
		RampDay: 3, FirstAction: time.Date(2026, 11, 5, 9, 14, 0, 0, time.UTC),
		Caps: []pacer.DailyCap{
			{Action: pacer.ActionMessage, Today: 20, Cap: 40, Start: 10, Step: 5},
			{Action: pacer.ActionConnect, Today: 9, Cap: 20, Start: 5, Step: 2},
			{Action: pacer.ActionLookup, Today: 80, Cap: 80},
		},
		Pending: 57, Ceiling: 400,
		ConnectPaused: &pacer.Pause{By: "outpace", Until: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
			Reason: "LinkedIn's invitation limit: OutX answered 429 to a connection request"},
	}, Waiting: []pacer.Waiting{{WorkflowID: "spring/urn:li:person:ACoAAJane/1-connect", Action: pacer.ActionConnect,
		Wait: pacer.Wait{Kind: pacer.WaitInvitationLimit, Reason: "connection requests are paused (LinkedIn's invitation limit: OutX answered 429 to a connection request)",
			NextAt: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), At: "Mon 16 Nov 00:00 UTC"}}}}
	var b bytes.Buffer
	printAccount(&b, "pacer/outpace/alice", st, now)
	out := b.String()
	t.Logf("\n%s", out)
	for _, want := range []string{
		"Account alice (its pacer: pacer/outpace/alice)",
		"warm-up:      day 3 (first action Thu 5 Nov 2026 09:14 UTC)",
		"today's caps: message 20 a day (warming up from 10 by 5 a day to 40), connect 9 a day (warming up from 5 by 2 a day to 20), lookup 80 a day",
		"pending invitations: 57 (ceiling 400; OutX cannot withdraw one: do it in LinkedIn)",
		"account:      acting",
		"connection requests: paused by outpace until Mon 16 Nov 00:00 UTC: LinkedIn's invitation limit",
		"connect for spring/urn:li:person:ACoAAJane/1-connect: waiting for account alice: connection requests are paused",
		"next slot Mon 16 Nov 00:00 UTC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("account status lacks %q:\n%s", want, out)
		}
	}
}
