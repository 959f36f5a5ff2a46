package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/workflows"
)

var exampleFile = filepath.Join("..", "campaignfile", "testdata", "example.yaml")

func TestFileGivesTheCampaignAndFlagsOverrideIt(t *testing.T) {
	t.Setenv(envSender, "env-sender")
	in, err := sourceInput(t, "--file", exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := filepath.Abs(filepath.Join("..", "campaignfile", "testdata", "people.csv"))
	// sourceInput passes id "spring" and a name, as --id and --name would.
	if in.CampaignID != "spring" || in.Name != "Spring outreach" || in.Sender != "alice" || len(in.Steps) != 5 || in.Template != "" {
		t.Errorf("input = %+v: want the file's steps and sender, the flags' id and name", in)
	}
	if in.RecipientsFile == nil || in.RecipientsFile.Path != csv {
		t.Errorf("recipients = %+v, want the file's %s", in.RecipientsFile, csv)
	}
	other := writeFile(t, "other.csv", goodCSV)
	in, err = sourceInput(t, "--file", exampleFile, "--csv", other, "--sender", "bob", "--max-gap", "10m", "--days", "mon-sun")
	if err != nil {
		t.Fatal(err)
	}
	if in.RecipientsFile.Path != other || in.Sender != "bob" || time.Duration(*in.Pacing.MaxGap) != 10*time.Minute ||
		time.Duration(*in.Pacing.MinGap) != 2*time.Minute || in.Window.Days != "mon-sun" || in.Window.Hours != "09:00-17:30" {
		t.Errorf("input = %+v: flags given must override the file, the rest stay the file's", in)
	}
}

func TestSenderFromEnvironmentOnlyWithoutFileOrFlag(t *testing.T) {
	t.Setenv(envSender, "carol")
	in, err := sourceInput(t, "--to", "urn:li:person:ada", "--template", "Hi")
	if err != nil || in.Sender != "carol" {
		t.Errorf("sender = %q, %v; want carol from %s", in.Sender, err, envSender)
	}
}

func TestFileFlagConflicts(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"file and template":      {[]string{"--file", exampleFile, "--template", "Hi"}, "--file, --template/--template-file/--variant: give one"},
		"file and template file": {[]string{"--file", exampleFile, "--template-file", "x.txt"}, "--file, --template/--template-file/--variant: give one"},
		"file without recipients": {[]string{"--file", writeFile(t, "c.yaml", "steps: [{message: Hi}]\n")},
			"--csv, --to or --recipients-json: one is required, or recipients: in the campaign file"},
		"file with problems": {[]string{"--file", writeFile(t, "c.yaml", "sendr: x\nsteps: [{message: Hi}]\n")}, "c.yaml:1: sendr: unknown key"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sourceInput(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want %q", err, c.want)
			}
		})
	}
}

