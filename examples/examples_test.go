// Package examples holds the files the documentation shows; this test keeps
// them valid and the pages that show them in step with them.
package examples_test

import (
	"os"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/campaignfile"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// TestDocsShowTheExamples: each example file is shown, as it is, on the
// page that explains it.
func TestDocsShowTheExamples(t *testing.T) {
	for _, c := range []struct{ file, page string }{
		{"spring-launch.yaml", "docs/sequences.md"},
		{"senders.yaml", "docs/pacer.md"},
	} {
		f, page := c.file, c.page
		doc, err := os.ReadFile("../" + page)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "```yaml\n"+string(b)+"```") {
			t.Errorf("%s does not show examples/%s as it is: copy the file into its yaml block", page, f)
		}
	}
}

func TestCampaignExampleIsValid(t *testing.T) {
	f, err := campaignfile.Load("spring-launch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var types []workflows.StepType
	for _, s := range f.Input.Steps {
		types = append(types, s.Type)
	}
	want := []workflows.StepType{workflows.StepConnect, workflows.StepWaitForConnection, workflows.StepMessage, workflows.StepWait, workflows.StepMessage}
	if len(types) != len(want) {
		t.Fatalf("steps %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("step %d is %s, want %s", i, types[i], want[i])
		}
	}
	if f.Input.Sender != "alice" || !strings.HasSuffix(f.Recipients, "examples/people.csv") {
		t.Errorf("sender %q, recipients %q", f.Input.Sender, f.Recipients)
	}
}

func TestSendersExamplesAreValid(t *testing.T) {
	t.Setenv("OUTX_API_KEY_ALICE", "key-alice")
	t.Setenv("OUTX_API_KEY_BOB", "key-bob")
	t.Setenv("OUTX_API_KEY", "sandbox-key")
	cfg, err := senders.Load("senders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if names := strings.Join(cfg.Names(), ","); names != "alice,bob" {
		t.Errorf("senders %s, want alice,bob", names)
	}
	if a, _ := cfg.Get("alice"); senders.Value(a.Limits.Connect.WeeklyCap) != 100 {
		t.Errorf("alice's weekly connection cap = %d, want 100", senders.Value(a.Limits.Connect.WeeklyCap))
	}
	demo, err := senders.Load("demo-senders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := demo.Get(senders.Default); !ok {
		t.Error("the demo's senders file has no default account")
	}
}
