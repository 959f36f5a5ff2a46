package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/internal/devstack"
)

// TestDemo runs scripts/demo.sh (what `make demo` runs) on free ports, as a
// newcomer would, and checks that it shows every outcome, a person stopped
// from outside through the inbound API, a person excluded
// by the do-not-contact list and one skipped because another campaign
// reached them, and stops everything it started.
func TestDemo(t *testing.T) {
	s := up(t)
	t.Parallel()
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	// The shared stack's binaries, and the inbound server the demo stops a
	// person through.
	if err := devstack.Build(context.Background(), s.root, s.bin, "./inbound", "./examples/webhook-receiver"); err != nil {
		t.Fatal(err)
	}
	r := s.runWithEnv(t, filepath.Join(s.root, "scripts", "demo.sh"), []string{
		"DEMO_BIN=" + s.bin,
		"DEMO_STATE=" + t.TempDir(),
		"DEMO_KEEP=0",
		fmt.Sprintf("DEMO_TEMPORAL_PORT=%d", ports[0]),
		fmt.Sprintf("DEMO_UI_PORT=%d", ports[1]),
		fmt.Sprintf("DEMO_SANDBOX_PORT=%d", ports[2]),
		fmt.Sprintf("DEMO_INBOUND_PORT=%d", ports[3]),
		fmt.Sprintf("DEMO_WEBHOOK_PORT=%d", ports[4]),
		"OUTPACE_TEMPORAL_CLI=" + s.temporalCLI,
	})
	if r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	for _, want := range []string{
		"Outcome: delivered",
		"Outcome: failed",
		"Recipient is not a 1st-degree connection",
		"Outcome: unknown",
		"invalid input, nothing was sent",
		"invalid: message: must not be only whitespace",
		"already started; not sending it again",
		// The campaign: preview (with start's flags, its invalid rows
		// told as meant), start, watch, report.
		"rows 7  valid 5  invalid 2",
		"(exit status 2, as meant: two rows are invalid)",
		"--anytime --min-gap 2s --max-gap 4s\nPreview: nothing is sent",
		"line 6: template variable \"company\" is missing or empty",
		"Started campaign demo-campaign-",
		"delivered 3  failed 1  unknown 0  invalid 2  skipped 1  pending 0",
		"line,recipient_urn,outcome,reason,task_id,workflow_id,status",
		"query=CampaignId%3D%22demo-campaign-",
		// The sequence: one accepts and gets both messages, one never
		// accepts, one is stopped before the campaign reaches them.
		"steps: connect → wait for connection (20s) → message → wait 5s → message “follow-up”",
		"delivered 1  failed 0  unknown 0  invalid 0  skipped 0  excluded 0  not_connected 1  stopped 1  pending 0",
		"5/5 message,\"1 connect delivered, 2 wait_for_connection connected, 3 message delivered, 4 wait done, 5 message delivered\"",
		"not accepted within 20s",
		"stopped before the campaign reached them",
		// Cat is stopped from outside, through the inbound API.
		"Authorization: Bearer $TOKEN",
		`"workflow_id": "demo-sequence-`,
		`"result": "stopped: `,
		"the campaign will not start them",
		// People: Mallory excluded by the do-not-contact list, Grace
		// skipped by a second campaign because the first reached her.
		"added    urn:li:person:ACoAAMallory",
		"excluded 1 (on the do-not-contact list)  skipped 1 (contacted by another campaign)",
		"skipped: already contacted by campaign \"demo-campaign-",
		"delivered 1  failed 0  unknown 0  invalid 0  skipped 1  excluded 1  pending 0",
		"): asked not to be contacted,,demo-followup-",
		"report: the contacts store held back 2: 1 excluded (on the do-not-contact list), 1 skipped (contacted by another campaign)",
		"do-not-contact: yes, since ",
		"actions: none: outpace has taken no action with this person",
		// Events out: the receiver verified and printed them.
		"demo-crm  0        ",
		"message.delivered\n",
		"message.unknown\n",
		"message.invalid\n",
		"recipient.excluded\n",
		"recipient.skipped\n",
		"connection.accepted\n",
		"connection.not_accepted\n",
		"sequence.finished\n",
		"campaign.finished\n",
		"10 message task(s)",
		"2 connection request(s)",
		fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows", ports[1]),
		"Stopped.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	// Neither Mallory (listed) nor Grace a second time got a task.
	if n := strings.Count(r.stdout, "send_message  urn:li:person:ACoAAGrace"); n != 1 || strings.Contains(r.stdout, "send_message  urn:li:person:ACoAAMallory") {
		t.Errorf("OutX got %d messages for Grace (want 1) or one for Mallory (want none)", n)
	}
	if !regexp.MustCompile(`(?m)^\S+ \S+\s+default\s+message\s+demo-campaign-\d+\s+-\s+delivered\s`).MatchString(r.stdout) {
		t.Errorf("contacts show lists no delivered message of demo-campaign for Grace")
	}
	// Its output is piped here: no terminal escapes (bold titles).
	if strings.Contains(r.stdout, "\033") {
		t.Errorf("the demo's piped output holds terminal escapes")
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", r)
	}
	// Everything the demo started is gone.
	time.Sleep(500 * time.Millisecond)
	for _, p := range ports {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			conn.Close()
			t.Errorf("port %d still answers after the demo stopped", p)
		}
	}
}
