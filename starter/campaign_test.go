package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/workflows"
)

// runStarter runs the starter as main would, with nothing to dial: none of
// these tests may reach Temporal.
func runStarter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // a test that dials fails at once
	var out, errOut strings.Builder
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sourceInput parses start's and preview's shared flags and builds the input.
func sourceInput(t *testing.T, args ...string) (workflows.CampaignInput, error) {
	t.Helper()
	var src campaignSource
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	src.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return src.input("spring", "Spring outreach")
}

const goodCSV = "recipient_urn,first_name\nurn:li:person:ada,Ada\nurn:li:person:bob,Bob\n"

func TestCampaignInputFromCSVAndTemplateFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "people.csv"), []byte(goodCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := writeFile(t, "message.txt", "Hi {{first_name}},\nthanks!\n\n")
	t.Chdir(dir)

	in, err := sourceInput(t, "--csv", "people.csv", "--template-file", tmpl, "--anytime", "--hourly-cap", "0", "--min-gap", "90s")
	if err != nil {
		t.Fatal(err)
	}
	if in.CampaignID != "spring" || in.Name != "Spring outreach" {
		t.Errorf("id, name = %q, %q", in.CampaignID, in.Name)
	}
	want := filepath.Join(dir, "people.csv")
	if in.RecipientsFile == nil || in.RecipientsFile.Path != want {
		t.Fatalf("recipients file = %+v, want the absolute path %s", in.RecipientsFile, want)
	}
	if in.Template != "Hi {{first_name}},\nthanks!" {
		t.Errorf("template = %q: the file's trailing newlines must be trimmed, inner ones kept", in.Template)
	}
	if in.Window != (workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"}) {
		t.Errorf("window = %+v, want --anytime's days and hours and the default time zone", in.Window)
	}
	if in.Pacing.HourlyCap == nil || *in.Pacing.HourlyCap != 0 {
		t.Errorf("hourly cap = %v, want an explicit 0 (no cap)", in.Pacing.HourlyCap)
	}
	if in.Pacing.MinGap == nil || time.Duration(*in.Pacing.MinGap) != 90*time.Second {
		t.Errorf("min gap = %v, want 90s", in.Pacing.MinGap)
	}
	if in.Pacing.DailyCap != nil || in.Pacing.MaxGap != nil {
		t.Errorf("pacing = %+v: flags not given must stay unset, so the workflow's defaults apply", in.Pacing)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	sum, err := checkRecipients(&in, 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := activities.FileDigest(want)
	if in.RecipientsFile.SHA256 != digest || sum.Rows != 2 || sum.Invalid != 0 {
		t.Errorf("after the check: sha256 %q (want %q), rows %d, invalid %d", in.RecipientsFile.SHA256, digest, sum.Rows, sum.Invalid)
	}
	if len(sum.Preview) != 1 || sum.Preview[0].Message != "Hi Ada,\nthanks!" {
		t.Errorf("preview = %+v", sum.Preview)
	}
}

func TestCampaignInputDefaultsStayTheWorkflows(t *testing.T) {
	in, err := sourceInput(t, "--to", "urn:li:person:ada", "--to", "urn:li:person:bob", "--template", "Hello!")
	if err != nil {
		t.Fatal(err)
	}
	if in.Pacing != (workflows.Pacing{}) || in.Window != (workflows.SendingWindow{}) || in.SendDeadline != 0 || in.PollDeadline != 0 || in.PageSize != 0 {
		t.Errorf("input = %+v: with no pacing flag given, nothing must be set", in)
	}
	if len(in.Recipients) != 2 || in.Recipients[1].RecipientURN != "urn:li:person:bob" || in.RecipientsFile != nil {
		t.Errorf("recipients = %+v, want the two --to URNs inline", in.Recipients)
	}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCampaignInputFlagsGiven(t *testing.T) {
	in, err := sourceInput(t, "--to", "urn:li:person:ada", "--template", "Hello!",
		"--max-gap", "5m", "--daily-cap", "25", "--time-zone", "Europe/Berlin", "--days", "mon,wed", "--hours", "10:00-12:00",
		"--send-deadline", "2h", "--poll-deadline", "3h", "--page-size", "50")
	if err != nil {
		t.Fatal(err)
	}
	if *in.Pacing.MaxGap != workflows.Duration(5*time.Minute) || *in.Pacing.DailyCap != 25 || in.Pacing.HourlyCap != nil {
		t.Errorf("pacing = %+v", in.Pacing)
	}
	if in.Window != (workflows.SendingWindow{TimeZone: "Europe/Berlin", Days: "mon,wed", Hours: "10:00-12:00"}) {
		t.Errorf("window = %+v", in.Window)
	}
	if in.SendDeadline != workflows.Duration(2*time.Hour) || in.PollDeadline != workflows.Duration(3*time.Hour) || in.PageSize != 50 {
		t.Errorf("deadlines, page size = %v %v %d", in.SendDeadline, in.PollDeadline, in.PageSize)
	}
}

func TestCampaignInputFromRecipientsJSON(t *testing.T) {
	path := writeFile(t, "r.json", `[{"recipient_urn": "urn:li:person:ada", "vars": {"first_name": "Ada"}}, {"profile_slug": "bob-b"}]`)
	in, err := sourceInput(t, "--recipients-json", path, "--template", "Hi {{first_name}}")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Recipients) != 2 || in.Recipients[0].Vars["first_name"] != "Ada" || in.Recipients[1].ProfileSlug != "bob-b" {
		t.Errorf("recipients = %+v", in.Recipients)
	}

	misplaced := writeFile(t, "bad.json", `[{"recipient_urn": "urn:li:person:ada", "first_name": "Ada"}]`)
	if _, err := sourceInput(t, "--recipients-json", misplaced, "--template", "Hi"); err == nil || !strings.Contains(err.Error(), `unknown field "first_name"`) {
		t.Errorf("err = %v, want the misplaced variable named", err)
	}
}

func TestCampaignInputTemplateFromStdin(t *testing.T) {
	old := campaignStdin
	t.Cleanup(func() { campaignStdin = old })
	campaignStdin = strings.NewReader("Hi from stdin\r\n")
	in, err := sourceInput(t, "--to", "urn:li:person:ada", "--template-file", "-")
	if err != nil || in.Template != "Hi from stdin" {
		t.Fatalf("template = %q, %v", in.Template, err)
	}
}

func TestCampaignInputFlagErrors(t *testing.T) {
	csv := writeFile(t, "r.csv", goodCSV)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--template", "Hi"}, []string{"--csv, --to or --recipients-json: one is required"}},
		{[]string{"--csv", csv, "--to", "urn:li:person:a", "--template", "Hi"}, []string{"give one of them"}},
		{[]string{"--to", "urn:li:person:a"}, []string{"--template, --template-file or --variant: one is required"}},
		{[]string{"--to", "urn:li:person:a", "--template", "Hi", "--template-file", csv}, []string{"not both"}},
		{[]string{"--to", "urn:li:person:a", "--template", "Hi", "--anytime", "--days", "mon"}, []string{"--anytime"}},
		{[]string{"--csv", csv, "--template-file", "/nonexistent/t.txt", "--poll-deadline", "0s"}, []string{"--template-file", "--poll-deadline: must be positive"}},
	} {
		_, err := sourceInput(t, tc.args...)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: err = %v, want it to say %q", tc.args, err, w)
			}
		}
	}
}

