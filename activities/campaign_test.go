package activities_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/recipients"
)

func csvFile(t *testing.T, text string) (path, digest string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	digest, err := activities.FileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, digest
}

func retryable(err error) bool {
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable()
}

func TestInspectRecipients(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	path, digest := csvFile(t, "recipient_urn,first_name\nurn:li:person:A1,Ada\nurn:li:person:B2,\nnot-a-urn,Cy\n")

	v, err := e.ExecuteActivity(a.InspectRecipients, activities.InspectInput{
		File: &activities.RecipientsFile{Path: path, SHA256: digest}, Template: "Hi {{first_name}}"})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.InspectResult
	if err := v.Get(&res); err != nil || res != (activities.InspectResult{Rows: 3, Invalid: 2}) {
		t.Fatalf("result = %+v, %v; want 3 rows, 2 invalid", res, err)
	}

	for name, tc := range map[string]struct {
		in       activities.InspectInput
		typ      string
		contains string
	}{
		"changed file": {activities.InspectInput{File: &activities.RecipientsFile{Path: path, SHA256: strings.Repeat("a", 64)}, Template: "Hi"},
			activities.ErrRecipientsChanged, "changed since the campaign was checked"},
		"bad template": {activities.InspectInput{File: &activities.RecipientsFile{Path: path}, Template: "Hi {{"},
			activities.ErrCampaignInput, "template"},
		"no URN column": {activities.InspectInput{File: &activities.RecipientsFile{Path: mustCSV(t, "name\nAda\n")}, Template: "Hi"},
			activities.ErrCampaignInput, "recipient_urn"},
	} {
		_, err := e.ExecuteActivity(a.InspectRecipients, tc.in)
		if errorType(err) != tc.typ || retryable(err) || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: err = %v, want non-retryable %s mentioning %q", name, err, tc.typ, tc.contains)
		}
	}
	// A file not there (yet) is worth retrying: a shared volume may mount late.
	_, err = e.ExecuteActivity(a.InspectRecipients, activities.InspectInput{File: &activities.RecipientsFile{Path: "/nonexistent/r.csv"}, Template: "Hi"})
	if err == nil || !retryable(err) {
		t.Errorf("missing file: err = %v, want a retryable error", err)
	}
}

func mustCSV(t *testing.T, text string) string {
	path, _ := csvFile(t, text)
	return path
}

