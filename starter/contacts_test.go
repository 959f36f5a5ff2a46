package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/pgtest"
)

// contactsDBFile is a fresh SQLite contacts store's path, set as the
// starter's OUTPACE_CONTACTS_DB; the store is created (and migrated) by the
// first command that writes, or by seed.
func contactsDBFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contacts.db")
	t.Setenv(contacts.EnvDB, path)
	return path
}

// openStore opens the store at path, as the worker does, for a test to
// seed or read.
func openStore(t *testing.T, path string) contacts.Store {
	t.Helper()
	s, err := contacts.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// contact records an action as the worker's activities do: claimed, then
// finished.
func contact(t *testing.T, s contacts.Store, account, urn, campaign, outcome, taskID string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	wf := campaign + "/" + urn
	v, err := s.Claim(ctx, contacts.Claim{Account: account, RecipientURN: urn, Action: contacts.ActionMessage, CampaignID: campaign,
		WorkflowID: wf, RunID: "run-1", At: at})
	if err != nil || !v.OK {
		t.Fatalf("claim on %s for %s: %+v, %v", urn, campaign, v, err)
	}
	if err := s.Finish(ctx, contacts.Result{WorkflowID: wf, Action: contacts.ActionMessage, TaskID: taskID, Outcome: outcome, At: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

func listDNC(t *testing.T, s contacts.Store) []contacts.DNCEntry {
	t.Helper()
	var out []contacts.DNCEntry
	if err := s.ListDNC(context.Background(), func(e contacts.DNCEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestDNCAddListRemove(t *testing.T) {
	db := contactsDBFile(t)
	code, out, errOut := runStarter(t, "dnc", "add", "urn:li:person:ACoAAKen01", "https://www.linkedin.com/in/jane-doe-123/", "--reason", "asked not to be contacted")
	if code != 0 {
		t.Fatalf("dnc add: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "dnc add", out,
		"added    urn:li:person:ACoAAKen01\n",
		"added    profile jane-doe-123\n",
		"Do-not-contact list of sqlite:"+db+": 2 added, 0 already listed.\n")
	// A new store is said to be new: the worker must use the same.
	wantLines(t, "dnc add's warnings", errOut, "created a new contacts store at sqlite:"+db)

	code, out, errOut = runStarter(t, "dnc", "add", "jane-doe-123", "urn:li:person:ACoAAKen01", "urn:li:person:ACoAAKen01", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("dnc add again: exit %d\n%s%s", code, out, errOut)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var got dncAddOutput
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.Added {
			t.Errorf("line %d: %s (%v): want added false, already listed", i+1, line, err)
		}
	}

	code, out, _ = runStarter(t, "dnc", "list")
	if code != 0 {
		t.Fatalf("dnc list: exit %d", code)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "PERSON ") || !strings.Contains(lines[0], "ADDED (UTC)") || !strings.HasSuffix(lines[0], "REASON") {
		t.Errorf("dnc list header: %q", lines[0])
	}
	wantLines(t, "dnc list", out, "urn:li:person:ACoAAKen01  ", "jane-doe-123  ", "  asked not to be contacted\n",
		"2 on the do-not-contact list of sqlite:"+db+"\n")

	code, out, _ = runStarter(t, "dnc", "remove", "linkedin.com/in/jane-doe-123", "urn:li:person:nobody")
	if code != 0 {
		t.Fatalf("dnc remove: exit %d\n%s", code, out)
	}
	wantLines(t, "dnc remove", out, "removed  profile jane-doe-123\n", "absent   urn:li:person:nobody (not on the list under this name)\n", "1 removed, 1 not on it.")
	if got := listDNC(t, openStore(t, db)); len(got) != 1 || got[0].RecipientURN != "urn:li:person:ACoAAKen01" || got[0].Reason != "asked not to be contacted" {
		t.Errorf("the list after remove: %+v", got)
	}
}

// TestDNCBadArgumentsWriteNothing: every argument is checked before the
// store is touched; each bad one is named with its rule.
func TestDNCBadArgumentsWriteNothing(t *testing.T) {
	db := contactsDBFile(t)
	code, out, errOut := runStarter(t, "dnc", "add", "urn:li:person:ok1", "urn:li:person:bad urn", "https://example.com/in/x", "--reason", "x")
	if code != 2 || out != "" {
		t.Fatalf("dnc add with bad arguments: exit %d, stdout %q; want 2 and nothing", code, out)
	}
	wantLines(t, "dnc add's error", errOut,
		"2 bad arguments:",
		`PERSON "urn:li:person:bad urn": recipient_urn: must be a LinkedIn person URN urn:li:person:<id>`,
		`PERSON "https://example.com/in/x": profile_url: must be a linkedin.com/in/<slug> URL`,
		"nothing was added")
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a refused dnc add created the store (%v)", err)
	}

	for _, args := range [][]string{
		{"dnc", "remove", "not a slug"},
		{"contacts", "show", "urn:li:company:1"},
	} {
		code, _, errOut := runStarter(t, args...)
		if code != 2 || !strings.Contains(errOut, "PERSON ") {
			t.Errorf("%v: exit %d, %q; want 2 naming PERSON and the rule", args, code, errOut)
		}
	}
	if code, _, errOut := runStarter(t, "dnc", "add"); code != 2 || !strings.Contains(errOut, "PERSON: give one or more people") {
		t.Errorf("dnc add without people: exit %d, %q", code, errOut)
	}
}

func TestDNCImport(t *testing.T) {
	db := contactsDBFile(t)
	if code, _, errOut := runStarter(t, "dnc", "add", "urn:li:person:already1"); code != 0 {
		t.Fatal(errOut)
	}
	// A BOM, CRLF, a blank line, a duplicate in the file and one already
	// listed; the CSV's reason, else --reason.
	file := writeFile(t, "dnc.csv", "\ufeffperson,reason\r\n"+
		"urn:li:person:A1,left the company\r\n"+
		"https://www.linkedin.com/in/bob-b,\r\n"+
		"\r\n"+
		"urn:li:person:A1,again\r\n"+
		"urn:li:person:already1,\r\n")
	code, out, errOut := runStarter(t, "dnc", "import", file, "--reason", "from the CRM")
	if code != 0 {
		t.Fatalf("dnc import: exit %d\n%s%s", code, out, errOut)
	}
	wantLines(t, "dnc import", out,
		"Imported "+file+" into the do-not-contact list of sqlite:"+db+" in ",
		"  people read  4\n",
		"  added        2\n",
		"  duplicates   2 (already on the list, or listed twice in the file)\n")
	reasons := map[string]string{}
	for _, e := range listDNC(t, openStore(t, db)) {
		reasons[dncName(e)] = e.Reason
	}
	if reasons["urn:li:person:A1"] != "left the company" || reasons["bob-b"] != "from the CRM" || len(reasons) != 3 {
		t.Errorf("after the import: %v", reasons)
	}

	// Any bad line: every bad line named, nothing imported, exit 2.
	bad := writeFile(t, "bad.txt", "urn:li:person:new1\nnot a slug\nhttps://www.linkedin.com/company/acme\nurn:li:person:new2\n")
	code, out, errOut = runStarter(t, "dnc", "import", bad)
	if code != 2 || out != "" {
		t.Fatalf("dnc import of a bad file: exit %d, stdout %q", code, out)
	}
	wantLines(t, "dnc import's error", errOut, bad+": 2 bad lines, nothing imported:",
		"line 2: profile_slug: must be a public profile slug", "line 3: profile_url: must be a linkedin.com/in/<slug> URL")
	if n := len(listDNC(t, openStore(t, db))); n != 3 {
		t.Errorf("a bad file imported something: %d entries, want 3", n)
	}
	if code, _, errOut := runStarter(t, "dnc", "import", filepath.Join(t.TempDir(), "missing.csv")); code != 2 || !strings.Contains(errOut, "FILE: ") {
		t.Errorf("a missing file: exit %d, %q", code, errOut)
	}
}

// TestDNCExportImportsBack: what export writes, import reads, into another
// store, entry for entry.
func TestDNCExportImportsBack(t *testing.T) {
	db := contactsDBFile(t)
	if code, _, errOut := runStarter(t, "dnc", "add", "urn:li:person:A1", "bob-b", "--reason", "said no, twice"); code != 0 {
		t.Fatal(errOut)
	}
	export := filepath.Join(t.TempDir(), "dnc.csv")
	code, out, errOut := runStarter(t, "dnc", "export", export)
	if code != 0 || out != "" || !strings.Contains(errOut, "exported 2 entries of sqlite:"+db+" to "+export) {
		t.Fatalf("dnc export: exit %d\n%s%s", code, out, errOut)
	}
	b, _ := os.ReadFile(export)
	if !strings.HasPrefix(string(b), "recipient_urn,profile_slug,reason,added_at\n") || !strings.Contains(string(b), `urn:li:person:A1,,"said no, twice",`) {
		t.Errorf("the export:\n%s", b)
	}
	_, stdout, _ := runStarter(t, "dnc", "export")
	if stdout != string(b) {
		t.Errorf("export to standard output differs from the file:\n%s", stdout)
	}

	other := contactsDBFile(t)
	if code, out, errOut := runStarter(t, "dnc", "import", export); code != 0 || !strings.Contains(out, "added        2") {
		t.Fatalf("importing the export: exit %d\n%s%s", code, out, errOut)
	}
	got := listDNC(t, openStore(t, other))
	if len(got) != 2 || got[0].Reason != "said no, twice" || dncName(got[1]) != "bob-b" {
		t.Errorf("imported back: %+v", got)
	}
}

func TestContactsShow(t *testing.T) {
	db := contactsDBFile(t)
	s := openStore(t, db)
	at := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	contact(t, s, "default", "urn:li:person:ACoAAAda01", "spring-2026", "delivered", "task-1", at)
	contact(t, s, "sales-2", "urn:li:person:ACoAAAda01", "", "failed", "", at.Add(48*time.Hour))
	contact(t, s, "default", "urn:li:person:someone-else", "spring-2026", "delivered", "task-3", at)
	if err := s.AddDNC(context.Background(), contacts.DNCEntry{RecipientURN: "urn:li:person:ACoAAAda01", Reason: "replied: not interested", AddedAt: at.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runStarter(t, "contacts", "show", "urn:li:person:ACoAAAda01")
	if code != 0 {
		t.Fatalf("contacts show: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	want := []string{
		"urn:li:person:ACoAAAda01",
		"do-not-contact: yes, since 2026-11-05 09:30 UTC (replied: not interested): no message or connection request goes to them",
		"actions: 2",
		"",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("contacts show, line %d: want %q\n%s", i+1, w, out)
		}
	}
	header := strings.Fields(strings.ReplaceAll(strings.ReplaceAll(lines[4], "TASK ID", "TASK_ID"), "WORKFLOW ID", "WORKFLOW_ID"))
	if strings.Join(header, " ") != "TIME ACCOUNT ACTION CAMPAIGN STEP OUTCOME REASON TASK_ID WORKFLOW_ID" {
		t.Errorf("header %q", lines[4])
	}
	if got := strings.Fields(lines[5]); strings.Join(got, " ") != "2026-11-02 09:30:00 default message spring-2026 - delivered - task-1 spring-2026/urn:li:person:ACoAAAda01" {
		t.Errorf("first action: %q", lines[5])
	}
	if got := strings.Fields(lines[6]); strings.Join(got, " ") != "2026-11-04 09:30:00 sales-2 message - - failed - - /urn:li:person:ACoAAAda01" {
		t.Errorf("second action: %q", lines[6])
	}
	if strings.Contains(out, "someone-else") {
		t.Errorf("another person's action is listed:\n%s", out)
	}

	code, out, _ = runStarter(t, "contacts", "show", "urn:li:person:ACoAAAda01", "--json")
	if code != 0 {
		t.Fatalf("contacts show --json: exit %d", code)
	}
	jl := strings.Split(strings.TrimSpace(out), "\n")
	var head contactsPerson
	if len(jl) != 3 || json.Unmarshal([]byte(jl[0]), &head) != nil || head.Record != "person" || !head.DoNotContact ||
		head.DNCReason != "replied: not interested" || head.Actions != 2 {
		t.Fatalf("contacts show --json:\n%s", out)
	}
	var first contactsAction
	if err := json.Unmarshal([]byte(jl[1]), &first); err != nil || first.Record != "action" || first.CampaignID != "spring-2026" ||
		first.Outcome != "delivered" || first.TaskID != "task-1" || first.Account != "default" {
		t.Errorf("first action line: %s (%v)", jl[1], err)
	}

	// Someone outpace never contacted, named by profile.
	code, out, _ = runStarter(t, "contacts", "show", "https://www.linkedin.com/in/nobody-yet")
	if code != 0 || out != "profile nobody-yet\ndo-not-contact: no\nactions: none: outpace has taken no action with this person\n" {
		t.Errorf("contacts show of a stranger: exit %d\n%s", code, out)
	}
}

// TestContactsStoreMissing: a command that reads refuses a store file that
// does not exist instead of creating an empty one where the worker may not
// look, and names the setting.
func TestContactsStoreMissing(t *testing.T) {
	db := contactsDBFile(t)
	for _, args := range [][]string{{"contacts", "show", "urn:li:person:A1"}, {"dnc", "list"}, {"dnc", "export"}, {"dnc", "remove", "urn:li:person:A1"}} {
		code, out, errOut := runStarter(t, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "no contacts store at sqlite:"+db+": give the worker's, with --contacts-db or OUTPACE_CONTACTS_DB") {
			t.Errorf("%v without a store: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a read created the store (%v)", err)
	}
	// --contacts-db wins over the variable.
	other := filepath.Join(t.TempDir(), "other.db")
	openStore(t, other)
	if code, out, errOut := runStarter(t, "dnc", "list", "--contacts-db", other); code != 0 || !strings.Contains(out, "0 on the do-not-contact list of sqlite:"+other) {
		t.Errorf("dnc list --contacts-db: exit %d\n%s%s", code, out, errOut)
	}
}

// TestContactsHelp: the commands are listed, and their help names the
// store's setting.
func TestContactsHelp(t *testing.T) {
	_, out, _ := runStarter(t, "--help")
	wantLines(t, "starter --help", out, "  contacts ", "  dnc ")
	for _, args := range [][]string{{"dnc", "add", "--help"}, {"dnc", "import", "--help"}, {"contacts", "show", "--help"}, {"campaign", "preview", "--help"}} {
		code, out, _ := runStarter(t, args...)
		if code != 0 || !strings.Contains(out, "--contacts-db") || !strings.Contains(out, "(env OUTPACE_CONTACTS_DB)") {
			t.Errorf("%v: exit %d, no --contacts-db (env OUTPACE_CONTACTS_DB):\n%s", args, code, out)
		}
	}
}

// TestPeopleCommandsOnPostgreSQL: the same commands on a real PostgreSQL
// (a throwaway server), as the compose stack runs them: named by URL, its
// password never shown.
func TestPeopleCommandsOnPostgreSQL(t *testing.T) {
	pg := pgtest.New(t)
	dsn := pg.NewDatabase(t)
	t.Setenv(contacts.EnvDB, dsn)
	s := openStore(t, dsn)
	contact(t, s, "default", "urn:li:person:grace", "winter-2026", "delivered", "task-1", time.Now().UTC().Add(-time.Hour))

	if code, out, errOut := runStarter(t, "dnc", "add", "urn:li:person:ken", "--reason", "asked not to be contacted"); code != 0 ||
		!strings.Contains(out, "Do-not-contact list of "+dsn+": 1 added, 0 already listed.") || errOut != "" {
		t.Fatalf("dnc add: exit %d\n%s%s", code, out, errOut)
	}
	file := writeFile(t, "dnc.txt", "\ufeffurn:li:person:a1\r\nhttps://www.linkedin.com/in/bob-b\r\nurn:li:person:ken\r\n")
	if code, out, errOut := runStarter(t, "dnc", "import", file); code != 0 || !strings.Contains(out, "  added        2\n  duplicates   1 ") {
		t.Fatalf("dnc import: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runStarter(t, "dnc", "list"); code != 0 || !strings.Contains(out, "3 on the do-not-contact list of "+dsn) {
		t.Errorf("dnc list: exit %d\n%s", code, out)
	}
	code, out, _ := runStarter(t, "contacts", "show", "urn:li:person:grace")
	if code != 0 || !strings.Contains(out, "do-not-contact: no\nactions: 1\n") || !strings.Contains(out, "winter-2026") {
		t.Errorf("contacts show: exit %d\n%s", code, out)
	}
	csv := writeFile(t, "people.csv", "recipient_urn,first_name\nurn:li:person:grace,Grace\nurn:li:person:ken,Ken\nurn:li:person:new,New\n")
	code, out, _ = runStarter(t, "campaign", "preview", "--id", "spring", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != 0 || !strings.Contains(out, "excluded 1 (on the do-not-contact list)  skipped 1 (contacted by another campaign)") {
		t.Errorf("preview: exit %d\n%s", code, out)
	}

	// A password in the URL is never shown.
	bad := strings.Replace(dsn, fmt.Sprintf("postgres@127.0.0.1:%d/", pg.Port()), "postgres:s3cret-pw@127.0.0.1:1/", 1) // nothing listens there
	code, out, errOut := runStarter(t, "dnc", "list", "--contacts-db", bad)
	if code != 1 || strings.Contains(out+errOut, "s3cret-pw") || !strings.Contains(errOut, "the contacts store is unavailable") {
		t.Errorf("an unreachable store: exit %d\n%s%s", code, out, errOut)
	}
}