func TestStartWithFileNeedsAnID(t *testing.T) {
	f := writeFile(t, "c.yaml", "recipients: "+writeFile(t, "p.csv", goodCSV)+"\nsteps: [{message: Hi}]\n")
	code, _, stderr := runStarter(t, "campaign", "start", "--file", f)
	if code != exitUsage || !strings.Contains(stderr, "--id: is required (it names the campaign and its workflow), or id: in the campaign file") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestPreviewFileRendersEveryStep(t *testing.T) {
	csv := writeFile(t, "people.csv", "recipient_urn,first_name,topic,company\nurn:li:person:ada,Ada,compilers,Engines\nurn:li:person:bob,Bob,,Babbage\n")
	code, stdout, stderr := runStarter(t, "campaign", "preview", "--file", exampleFile, "--csv", csv, "--limit", "2")
	if code != exitUsage { // Bob lacks the note's topic
		t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
	}
	for _, want := range []string{
		"sender: alice\n",
		"steps: connect → wait for connection (14d) → message → wait 3 sending days → message “follow-up”\n",
		"    1. connect:\n       Hi Ada, I saw your talk on compilers and would like to connect.\n",
		"    2. wait for connection (14d)\n",
		"    3. message:\n       Thanks for connecting, Ada!\n       We are launching something for teams like Engines: may I send you a short demo?\n",
		"    4. wait 3 sending days\n",
		"    5. message “follow-up”:\n       Ada, just checking",
		"line 3  urn:li:person:bob\n    (invalid: step 1 (note): template variable \"topic\" is missing or empty)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := runStarter(t, "campaign", "preview", "--file", exampleFile, "--show", "1", "--limit", "2"); code != exitUsage || !strings.Contains(stderr, "--show, --limit: give one") {
		t.Errorf("--show with --limit: exit %d, %s", code, stderr)
	}
}

func TestStepsOutline(t *testing.T) {
	steps := []workflows.Step{
		{Type: workflows.StepConnect},
		{Type: workflows.StepWaitForConnection, Timeout: workflows.Duration(7 * 24 * time.Hour)},
		{Type: workflows.StepMessage},
		{Type: workflows.StepWait, Duration: workflows.Duration(24 * time.Hour), SendingDaysOnly: true},
		{Type: workflows.StepWait, Duration: workflows.Duration(36 * time.Hour)},
		{Type: workflows.StepMessage, Name: "nudge"},
	}
	want := "connect (no note) → wait for connection (7d) → message → wait 1 sending day → wait 1d12h → message “nudge”"
	if got := stepsOutline(steps); got != want {
		t.Errorf("outline:\n got %s\nwant %s", got, want)
	}
}

func TestStopRecipientChecksBeforeSending(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no recipient":          {[]string{"--campaign", "spring"}, "--urn or --recipient-id: one is required"},
		"both recipients":       {[]string{"--campaign", "spring", "--urn", "urn:li:person:ada", "--recipient-id", "r-1"}, "--urn, --recipient-id: give one, not both"},
		"invalid URN":           {[]string{"--campaign", "spring", "--urn", "urn:li:company:42"}, "--urn: "},
		"no campaign":           {[]string{"--urn", "urn:li:person:ada"}, "--campaign: is required (or --everywhere with --sender)"},
		"everywhere, no sender": {[]string{"--everywhere", "--urn", "urn:li:person:ada"}, "--campaign or --sender: one is required with --everywhere"},
		"sender without everywhere": {[]string{"--campaign", "spring", "--urn", "urn:li:person:ada", "--sender", "alice"},
			"--sender: only with --everywhere"},
		"bad sender":                {[]string{"--everywhere", "--sender", "Alice", "--urn", "urn:li:person:ada"}, `--sender: "Alice" is not a sender name`},
		"recipient id, no campaign": {[]string{"--everywhere", "--sender", "alice", "--recipient-id", "r-1"}, "--recipient-id: needs --campaign"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runStarter(t, append([]string{"campaign", "stop-recipient"}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, "nothing was sent") || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, c.want)
			}
		})
	}
	// Valid flags go on to dial, which fails here (no server): exit 1, not 2.
	if code, _, stderr := runStarter(t, "campaign", "stop-recipient", "--campaign", "spring", "--urn", "urn:li:person:ada"); code != exitError {
		t.Errorf("valid flags: exit %d, want %d (dial fails); stderr: %s", code, exitError, stderr)
	}
}

func TestSequenceReportRow(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	memo := func(v any) *commonpb.Payload { p, _ := dc.ToPayload(v); return p }
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "spring/urn:li:person:ada"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{
			workflows.MemoRecipientURN: memo("urn:li:person:ada"),
			workflows.MemoOutcome:      memo("delivered"),
			workflows.MemoSteps: memo([]workflows.StepResult{
				{Step: 1, Type: workflows.StepConnect, Outcome: workflows.Delivered, At: at},
				{Step: 2, Type: workflows.StepWaitForConnection, Outcome: workflows.Delivered, At: at},
				{Step: 3, Type: workflows.StepMessage, Outcome: workflows.Delivered, At: at},
			}),
		}},
	}
	row := rowFromExecution(e, dc)
	row.StepsTotal = 5
	var out strings.Builder
	w := newReportWriter(&out, false, true, false)
	if err := w.write(row); err != nil {
		t.Fatal(err)
	}
	_ = w.flush()
	want := "line,recipient_urn,outcome,reason,step,steps,workflow_id,status\n" +
		",urn:li:person:ada,delivered,,3/5 message,\"1 connect delivered, 2 wait_for_connection delivered, 3 message delivered\",spring/urn:li:person:ada,Completed\n"
	if out.String() != want {
		t.Errorf("report:\n%s\nwant\n%s", out.String(), want)
	}
}

func TestSendNamesItsSender(t *testing.T) {
	parse := func(args ...string) (workflows.SendMessageInput, error) {
		fs := pflag.NewFlagSet("send", pflag.ContinueOnError)
		s := &sendFlags{common: &common{}, fs: fs, sendDeadline: time.Hour, pollDeadline: time.Hour}
		fs.StringVar(&s.to, "to", "", "")
		fs.StringVar(&s.message, "message", "", "")
		fs.StringVar(&s.sender, "sender", "", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return s.input()
	}
	t.Setenv(envSender, "")
	if in, err := parse("--to", "urn:li:person:ACoAAAda", "--message", "Hi", "--sender", "alice"); err != nil || in.Sender != "alice" {
		t.Errorf("sender = %q, %v; want alice", in.Sender, err)
	}
	t.Setenv(envSender, "bob")
	if in, err := parse("--to", "urn:li:person:ACoAAAda", "--message", "Hi"); err != nil || in.Sender != "bob" {
		t.Errorf("sender = %q, %v; want bob from %s", in.Sender, err, envSender)
	}
	if _, err := parse("--to", "urn:li:person:ACoAAAda", "--message", "Hi", "--sender", "Alice Smith"); err == nil || !strings.Contains(err.Error(), "--sender") {
		t.Errorf("a bad sender name: err = %v, want one naming --sender", err)
	}
}