func TestPreviewNamesLineAndRule(t *testing.T) {
	csv := writeFile(t, "r.csv", "recipient_urn,first_name\nurn:li:person:ada,Ada\nhttps://linkedin.com/in/bob,Bob\nurn:li:person:cy,\n")
	code, out, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}!")
	if code != exitUsage {
		t.Errorf("exit %d, want %d when a row is invalid", code, exitUsage)
	}
	for _, want := range []string{
		"rows 3  valid 1  invalid 2",
		"line 3: recipient_urn: ",
		`line 4: template variable "first_name" is missing or empty`,
		"line 2  urn:li:person:ada\n    Hi Ada!",
		"window: Mon–Fri 09:00–18:00 UTC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errOut)
		}
	}
}

func TestPreviewAllValid(t *testing.T) {
	csv := writeFile(t, "r.csv", goodCSV)
	code, out, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}!", "--show", "1", "--anytime")
	if code != exitOK || !strings.Contains(out, "rows 2  valid 2  invalid 0") || !strings.Contains(out, "Hi Ada!") || strings.Contains(out, "Hi Bob!") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "window: every day, all day UTC") {
		t.Errorf("window not shown as --anytime's:\n%s", out)
	}
}

func TestPreviewJSON(t *testing.T) {
	csv := writeFile(t, "r.csv", "recipient_urn,first_name\nurn:li:person:ada,Ada\nbad,Bob\n")
	code, out, _ := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}", "--json")
	var got previewOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if code != exitUsage || got.Rows != 2 || got.Valid != 1 || got.Invalid != 1 || len(got.Problems) != 1 || !strings.HasPrefix(got.Problems[0], "line 3: ") || got.SHA256 == "" {
		t.Errorf("exit %d, %+v", code, got)
	}
}

