package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/repo"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// chromium finds the browser the UI test drives: OUTPACE_CHROMIUM, or
// Debian's chromium, which `make test` installs. Its absence fails the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OUTPACE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium for the UI test: `make test` installs Debian's chromium package (apt-get install chromium), or set OUTPACE_CHROMIUM")
	return ""
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	// Chromium's start now and then fails on a loaded machine before it
	// serves DevTools (seen once in CI among many runs); a fresh profile and
	// process is tried up to three times, and each failure is logged.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.WindowSize(1600, 1300),
			chromedp.UserDataDir(t.TempDir()),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(func() { cancel(); cancelAlloc() })
			return &browser{t: t, ctx: ctx}
		}
		cancel()
		cancelAlloc()
		t.Logf("starting Chromium, attempt %d: %v", attempt, err)
		time.Sleep(time.Second)
	}
	t.Fatalf("starting Chromium: %v", err)
	return nil
}

// open loads a page and waits until its visible text holds every wanted
// string, which the UI renders only after its API calls (and the codec
// server's answers) came back. It returns the page's text.
func (b *browser) open(page string, want ...string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		b.t.Fatalf("opening %s: %v", page, err)
	}
	return b.waitText(ctx, page, want...)
}

// pageText is what a person reads on the page, including the UI's rendered
// markdown (summaries and details), which it shows in same-origin iframes.
const pageText = `(document.body ? document.body.innerText : "") + "\n" +
	Array.from(document.querySelectorAll("iframe")).map(f => {
		try { return f.contentDocument.body.innerText } catch (e) { return "" }
	}).join("\n")`

