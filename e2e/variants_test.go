package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// Learning what works, through the real binaries on the dev server: A/B
// variants with spintax in a sequence, and scheduled starts.

// TestVariantsReport: a sequence campaign whose connection note and first
// message each have variants. Preview with the campaign's id shows each
// row's draw; each person gets the note of the variant drawn for them
// (spintax chosen, the same as the preview); status and `campaign report`
// give per variant the requests sent and delivered, the acceptances and
// their rate, and who went on to the later steps.
func TestVariantsReport(t *testing.T) {
	s := up(t)
	t.Parallel()
	const id = "e2e-variants"
	r := newPaceRun(t, s, "e2e-variants", outxtest.Options{Teams: []outxtest.Team{{Name: "default", APIKey: apiKey}},
		TaskDelay: 300 * time.Millisecond, AcceptDelay: 2 * time.Second}, unlimitedSender())
	lines := []string{"recipient_urn,first_name"}
	var people []string
	for i := range 12 {
		urn := fmt.Sprintf("%s-var%02d", outxtest.Accepts, i)
		if i%3 == 2 {
			urn = fmt.Sprintf("%s-var%02d", outxtest.Ignores, i)
		}
		people = append(people, urn)
		lines = append(lines, urn+","+fmt.Sprintf("P%d", i))
	}
	r.file("people.csv", strings.Join(lines, "\n")+"\n")
	file := r.file("variants.yaml", `id: `+id+`
recipients: people.csv
`+anytime+`steps:
  - connect:
      variants:
        - {name: short, note: "{Hi|Hello} {{first_name}}, shall we connect?", weight: 2}
        - {name: no-note}
  - wait_for_connection: {check_every: 10s, timeout: 40s}
  - message:
      variants:
        - {name: thanks, text: "Thanks for connecting, {{first_name}}!"}
        - {name: question, text: "{{first_name}}, may I ask you something?"}
`)
	prev := s.runWithEnv(t, "starter", r.env, "campaign", "preview", "--task-queue", r.queue, "--file", file, "--show", "12", "--json")
	var preview struct {
		CampaignID string                `json:"campaign_id"`
		Preview    []recipients.Prepared `json:"preview"`
	}
	if err := json.Unmarshal([]byte(prev.stdout), &preview); err != nil || prev.code != 0 || preview.CampaignID != id || len(preview.Preview) != 12 {
		t.Fatalf("preview: %v\n%s", err, prev)
	}
	r.startCampaign("--file", file)
	p, err := s.finalProgress(t, id, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	// Each person's note is the preview's, from the variant drawn.
	drawn := map[string]recipients.Prepared{}
	for _, row := range preview.Preview {
		drawn[row.RecipientURN] = row
	}
	want := map[string]*workflows.VariantCounts{}
	get := func(step int, typ workflows.StepType, v string) *workflows.VariantCounts {
		k := fmt.Sprint(step, v)
		if want[k] == nil {
			want[k] = &workflows.VariantCounts{Step: step, Type: typ, Variant: v}
		}
		return want[k]
	}
	for _, urn := range people {
		row := drawn[urn]
		if len(row.Variants) != 3 || row.Variants[0] == "" || row.Variants[2] == "" {
			t.Fatalf("%s: preview %+v, want a variant for steps 1 and 3", urn, row)
		}
		connects, messages := r.sandbox.ConnectionRequestsTo(urn), r.sandbox.TasksTo(urn)
		if len(connects) != 1 || connects[0].Note != row.Texts[0] {
			t.Errorf("%s: connection requests %+v, want one with the preview's note %q (variant %s)", urn, connects, row.Texts[0], row.Variants[0])
		}
		note := get(1, workflows.StepConnect, row.Variants[0])
		note.Recipients, note.Sent, note.Delivered = note.Recipients+1, note.Sent+1, note.Delivered+1
		msg := get(3, workflows.StepMessage, row.Variants[2])
		msg.Recipients++
		if strings.HasPrefix(urn, outxtest.Ignores) {
			if len(messages) != 0 {
				t.Errorf("%s never accepted, yet got %d messages", urn, len(messages))
			}
			continue
		}
		if len(messages) != 1 || messages[0].Message != row.Texts[2] {
			t.Errorf("%s: messages %+v, want the preview's %q", urn, messages, row.Texts[2])
		}
		note.Accepted++
		note.Reached = []workflows.StepReach{{Step: 3, Recipients: note.Accepted}}
		msg.Sent, msg.Delivered = msg.Sent+1, msg.Delivered+1
	}
	if p.Counts.Delivered != 8 || p.Counts.NotConnected != 4 {
		t.Errorf("counts %+v, want 8 delivered, 4 not connected", p.Counts)
	}
	check := func(what string, got []workflows.VariantCounts) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d variants %+v, want %d", what, len(got), got, len(want))
		}
		for _, v := range got {
			w := want[fmt.Sprint(v.Step, v.Variant)]
			if w == nil || v.Type != w.Type || v.Recipients != w.Recipients || v.Sent != w.Sent || v.Delivered != w.Delivered ||
				v.Accepted != w.Accepted || fmt.Sprint(v.Reached) != fmt.Sprint(w.Reached) {
				t.Errorf("%s: step %d variant %s: %+v\nwant %+v", what, v.Step, v.Variant, v, w)
			}
		}
	}
	check("the campaign's progress", p.Variants)

	// The report, from visibility (eventually consistent).
	var byVariant []workflows.VariantCounts
	var rep result
	waitUntil(t, 30*time.Second, func() bool {
		rep = s.runWithEnv(t, "starter", r.env, "campaign", "report", "--id", id, "--by-variant", "--json")
		byVariant = nil
		for _, line := range strings.Split(strings.TrimSpace(rep.stdout), "\n") {
			var v workflows.VariantCounts
			if json.Unmarshal([]byte(line), &v) == nil {
				byVariant = append(byVariant, v)
			}
		}
		total := 0
		for _, v := range byVariant {
			if v.Step == 1 {
				total += v.Delivered
			}
		}
		return rep.code == 0 && total == 12 && !strings.Contains(rep.stderr, "pending 1")
	})
	check("report --by-variant", byVariant)
	rep = s.runWithEnv(t, "starter", r.env, "campaign", "report", "--id", id)
	if !strings.HasPrefix(rep.stdout, "line,recipient_urn,outcome,reason,step,steps,workflow_id,status,variants\n") ||
		!strings.Contains(rep.stderr, "report: variant step 1 (connect) short (weight 2): recipients ") ||
		!strings.Contains(rep.stderr, "accepted ") {
		t.Errorf("report:\n%s", rep)
	}
	status := s.runWithEnv(t, "starter", r.env, "campaign", "status", "--task-queue", r.queue, "--id", id)
	if !strings.Contains(status.stdout, "variant: step 1 (connect) no-note (weight 1): recipients ") {
		t.Errorf("status:\n%s", status)
	}
	t.Logf("report:\n%s\nstatus:\n%s", rep.stderr, status.stdout)
}

