package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
)

// Account safety through the real worker and starter.

// accountStatus runs `starter account status NAME --json`; before the
// account's first action (no pacer yet) it is the zero status.
func (r *paceRun) accountStatus(name string) pacer.Status {
	r.t.Helper()
	res := r.s.runWithEnv(r.t, "starter", r.env, "account", "status", "--task-queue", r.queue, name, "--json")
	var st pacer.Status
	if res.code == 1 && strings.Contains(res.stderr, "has no pacer") {
		return st
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &st) != nil {
		r.t.Fatalf("account status: %s", res)
	}
	return st
}

// TestAccountPausesWhileTheExtensionIsOffline: OutX refusing sends for want
// of an extension pauses the whole account, and `starter account status`
// says so and until when; once the extension is back, `starter account
// resume` lets the message go at once, sent once.
func TestAccountPausesWhileTheExtensionIsOffline(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-offline-pause", "senders:\n"+senderYAML("default", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}")+
		"    offline_pause: 10m\n")
	r.sandbox.SetExtensionOffline(true)
	if res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAAOffline1", "--message", "Hi"); res.code != 0 {
		t.Fatalf("send: %s", res)
	}
	var st pacer.Status
	// Paused for the long pause, and the message asked again (it waits).
	waitUntil(t, 2*time.Minute, func() bool {
		st = r.accountStatus("default")
		return st.Account.Paused != nil && time.Until(st.Account.Paused.Until) > 5*time.Minute && len(st.Waiting) == 1
	})
	if p := st.Account.Paused; p.By != "outpace" || !strings.Contains(p.Reason, "the extension is offline: OutX refused 3 actions in a row") {
		t.Errorf("paused: %+v", p)
	}
	text := s.runWithEnv(t, "starter", r.env, "account", "status", "--task-queue", r.queue, "default")
	if !strings.Contains(text.stdout, "account:      paused by outpace until ") || !strings.Contains(text.stdout, "waiting for account default: the account is paused") {
		t.Errorf("account status:\n%s", text.stdout)
	}
	t.Logf("starter account status default:\n%s", text.stdout)
	r.sandbox.SetExtensionOffline(false)
	if res := s.runWithEnv(t, "starter", r.env, "account", "resume", "--task-queue", r.queue, "default"); res.code != 0 || !strings.Contains(res.stdout, "Resumed every action of account default") {
		t.Fatalf("resume: %s", res)
	}
	waitUntil(t, 30*time.Second, func() bool { return len(r.sandbox.TasksTo("urn:li:person:ACoAAOffline1")) == 1 })
	if st = r.accountStatus("default"); st.Account.Paused != nil {
		t.Errorf("after the resume: %+v", st.Account.Paused)
	}
}

// TestInvitationLimitPausesConnectionRequestsOnly: OutX answers 429 to a
// connection request (LinkedIn's invitation limit): the account's
// connection requests pause until the next ISO week, shown by `starter
// account status`, while a message still goes out.
func TestInvitationLimitPausesConnectionRequestsOnly(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-invitation-limit", unlimitedSender())
	r.sandbox.Inject(outxtest.Fault{Path: outx.PathSendConnectionRequest, Times: 1, Status: http.StatusTooManyRequests})
	r.file("people.csv", "recipient_urn,first_name\n"+outxtest.Ignores+"-limit,Ian\n")
	r.startCampaign("--file", r.file("invite.yaml", `id: e2e-invitation-limit
recipients: people.csv
`+anytime+`steps:
  - connect: "Hi {{first_name}}"
`))
	var st pacer.Status
	waitUntil(t, time.Minute, func() bool { st = r.accountStatus("default"); return st.Account.ConnectPaused != nil })
	p := st.Account.ConnectPaused
	if p.By != "outpace" || !strings.Contains(p.Reason, "invitation limit") || p.Until.Weekday() != time.Monday || st.Account.Paused != nil {
		t.Errorf("after the 429: %+v, want connection requests paused by outpace until a Monday, the account not", st.Account)
	}
	res := s.runWithEnv(t, "starter", r.env, "send", "--task-queue", r.queue, "--to", "urn:li:person:ACoAALimitMsg", "--message", "Hi", "--wait")
	if res.code != 0 || !strings.Contains(res.stdout, "Outcome: delivered") {
		t.Errorf("a message while connection requests are paused: %s", res)
	}
	if n := len(r.sandbox.ConnectionRequestsTo(outxtest.Ignores + "-limit")); n != 0 {
		t.Errorf("%d connection requests made, want none while paused", n)
	}
	if res := s.run(t, "starter", "campaign", "cancel", "--task-queue", r.queue, "--id", "e2e-invitation-limit"); res.code != 0 {
		t.Logf("cancel: %s", res)
	}
}