func TestLoadRecipientsPages(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	path, digest := csvFile(t, "recipient_urn,first_name\nurn:li:person:A1,Ada\nurn:li:person:B2,Bo\n\"urn:li:person:C3\",\"Cy\nwith a newline\"\nurn:li:person:D4,Di\n")
	file := &activities.RecipientsFile{Path: path, SHA256: digest}
	var got []recipients.Prepared
	cur := recipients.Cursor{}
	for pages := 0; ; pages++ {
		v, err := e.ExecuteActivity(a.LoadRecipients, activities.LoadInput{File: file, Template: "Hi {{first_name}}", Cursor: cur, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		var page recipients.Page
		if err := v.Get(&page); err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Recipients...)
		cur = page.Next
		if page.Done || pages > 5 {
			break
		}
	}
	if len(got) != 4 || got[2].Line != 4 || got[3].Line != 6 || got[2].Message != "Hi Cy\nwith a newline" || got[3].RecipientURN != "urn:li:person:D4" {
		t.Fatalf("pages read %+v", got)
	}

	// A file cut short under a running campaign is refused, not misread.
	if err := os.WriteFile(path, []byte("recipient_urn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := e.ExecuteActivity(a.LoadRecipients, activities.LoadInput{File: file, Template: "Hi", Cursor: cur, Limit: 2})
	if errorType(err) != activities.ErrRecipientsChanged {
		t.Fatalf("err = %v, want RecipientsChanged", err)
	}
}

func TestLoadRecipientsInline(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	v, err := e.ExecuteActivity(a.LoadRecipients, activities.LoadInput{
		Inline: []recipients.Recipient{
			{RecipientURN: "urn:li:person:A1", Vars: map[string]string{"first_name": "Ada"}},
			{RecipientURN: "urn:li:person:B2"},
		},
		First: 10, Template: "Hi {{first_name}}", Limit: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	var page recipients.Page
	if err := v.Get(&page); err != nil {
		t.Fatal(err)
	}
	r := page.Recipients
	if len(r) != 2 || r[0].Line != 11 || r[0].Message != "Hi Ada" || r[1].Line != 12 || r[1].Message != "" || len(r[1].Problems) != 1 {
		t.Fatalf("page = %+v; want recipients 11 and 12, the second invalid", r)
	}
}

// sequenceParts are the texts of a four-step sequence: a connection request
// with a note, a wait, and two messages, the last using title alone.
var sequenceParts = []recipients.Part{
	{Kind: recipients.PartNote, Text: "Hi {{first_name}}"},
	{},
	{Kind: recipients.PartMessage, Text: "Thanks, {{first_name}}!"},
	{Kind: recipients.PartMessage, Text: "How is being {{title}}?"},
}

// TestInspectRecipientsWithParts: the steps' texts, not the template, are
// checked for every row, and a bad step fails the campaign at its start.
func TestInspectRecipientsWithParts(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	path, digest := csvFile(t, "recipient_urn,first_name,title\nurn:li:person:A1,Ada,CTO\nurn:li:person:B2,Bo,\nurn:li:person:C3,Cy,CEO\n")
	file := &activities.RecipientsFile{Path: path, SHA256: digest}

	v, err := e.ExecuteActivity(a.InspectRecipients, activities.InspectInput{File: file, Template: "unused {{", Parts: sequenceParts})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.InspectResult
	if err := v.Get(&res); err != nil || res != (activities.InspectResult{Rows: 3, Invalid: 1}) {
		t.Fatalf("result = %+v, %v; want 3 rows, 1 invalid (no title for step 4)", res, err)
	}

	bad := append(slices.Clone(sequenceParts), recipients.Part{Kind: recipients.PartMessage, Text: "{{first_name"})
	_, err = e.ExecuteActivity(a.InspectRecipients, activities.InspectInput{File: file, Parts: bad})
	if errorType(err) != activities.ErrCampaignInput || retryable(err) || !strings.Contains(err.Error(), "steps[4].template: ") {
		t.Errorf("err = %v, want non-retryable %s naming steps[4]", err, activities.ErrCampaignInput)
	}
}

func TestLoadRecipientsWithParts(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	load := func(in activities.LoadInput) []recipients.Prepared {
		t.Helper()
		v, err := e.ExecuteActivity(a.LoadRecipients, in)
		if err != nil {
			t.Fatal(err)
		}
		var page recipients.Page
		if err := v.Get(&page); err != nil {
			t.Fatal(err)
		}
		return page.Recipients
	}
	want := [][]string{{"Hi Ada", "", "Thanks, Ada!", "How is being CTO?"}, nil}

	path, digest := csvFile(t, "recipient_urn,first_name,title\nurn:li:person:A1,Ada,CTO\nurn:li:person:B2,Bo,\n")
	rs := load(activities.LoadInput{File: &activities.RecipientsFile{Path: path, SHA256: digest}, Parts: sequenceParts, Limit: 10})
	if len(rs) != 2 || !reflect.DeepEqual([][]string{rs[0].Texts, rs[1].Texts}, want) || rs[0].Message != "" || len(rs[1].Problems) != 1 {
		t.Fatalf("file page = %+v; want step texts for line 2, line 3 invalid", rs)
	}

	rs = load(activities.LoadInput{Inline: []recipients.Recipient{
		{RecipientURN: "urn:li:person:A1", Vars: map[string]string{"first_name": "Ada", "title": "CTO"}},
		{RecipientURN: "urn:li:person:B2", Vars: map[string]string{"first_name": "Bo"}},
	}, First: 4, Parts: sequenceParts, Limit: 10})
	if len(rs) != 2 || rs[0].Line != 5 || !reflect.DeepEqual([][]string{rs[0].Texts, rs[1].Texts}, want) ||
		!slices.Equal(rs[1].Problems, []string{`step 4 (message): template variable "title" is missing or empty`}) {
		t.Fatalf("inline page = %+v; want step texts for recipient 5, recipient 6 invalid", rs)
	}
}

// TestLookupProfileResumesItsTask: an attempt that ends before the look-up
// task is final hands its task id to the next attempt, which polls that task
// instead of creating another.
func TestLookupProfileResumesItsTask(t *testing.T) {
	// The task takes 10 times an attempt's polling, so that a loaded
	// machine cannot finish it within the first attempt.
	sb := outxtest.NewServer(outxtest.Options{TaskDelay: time.Second})
	defer sb.Close()
	e := env(t, sb.URL) // each attempt polls for 100ms
	var a *activities.Activities
	in := activities.LookupInput{ProfileSlug: "ACoAAGrace"}
	_, err := e.ExecuteActivity(a.LookupProfile, in)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTaskPending || app.NonRetryable() {
		t.Fatalf("first attempt: %v, want a retryable TaskPending", err)
	}
	var progress struct {
		TaskID string `json:"task_id"`
	}
	if err := app.Details(&progress); err != nil || progress.TaskID == "" {
		t.Fatalf("TaskPending carries no task id: %v", err)
	}
	time.Sleep(time.Second)
	e.SetHeartbeatDetails(progress)
	v, err := e.ExecuteActivity(a.LookupProfile, in)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.LookupResult
	if err := v.Get(&res); err != nil || res.RecipientURN != "urn:li:person:ACoAAGrace" || res.TaskID != progress.TaskID {
		t.Fatalf("result = %+v, %v", res, err)
	}
	lookups := 0
	for _, r := range sb.Requests() {
		if r.Path == outx.PathFetchProfile {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("%d fetch-profile requests, want 1", lookups)
	}
}

func TestLookupProfileErrors(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	sb.SetExtensionOffline(true)
	_, err := e.ExecuteActivity(a.LookupProfile, activities.LookupInput{ProfileSlug: "ACoAAGrace"})
	if errorType(err) != activities.ErrExtensionOffline || retryable(err) {
		t.Errorf("extension offline: %v", err)
	}
	sb.SetExtensionOffline(false)
	_, err = e.ExecuteActivity(a.LookupProfile, activities.LookupInput{ProfileSlug: ""})
	if errorType(err) != activities.ErrInvalidInput {
		t.Errorf("empty slug: %v", err)
	}
}

// TestLoadRecipientsDrawsPerCampaign: a page's variants and spintax choices
// are drawn from the campaign id and each recipient, so the same page read
// again (after a crash, or by the campaign started again) is the same, in
// a file as inline.
func TestLoadRecipientsDrawsPerCampaign(t *testing.T) {
	e := env(t, "http://127.0.0.1:1")
	var a *activities.Activities
	var csv strings.Builder
	csv.WriteString("recipient_urn,first_name\n")
	for i := range 40 {
		fmt.Fprintf(&csv, "urn:li:person:P%02d,Ada\n", i)
	}
	path, digest := csvFile(t, csv.String())
	variants := []recipients.Variant{{Name: "A", Text: "{Hi|Hey} {{first_name}}"}, {Name: "B", Text: "Hello {{first_name}}", Weight: 3}}
	load := func(campaign string) []recipients.Prepared {
		t.Helper()
		v, err := e.ExecuteActivity(a.LoadRecipients, activities.LoadInput{CampaignID: campaign,
			File: &activities.RecipientsFile{Path: path, SHA256: digest}, Variants: variants, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var page recipients.Page
		if err := v.Get(&page); err != nil {
			t.Fatal(err)
		}
		return page.Recipients
	}
	first, again, other := load("spring"), load("spring"), load("autumn")
	differ := 0
	for i, p := range first {
		want := []string{"A", "B"}[recipients.ChooseVariant(recipients.Draw{Campaign: "spring", Recipient: p.RecipientURN, Step: 1}, []int{1, 3})]
		if p.Variant != want || (p.Variant == "B") != (p.Message == "Hello Ada") || !reflect.DeepEqual(p, again[i]) {
			t.Fatalf("line %d: %+v (again %+v), want variant %s", p.Line, p, again[i], want)
		}
		if p.Message != other[i].Message {
			differ++
		}
	}
	if differ == 0 {
		t.Error("another campaign id drew the same text for all 40 recipients")
	}
}