func TestPreviewInlineWithoutVariables(t *testing.T) {
	code, out, _ := runStarter(t, "campaign", "preview", "--to", "urn:li:person:ada", "--template", "Hi {{first_name}}")
	if code != exitUsage || !strings.Contains(out, `recipient 1: template variable "first_name" is missing`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	code, out, _ = runStarter(t, "campaign", "preview", "--to", "urn:li:person:ada", "--template", "Hi there")
	if code != exitOK || !strings.Contains(out, "recipient 1  urn:li:person:ada\n    Hi there") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestPreviewBrokenQuotingNamesTheLine(t *testing.T) {
	csv := writeFile(t, "r.csv", "recipient_urn,first_name\nurn:li:person:ada,Ada\nurn:li:person:bob,\"Bob \"the\" Builder\"\n")
	code, out, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != exitUsage || !strings.Contains(errOut, "line 3: ") || !strings.Contains(errOut, `'"'`) {
		t.Errorf("exit %d, stderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
}

func TestPreviewMissingURNColumn(t *testing.T) {
	csv := writeFile(t, "r.csv", "urn,first_name\nurn:li:person:ada,Ada\n")
	code, _, errOut := runStarter(t, "campaign", "preview", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != exitUsage || !strings.Contains(errOut, "line 1: the header must have a recipient_urn") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestStartRefusesInvalidRowsBeforeConnecting(t *testing.T) {
	csv := writeFile(t, "r.csv", "recipient_urn,first_name\nurn:li:person:ada,Ada\nurn:li:person:bob,\n")
	code, out, errOut := runStarter(t, "campaign", "start", "--id", "c1", "--csv", csv, "--template", "Hi {{first_name}}")
	if code != exitUsage || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{"1 of 2 recipients are invalid, nothing was started", "--allow-invalid", `line 3: template variable "first_name"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestStartBadInput(t *testing.T) {
	csv := writeFile(t, "r.csv", goodCSV)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--csv", csv, "--template", "Hi"}, "--id: is required"},
		{[]string{"--id", "c", "--csv", csv, "--template", "Hi", "--days", "someday"}, "window.days"},
		{[]string{"--id", "c", "--csv", csv, "--template", "Hi {{first_name"}, "template"},
		{[]string{"--id", "c", "--csv", csv, "--template", "Hi", "--min-gap", "5m", "--max-gap", "1m"}, "pacing.max_gap"},
		{[]string{"--id", "c", "--csv", filepath.Join(t.TempDir(), "missing.csv"), "--template", "Hi"}, "missing.csv"},
		{[]string{"--id", "c", "--csv", writeFile(t, "empty.csv", "recipient_urn\n"), "--template", "Hi"}, "no recipients"},
	} {
		code, _, errOut := runStarter(t, append([]string{"campaign", "start"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestCampaignHelp(t *testing.T) {
	code, out, _ := runStarter(t, "--help")
	if code != exitOK || !strings.Contains(out, "  campaign ") {
		t.Errorf("starter --help: exit %d, lacks campaign:\n%s", code, out)
	}
	for _, args := range [][]string{{"campaign", "--help"}, {"campaign", "help"}, {"help", "campaign"}} {
		code, out, _ = runStarter(t, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, sub := range []string{"start", "preview", "status", "watch", "pause", "resume", "cancel", "report"} {
			if !strings.Contains(out, "\n  "+sub+" ") {
				t.Errorf("%v does not list %s:\n%s", args, sub, out)
			}
		}
	}
	flags := map[string][]string{
		"start":   {"--id", "--name", "--csv", "--to", "--recipients-json", "--template", "--template-file", "--min-gap", "--max-gap", "--hourly-cap", "--daily-cap", "--time-zone", "--days", "--hours", "--anytime", "--send-deadline", "--poll-deadline", "--allow-invalid", "--watch", "--json", "--address"},
		"preview": {"--csv", "--to", "--template", "--anytime", "--show", "--json"},
		"status":  {"--id", "--json"},
		"watch":   {"--id", "--interval", "--json"},
		"pause":   {"--id", "--reason"},
		"resume":  {"--id"},
		"cancel":  {"--id"},
		"report":  {"--id", "--output", "--json"},
	}
	for sub, want := range flags {
		code, out, _ := runStarter(t, "campaign", sub, "--help")
		if code != exitOK || !strings.Contains(out, "starter campaign "+sub) || !strings.Contains(out, "Flags:") {
			t.Errorf("campaign %s --help: exit %d:\n%s", sub, code, out)
		}
		for _, f := range want {
			if !strings.Contains(out, f+" ") && !strings.Contains(out, f+"[") {
				t.Errorf("campaign %s --help lacks %s", sub, f)
			}
		}
		if strings.Contains(out, "--page-size") {
			t.Errorf("campaign %s --help shows the hidden --page-size", sub)
		}
	}
	code, _, _ = runStarter(t, "campaign", "help", "start")
	if code != exitOK {
		t.Errorf("campaign help start: exit %d", code)
	}
}

func TestCampaignUnknownSubcommand(t *testing.T) {
	code, _, errOut := runStarter(t, "campaign", "launch")
	if code != exitUsage || !strings.Contains(errOut, `starter campaign: unknown subcommand "launch"`) || !strings.Contains(errOut, "Subcommands:") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if code, _, _ := runStarter(t, "campaign"); code != exitUsage {
		t.Errorf("campaign alone: exit %d, want %d", code, exitUsage)
	}
	if code, _, errOut := runStarter(t, "campaign", "status", "--bogus"); code != exitUsage || !strings.Contains(errOut, "starter campaign status: unknown flag") {
		t.Errorf("unknown flag: exit %d, %s", code, errOut)
	}
}

func TestControlCommandsNeedAnID(t *testing.T) {
	for _, sub := range []string{"status", "watch", "pause", "resume", "cancel", "report"} {
		code, _, errOut := runStarter(t, "campaign", sub)
		if code != exitUsage || !strings.Contains(errOut, "--id: is required") {
			t.Errorf("campaign %s: exit %d, stderr %q", sub, code, errOut)
		}
	}
}

// TestMisspelledVariableNamesTheColumn: a template variable that no column
// fills is told once, naming the nearest column and listing the columns,
// by preview and by start, before anything is sent.
func TestMisspelledVariableNamesTheColumn(t *testing.T) {
	csv := writeFile(t, "r.csv", "first_name,company,recipient_urn\nAda,Acme,urn:li:person:ada\nBo,Bee,urn:li:person:bo\n")
	want := `r.csv: template variable "frist_name" is not a column; did you mean "first_name"? (columns: first_name, company, recipient_urn)`
	for _, args := range [][]string{{"preview"}, {"start", "--id", "c1"}} {
		sub := args[0]
		code, out, errOut := runStarter(t, append([]string{"campaign"}, append(args, "--csv", csv, "--template", "Hi {{frist_name}} at {{company}}")...)...)
		if code != exitUsage || !strings.Contains(errOut, want) || strings.Count(errOut, "frist_name") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and, once, %s", sub, code, out, errOut, want)
		}
	}
	// A campaign file's steps: told where each step uses it, at the file's
	// line, and inline recipients' vars.
	file := writeFile(t, "c.yaml", "recipients: "+csv+"\nsteps:\n  - connect: {note: \"Hi {{first_name}}\"}\n  - message: \"About {{compnay}}?\"\n"+
		"  - wait: 1d\n  - message: |\n      Hi {{first_name}},\n      {{compnay}} again\n")
	wantFile := file + `:4: steps[1].message: column 7: template variable "compnay" is not a column; did you mean "company"? (columns of ` + csv + `: first_name, company, recipient_urn)` + "\n" +
		"  " + file + `:8: steps[3].message: column 1: template variable "compnay" is not a column; did you mean "company"? (columns of ` + csv + `: first_name, company, recipient_urn)` + "\n"
	if code, _, errOut := runStarter(t, "campaign", "preview", "--file", file); code != exitUsage || !strings.HasSuffix(errOut, ":\n  "+wantFile) {
		t.Errorf("campaign file: exit %d, stderr:\n%s\nwant it to end with\n  %s", code, errOut, wantFile)
	}
	rjFile := writeFile(t, "r.json", `[{"recipient_urn": "urn:li:person:ada", "vars": {"first_name": "Ada", "company": "Acme"}}]`)
	if code, _, errOut := runStarter(t, "campaign", "preview", "--file", file, "--recipients-json", rjFile); code != exitUsage ||
		!strings.Contains(errOut, file+`:4: steps[1].message: column 7: template variable "compnay" is not in any recipient's vars; did you mean "company"? (vars: company, first_name)`) {
		t.Errorf("campaign file, inline recipients: exit %d, stderr:\n%s", code, errOut)
	}
	rj := writeFile(t, "r.json", `[{"recipient_urn": "urn:li:person:ada", "vars": {"first_name": "Ada"}}]`)
	if code, _, errOut := runStarter(t, "campaign", "preview", "--recipients-json", rj, "--template", "Hi {{firstname}}"); code != exitUsage ||
		!strings.Contains(errOut, `template variable "firstname" is not in any recipient's vars; did you mean "first_name"? (vars: first_name)`) {
		t.Errorf("inline: exit %d, stderr:\n%s", code, errOut)
	}
}
