package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/workflows"
)

// TestSetupScriptPreparesANamespace runs deploy/temporal/setup.sh, the script
// the temporal-setup service runs in the admin-tools image, against a real
// Temporal dev server with the pinned temporal CLI: it must create the
// namespace with the retention asked for and register every search
// attribute outpace's workflows set, so that a run carrying them starts; run
// again, it must succeed and apply a new retention.
func TestSetupScriptPreparesANamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs a Temporal dev server; skipped with -short")
	}
	dir := root(t)
	cli := os.Getenv("OUTPACE_TEMPORAL_CLI")
	if cli == "" {
		cli = filepath.Join(dir, ".tools", "bin", "temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the temporal CLI is not at %s: run `make test`, which builds the pinned version (or set OUTPACE_TEMPORAL_CLI)", cli)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli,
		LogLevel:     "error",
		ClientOptions: &client.Options{
			Namespace: "default",
		},
	})
	if err != nil {
		t.Fatalf("starting the dev server: %v", err)
	}
	defer dev.Stop()

	// The script calls `temporal`, as in the admin-tools image.
	pathDir := t.TempDir()
	if err := os.Symlink(cli, filepath.Join(pathDir, "temporal")); err != nil {
		t.Fatal(err)
	}
	const namespace = "outpace-compose"
	setup := func(retention string, extra ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(dir, "deploy", "temporal", "setup.sh"))
		cmd.Env = append([]string{
			"PATH=" + pathDir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + t.TempDir(),
			"TEMPORAL_ADDRESS=" + dev.FrontendHostPort(),
			"TEMPORAL_NAMESPACE=" + namespace,
			"NAMESPACE_RETENTION=" + retention,
			"SETUP_PAUSE=1",
		}, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := setup("45d"); err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	svc := dev.Client().WorkflowService()
	retention := func() time.Duration {
		t.Helper()
		ns, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
		if err != nil {
			t.Fatalf("namespace %s: %v", namespace, err)
		}
		return ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	}
	if got := retention(); got != 45*24*time.Hour {
		t.Errorf("retention %v, want 45d", got)
	}

	attrs := []temporal.SearchAttributeKeyKeyword{
		workflows.CampaignIDAttribute, workflows.RecipientURNAttribute, workflows.OutcomeAttribute,
	}
	list, err := dev.Client().OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		if got := list.GetCustomAttributes()[a.GetName()]; got != enums.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s in %s: %v, want Keyword", a.GetName(), namespace, got)
		}
	}

	// A run carrying every attribute starts in the namespace (no worker is
	// needed to start one).
	c, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	updates := make([]temporal.SearchAttributeUpdate, 0, len(attrs))
	for _, a := range attrs {
		updates = append(updates, a.ValueSet("compose-test"))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "compose-setup-check",
		TaskQueue:             "compose-setup-check",
		TypedSearchAttributes: temporal.NewSearchAttributes(updates...),
	}, workflows.SendMessage, workflows.SendMessageInput{})
	if err != nil {
		t.Fatalf("starting a run with outpace's search attributes in %s: %v", namespace, err)
	}
	_ = c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "setup check")

	// Again, as on every `docker compose up`: no error, the new retention.
	if out, err := setup("60d"); err != nil {
		t.Fatalf("setup.sh, second run: %v\n%s", err, out)
	}
	if got := retention(); got != 60*24*time.Hour {
		t.Errorf("retention after the second run %v, want 60d", got)
	}

	// A server that never answers: the script gives up, saying on what.
	out, err := setup("30d", "TEMPORAL_ADDRESS=127.0.0.1:1", "SETUP_ATTEMPTS=2")
	if err == nil || !strings.Contains(out, "cluster health at 127.0.0.1:1: still failing after 2 attempts") {
		t.Errorf("setup.sh against no server: err %v, output:\n%s", err, out)
	}
}
