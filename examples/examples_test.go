// Package examples holds the files README.md shows; this test keeps them
// valid and the README in step with them.
package examples_test

import (
	"os"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/campaignfile"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

func TestReadmeShowsTheExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"spring-launch.yaml", "senders.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```yaml\n"+string(b)+"```") {
			t.Errorf("README.md does not show examples/%s as it is: copy the file into its yaml block", f)
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