// TestScheduledStart: `campaign start --at` a few seconds ahead: status
// says when it will start, then it runs and delivers; a campaign scheduled
// further ahead and cancelled before its start ends cancelled, having sent
// nothing.
func TestScheduledStart(t *testing.T) {
	s := up(t)
	t.Parallel()
	r := defaultAccountRun(t, s, "e2e-scheduled", unlimitedSender())
	csv := r.file("people.csv", "recipient_urn,first_name\nurn:li:person:ACoAASched1,Ann\nurn:li:person:ACoAASched2,Bo\n")
	flags := []string{"--csv", csv, "--template", "{Hi|Hello} {{first_name}}", "--anytime", "--min-gap", "0s", "--max-gap", "0s", "--hourly-cap", "0", "--daily-cap", "0"}

	at := time.Now().Add(8 * time.Second).Truncate(time.Second)
	r.startCampaign(append([]string{"--id", "e2e-scheduled", "--at", at.UTC().Format("2006-01-02T15:04:05"), "--time-zone", "UTC"}, flags...)...)
	status := s.runWithEnv(t, "starter", r.env, "campaign", "status", "--task-queue", r.queue, "--id", "e2e-scheduled")
	if status.code != 0 || !strings.Contains(status.stdout, "status: scheduled\n") ||
		!strings.Contains(status.stdout, "scheduled to start at "+at.Local().Format("2006-01-02 15:04:05 MST")) {
		t.Errorf("status before the start:\n%s", status)
	}
	js := s.runWithEnv(t, "starter", r.env, "campaign", "status", "--task-queue", r.queue, "--id", "e2e-scheduled", "--json")
	var v struct {
		Status      workflows.CampaignStatus `json:"status"`
		Reason      string                   `json:"reason"`
		ScheduledAt time.Time                `json:"scheduled_at"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &v); err != nil || v.Status != workflows.StatusScheduled || !v.ScheduledAt.Equal(at) || !strings.HasPrefix(v.Reason, "scheduled to start at") {
		t.Errorf("status --json before the start: %v\n%s", err, js)
	}
	if n := len(r.sandbox.Tasks()); n != 0 {
		t.Errorf("%d OutX tasks before the start", n)
	}
	p, err := s.finalProgress(t, "e2e-scheduled", 2*time.Minute)
	if err != nil || p.Counts.Delivered != 2 {
		t.Fatalf("the scheduled campaign: %+v, %v; want both delivered", p.Counts, err)
	}
	for _, task := range r.sandbox.Tasks() {
		if task.CreatedAt.Before(at) {
			t.Errorf("task %s created at %s, before the start at %s", task.ID, task.CreatedAt, at)
		}
	}
	if p.StartedAt.Before(at) {
		t.Errorf("started at %s, before %s", p.StartedAt, at)
	}

	// Scheduled an hour ahead, cancelled before: nothing is sent.
	later := time.Now().Add(time.Hour)
	r.startCampaign(append([]string{"--id", "e2e-scheduled-cancel", "--at", later.Format(time.RFC3339)}, flags...)...)
	res := s.runWithEnv(t, "starter", r.env, "campaign", "cancel", "--task-queue", r.queue, "--id", "e2e-scheduled-cancel")
	if res.code != 0 || !strings.Contains(res.stdout, "before its scheduled start") {
		t.Errorf("cancel before the start:\n%s", res)
	}
	if _, err = s.finalProgress(t, "e2e-scheduled-cancel", time.Minute); err == nil || !strings.Contains(strings.ToLower(err.Error()), "cancel") {
		t.Errorf("the cancelled campaign ended with %v; want cancelled", err)
	}
	status = s.runWithEnv(t, "starter", r.env, "campaign", "status", "--task-queue", r.queue, "--id", "e2e-scheduled-cancel")
	if !strings.Contains(status.stdout, "status: cancelled\nreason: cancelled before its scheduled start; nothing was sent") {
		t.Errorf("status after the cancel:\n%s", status)
	}
	time.Sleep(2 * time.Second)
	if n := len(r.sandbox.Tasks()); n != 2 {
		t.Errorf("%d OutX tasks, want the first campaign's 2 only", n)
	}
}