func (b *browser) waitText(ctx context.Context, page string, want ...string) string {
	b.t.Helper()
	for {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageText))
		if err != nil {
			b.t.Fatalf("reading %s: %v", page, err)
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return text
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("%s never showed %q; it shows:\n%s", page, missing, text)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func workflowsURL(ui, query string) string {
	return ui + "/namespaces/default/workflows?query=" + url.QueryEscape(query)
}

// TestUIShowsACampaign opens the dev server's Temporal UI in headless
// Chromium, as a person checking on a campaign would: the runs filtered by
// CampaignId and by Outcome, the campaign's run with its summary, memo and
// named timers, and one message's run with its named activities.
func TestUIShowsACampaign(t *testing.T) {
	s := up(t)
	t.Parallel()
	// Payloads are encrypted, as a careful team runs outpace: the UI reads
	// them through the codec server the dev server was pointed at.
	keyFile := filepath.Join(t.TempDir(), "keys")
	writeFile(t, keyFile, "ui-test-key "+newSecret(t)+"\n")
	withKey := []string{codec.EnvKeyFile + "=" + keyFile}
	queue := "e2e-ui"
	w, err := s.startWorker(queue, "--encryption-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	id := "e2e-ui-spring-launch"
	p := func(name string) string { return "urn:li:person:ACoAAE2eUi" + name }
	failing := outxtest.NotConnected + "-e2eui"
	path := writeCSV(t,
		"recipient_urn,first_name",
		p("Ada")+",Ada",
		failing+",Bob",
		p("Grace")+",Grace",
		p("Linus")+",",
	)
	r := s.runWithEnv(t, "starter", withKey, "campaign", "start", "--id", id, "--name", "Spring launch", "--task-queue", queue,
		"--csv", path, "--template", "Hi {{first_name}}, spring is here.", "--anytime",
		"--min-gap", "2s", "--max-gap", "3s", "--allow-invalid")
	if r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	keys, err := codec.Load(keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	kc, err := client.NewClientFromExisting(s.client, client.Options{DataConverter: codec.DataConverter(converter.GetDefaultDataConverter(), keys)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var final workflows.CampaignProgress
	if err := kc.GetWorkflow(ctx, id, "").Get(ctx, &final); err != nil {
		t.Fatalf("campaign: %v", err)
	}
	if final.Counts.Delivered != 2 || final.Counts.Failed != 1 || final.Counts.Invalid != 1 {
		t.Fatalf("campaign counts: %+v", final.Counts)
	}
	// Each recipient's run, as the report names it (column 5).
	rows := s.reportWithEnv(t, id, 4, withKey)
	ada, grace, bob, invalid := rows[p("Ada")][5], rows[p("Grace")][5], rows[failing][5], rows[p("Linus")][5]
	campaign, err := describe(context.Background(), s.client, id, "")
	if err != nil {
		t.Fatal(err)
	}
	runURL := func(workflowID, runID, tab string) string {
		return s.uiURL + "/namespaces/default/workflows/" + url.PathEscape(workflowID) + "/" + runID + "/" + tab
	}
	campaignRun := campaign.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	child, err := describe(context.Background(), s.client, ada, "")
	if err != nil {
		t.Fatal(err)
	}
	adaRun := child.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	keep := os.Getenv("OUTPACE_UPDATE_SCREENSHOT") != ""
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	// Without the codec server, the UI shows ciphertext: the message is
	// nowhere on the page, and the UI says it cannot reach the codec server.
	text := b.open(runURL(ada, adaRun, "history"), "Codec Server could not connect", `"encryption-key-id"`)
	if strings.Contains(text, "spring is here") {
		t.Fatalf("the message is readable without the codec server:\n%s", text)
	}

	cs := s.startCodecServer(t, withKey, "--addr", fmt.Sprintf("127.0.0.1:%d", s.codecPort), "--cors-origin", s.uiURL)
	defer cs.Stop()

	// The runs of one campaign: the campaign and one run per recipient.
	list := workflowsURL(s.uiURL, fmt.Sprintf("CampaignId=%q", id))
	text = b.open(list, id, ada, grace, bob, invalid, "3 Completed", "2 Failed")
	if n := strings.Count(text, "SendMessage"); n != 4 {
		t.Errorf("the campaign's list should hold 4 message runs, shows %d:\n%s", n, text)
	}
	if keep {
		b.screenshot(filepath.Join(root, "docs", "ui-campaign-runs.png"))
	}

	// Filtering by outcome finds the one person who could not be messaged.
	text = b.open(workflowsURL(s.uiURL, fmt.Sprintf("CampaignId=%q AND Outcome=%q", id, "failed")), bob)
	if strings.Contains(text, ada) || strings.Contains(text, invalid) {
		t.Errorf("Outcome=failed lists other runs:\n%s", text)
	}
	b.open(workflowsURL(s.uiURL, fmt.Sprintf("CampaignId=%q AND Outcome=%q", id, "invalid")), invalid)

	// The campaign's run: its summary, its settings, and a timeline whose
	// children say what they are, decoded by the codec server.
	text = b.open(runURL(id, campaignRun, "history"),
		"Campaign Spring launch: 4 recipients from recipients.csv",
		"line 2: "+p("Ada"), "line 5: invalid-line-5",
		"check that the workers have LinkedIn account default",
		"InspectRecipients • check the recipients file",
		`"delivered": 2`, `"failed": 1`, `"invalid": 1`)
	if strings.Contains(text, "Codec Server could not connect") {
		t.Errorf("the UI reports the codec server unreachable:\n%s", text)
	}
	if keep {
		b.screenshot(filepath.Join(root, "docs", "ui-campaign.png"))
	}
	b.open(runURL(id, campaignRun, "memo"), "Spring launch", "2s–3s after each task", "every day, all day UTC", "recipients.csv")
	b.open(runURL(id, campaignRun, "user-metadata"), "Campaign Spring launch: 4 recipients from recipients.csv",
		"Recipients: 4 (1 invalid)", "Sending hours: every day, all day UTC", `CampaignId = "`+id+`"`)

	// One message's run: what was sent to whom, each step named (its turn
	// at the account's pacer too), its outcome.
	b.open(runURL(ada, adaRun, "history"),
		"Hi Ada, spring is here.", "line 2: "+p("Ada"),
		"ask account default's pacer for a message slot",
		"queue the message with OutX", "confirm OutX task", `"outcome": "delivered"`)
	b.open(runURL(ada, adaRun, "search-attributes"), "Outcome", "delivered", "CampaignId", id)

	// The account's pacer: what it did and what waits, in its current
	// details, and the campaign's spacing as its named timers.
	pacerID := pacer.WorkflowID(queue, senders.Default)
	pd, err := s.client.DescribeWorkflow(context.Background(), pacerID, "")
	if err != nil {
		t.Fatal(err)
	}
	pacerRun := pd.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	b.open(runURL(pacerID, pacerRun, "history"), "pacer of LinkedIn account default", "spacing of")
	b.open(runURL(pacerID, pacerRun, "user-metadata"), "pacer of LinkedIn account default",
		"Account default", "action(s) so far", "No request waits")
	if keep {
		b.screenshot(filepath.Join(root, "docs", "ui-pacer.png"))
	}
}

// TestWorkerChecksSearchAttributes starts the worker on a namespace that
// lacks outpace's search attributes: rather than fail every run that sets
// one, it refuses to start and gives the command that registers them.
func TestWorkerChecksSearchAttributes(t *testing.T) {
	s := up(t)
	t.Parallel()
	ns := "e2e-no-attributes"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	r := s.runWithEnv(t, "worker", []string{"TEMPORAL_NAMESPACE=" + ns}, "--task-queue", "e2e-no-attributes")
	want := "temporal operator search-attribute create --namespace " + ns + " --name CampaignId --name RecipientUrn --name Outcome --type Keyword"
	if r.code != 1 || !strings.Contains(r.stderr+r.stdout, want) {
		t.Fatalf("worker on a namespace without search attributes: want exit 1 and %q\n%s", want, r)
	}
}
