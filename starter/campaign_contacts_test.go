package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/workflows"
)

// TestPreviewTellsExcludedAndSkipped: preview asks the store, read-only,
// who the campaign would exclude (the do-not-contact list, by URN or by
// profile) and skip (contacted by another campaign of the same account
// within 90 days), and names them at their lines.
func TestPreviewTellsExcludedAndSkipped(t *testing.T) {
	db := contactsDBFile(t)
	s := openStore(t, db)
	now := time.Now().UTC()
	contact(t, s, "default", "urn:li:person:grace", "winter-2026", "delivered", "task-1", now.Add(-24*time.Hour))
	contact(t, s, "sales-2", "urn:li:person:linus", "other-account", "delivered", "task-2", now.Add(-24*time.Hour))
	contact(t, s, "default", "urn:li:person:old", "summer-2026", "delivered", "task-3", now.Add(-100*24*time.Hour))
	ctx := context.Background()
	for _, e := range []contacts.DNCEntry{
		{RecipientURN: "urn:li:person:ken", Reason: "asked not to be contacted"},
		{ProfileSlug: "eve-e", Reason: "a competitor"},
	} {
		if err := s.AddDNC(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	csv := writeFile(t, "people.csv", "recipient_urn,profile_url,first_name\n"+
		"urn:li:person:ada,,Ada\n"+
		"urn:li:person:grace,,Grace\n"+ // another campaign of this account: skipped
		"urn:li:person:ken,,Ken\n"+ // listed: excluded
		"urn:li:person:linus,,Linus\n"+ // another account's campaign: not under the default policy
		"urn:li:person:old,,Old\n"+ // past the 90 days
		",https://www.linkedin.com/in/eve-e,Eve\n"+ // listed by profile: excluded
		",https://www.linkedin.com/in/fay-f,Fay\n")
	code, out, errOut := runStarter(t, "campaign", "preview", "--id", "spring-2026", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != 0 {
		t.Fatalf("preview: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "preview", out,
		"contacts: sqlite:"+db+", policy account within 90d (sender default)\n"+
			"  excluded 2 (on the do-not-contact list)  skipped 1 (contacted by another campaign)\n"+
			"  line 3  urn:li:person:grace  skipped: already contacted by campaign \"winter-2026\" from account \"default\" on "+now.Add(-24*time.Hour).Format("2006-01-02")+" (message)\n"+
			"  line 4  urn:li:person:ken  excluded: on the do-not-contact list (urn:li:person:ken): asked not to be contacted\n"+
			"  line 7  profile eve-e  excluded: on the do-not-contact list (profile eve-e): a competitor\n"+
			"  2 named by profile: checked against the list by slug; whether another campaign reached them is checked when their URN is looked up\n")

	// --json carries the same.
	code, out, _ = runStarter(t, "campaign", "preview", "--id", "spring-2026", "--csv", csv, "--template", "Hi {{first_name}}", "--json")
	var p previewOutput
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 0 {
		t.Fatalf("preview --json: exit %d, %v\n%s", code, err, out)
	}
	if c := p.Contacts; c.Excluded != 2 || c.Skipped != 1 || c.Checked != 7 || c.ByProfile != 2 || len(c.Rows) != 3 || c.Error != "" {
		t.Errorf("preview --json contacts: %+v", c)
	}

	// The campaign file's contact_policy: all accounts reach Linus too;
	// allow skips nobody, and the list still excludes.
	for policy, want := range map[string]string{
		"{scope: all, window: 30d}": "excluded 2 (on the do-not-contact list)  skipped 2 (contacted by another campaign)",
		"allow":                     "excluded 2 (on the do-not-contact list)  skipped 0 (contacted by another campaign)",
	} {
		file := writeFile(t, "campaign.yaml", fmt.Sprintf("id: spring-2026\nrecipients: %s\ncontact_policy: %s\nsteps:\n  - message: \"Hi {{first_name}}\"\n", csv, policy))
		code, out, errOut := runStarter(t, "campaign", "preview", "--file", file)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("contact_policy %s: exit %d, want %q\n%s%s", policy, code, want, out, errOut)
		}
	}

	// --contact-policy says the same for a campaign without a file, and
	// overrides the file's.
	for policy, want := range map[string]string{
		"all:30d": "policy all within 30d (sender default)\n  excluded 2 (on the do-not-contact list)  skipped 2",
		"allow":   "policy allow (no cross-campaign check) (sender default)\n  excluded 2 (on the do-not-contact list)  skipped 0",
		"account": "policy account within 90d (sender default)\n  excluded 2 (on the do-not-contact list)  skipped 1",
	} {
		code, out, errOut := runStarter(t, "campaign", "preview", "--id", "spring-2026", "--csv", csv, "--template", "Hi {{first_name}}", "--contact-policy", policy)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--contact-policy %s: exit %d, want %q\n%s%s", policy, code, want, out, errOut)
		}
	}
	for _, bad := range []string{"everyone", "allow:3d", "all:-1d", "account:soon"} {
		code, out, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi", "--contact-policy", bad)
		if code != 2 || out != "" || !strings.Contains(errOut, fmt.Sprintf("--contact-policy %q: want account[:WINDOW], all[:WINDOW] or allow", bad)) {
			t.Errorf("--contact-policy %s: exit %d\n%s%s", bad, code, out, errOut)
		}
	}

	// The campaign's own earlier contacts are not another campaign's.
	code, out, _ = runStarter(t, "campaign", "preview", "--id", "winter-2026", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != 0 || !strings.Contains(out, "skipped 0 (contacted by another campaign)") {
		t.Errorf("preview under the earlier campaign's id: exit %d\n%s", code, out)
	}
}

// TestPreviewWithoutTheStore: a store that cannot be opened is said, and
// the preview goes on, its exit status its rows'.
func TestPreviewWithoutTheStore(t *testing.T) {
	db := contactsDBFile(t)
	csv := writeFile(t, "people.csv", goodCSV)
	code, out, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != 0 {
		t.Fatalf("preview without a store: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "preview", out,
		"rows 2  valid 2  invalid 0\n",
		"contacts: not checked: no contacts store at sqlite:"+db+": give the worker's, with --contacts-db or OUTPACE_CONTACTS_DB (docs/contacts.md)\n"+
			"  (the campaign checks each person in the worker's store when their turn comes)\n",
		"Messages (first 2):\n")
	code, out, _ = runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}", "--contacts-db", "mysql://db/outpace")
	if code != 0 || !strings.Contains(out, "contacts: not checked: bad contacts store setting: OUTPACE_CONTACTS_DB (--contacts-db): mysql://db/outpace is a URL of a database outpace does not support") {
		t.Errorf("preview with an unsupported store: exit %d\n%s", code, out)
	}
}

// TestReportListsExcludedAndSkippedElsewhere: the report lists the rows the
// contacts store held back, each with its reason, and counts them.
func TestReportListsExcludedAndSkippedElsewhere(t *testing.T) {
	startedAt := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	done, failed := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	dnc := `on the do-not-contact list (urn:li:person:ken): asked not to be contacted`
	elsewhere := `already contacted by campaign "winter-2026" from account "default" on 2026-12-01 (message)`
	runs := []*workflowpb.WorkflowExecutionInfo{
		visibilityRun(t, "spring/urn:li:person:ada", done, startedAt.Add(time.Minute), ended("delivered", "", 2)),
		visibilityRun(t, "spring/urn:li:person:grace", failed, startedAt.Add(2*time.Minute), ended("skipped", elsewhere, 3)),
		visibilityRun(t, "spring/urn:li:person:ken", failed, startedAt.Add(3*time.Minute), ended("excluded", dnc, 4)),
	}
	f := (&fakeTemporal{list: listing(runs)}).worker("1@h outpace senders=default")
	useFake(t, f)
	f.addRun("spring", workflows.CampaignWorkflow).end(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, reportProgress{
		CampaignProgress: workflows.CampaignProgress{CampaignID: "spring", Status: workflows.StatusFinished, StartedAt: startedAt, Total: 4,
			Counts: workflows.Counts{Delivered: 1, Skipped: 2, Excluded: 1}},
		Unrun: []unrunRow{{Line: 5, Outcome: workflows.Skipped, WorkflowID: "spring/urn:li:person:ada"}},
	}, nil)

	code, stdout, stderr := sendStarter(t, f, "campaign", "report", "--id", "spring")
	want := "line,recipient_urn,outcome,reason,task_id,workflow_id,status\n" +
		"2,urn:li:person:ada,delivered,,,spring/urn:li:person:ada,Completed\n" +
		"3,urn:li:person:grace,skipped,\"" + strings.ReplaceAll(elsewhere, `"`, `""`) + "\",,spring/urn:li:person:grace,Failed\n" +
		"4,urn:li:person:ken,excluded," + dnc + ",,spring/urn:li:person:ken,Failed\n" +
		"5,urn:li:person:ada,skipped,repeats line 2,,spring/urn:li:person:ada,\n"
	if code != exitOK || stdout != want {
		t.Errorf("exit %d, report:\n%s\nwant:\n%s", code, stdout, want)
	}
	wantLines(t, "the report's counts", stderr,
		"report: rows 4  delivered 1  failed 0  unknown 0  invalid 0  skipped 2  excluded 1  pending 0\n",
		"report: the contacts store held back 2: 1 excluded (on the do-not-contact list), 1 skipped (contacted by another campaign); each row's reason says why\n")
	if strings.Contains(stderr, "ran nobody") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestStartSaysTheContactPolicy: start tells, and gives the workflow, the
// campaign's contact policy.
func TestStartSaysTheContactPolicy(t *testing.T) {
	fast(t)
	for flag, want := range map[string]string{
		"":        "  contacts:    contact policy account within 90d; the do-not-contact list applies\n",
		"all:30d": "  contacts:    contact policy all within 30d; the do-not-contact list applies\n",
		"allow":   "  contacts:    contact policy allow (no cross-campaign check); the do-not-contact list applies\n",
	} {
		f := (&fakeTemporal{}).worker("1@h outpace senders=default")
		args := []string{"campaign", "start", "--id", "spring", "--to", adaURN, "--template", "Hi"}
		if flag != "" {
			args = append(args, "--contact-policy", flag)
		}
		code, stdout, stderr := sendStarter(t, f, args...)
		if code != exitOK || !strings.Contains(stdout, want) || len(f.started) != 1 {
			t.Errorf("--contact-policy %q: exit %d, want %q\n%s%s", flag, code, want, stdout, stderr)
			continue
		}
		in, ok := f.runs["spring"][0].input.(workflows.CampaignInput)
		if !ok || (flag == "") != (in.ContactPolicy == nil) {
			t.Errorf("--contact-policy %q: the input's contact_policy is %+v", flag, in.ContactPolicy)
		}
	}
}
