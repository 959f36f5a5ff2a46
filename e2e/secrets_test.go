package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// TestSecretsAppearNowhere runs a campaign and single sends with a
// recognizable OutX API key and encryption key, through the paths that carry
// errors (a 401, a 429, a failed delivery), then searches everything a
// person or a system can read for either key: every history event of those
// runs, the visibility records, the worker's debug-level output, the
// starter's output of every command, the metrics, and the Temporal UI's API
// answers. On a lane: the 401 is injected for the next send, which must be
// its own.
func TestSecretsAppearNowhere(t *testing.T) {
	s := up(t)
	t.Parallel()
	secret := newSecret(t)
	keyFile := t.TempDir() + "/keys"
	writeFile(t, keyFile, "secrets-test "+secret+"\n")
	withKey := []string{codec.EnvKeyFile + "=" + keyFile}
	queue := "e2e-secrets"
	s = s.lane(t, queue, sandboxOptions(), "--metrics-addr", "127.0.0.1:0", "--encryption-key-file", keyFile,
		"--log-level", "debug", "--log-format", "json")
	w := s.worker
	m := regexp.MustCompile(`serving metrics.*"metrics_addr": ?"([^"]+)"`).FindStringSubmatch(w.Output())
	if m == nil {
		t.Fatalf("the worker did not log its metrics address:\n%s", w.Output())
	}

	var outputs []string // everything the binaries printed
	run := func(args ...string) result {
		r := s.runWithEnv(t, "starter", withKey, append(args, "--task-queue", queue)...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	// A send OutX refuses for a bad key: the error path that could quote it.
	s.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, Status: 401, Times: 1})
	defer s.sandbox.ClearFaults()
	if r := run("send", "--to", "urn:li:person:ACoAAE2eSecrets401", "--message", "Hi", "--id", "e2e-secrets-401", "--wait"); r.code != 3 {
		t.Fatalf("send refused with 401: want exit 3\n%s", r)
	}
	id := "e2e-secrets-campaign"
	path := writeCSV(t, "recipient_urn,first_name",
		"urn:li:person:ACoAAE2eSecretsA,Ada",
		outxtest.RateLimitedOnce+"-e2esecrets,Ray",
		outxtest.NotConnected+"-e2esecrets,Bob",
	)
	if r := run("campaign", "start", "--id", id, "--csv", path, "--template", "Hi {{first_name}}",
		"--anytime", "--min-gap", "100ms", "--max-gap", "200ms"); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	outputs = append(outputs, s.runWithEnv(t, "starter", withKey, "campaign", "watch", "--id", id).stdout)
	for _, args := range [][]string{{"campaign", "status", "--id", id}, {"campaign", "status", "--id", id, "--json"}, {"campaign", "report", "--id", id}} {
		r := s.runWithEnv(t, "starter", withKey, args...)
		if r.code != 0 {
			t.Fatalf("%v: %s", args, r)
		}
		outputs = append(outputs, r.stdout, r.stderr)
	}

	// The runs: the single send, the campaign and its children.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	query := fmt.Sprintf("TaskQueue = %q", queue)
	var histories, visibility strings.Builder
	var runs int
	waitUntil(t, 20*time.Second, func() bool {
		resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		runs = len(resp.GetExecutions())
		visibility.Reset()
		b, _ := protojson.Marshal(resp)
		visibility.Write(b)
		return runs >= 5 // 1 send, 1 campaign, 3 children
	})
	resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.GetExecutions() {
		b, err := protojson.Marshal(&historypb.History{Events: s.history(t, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())})
		if err != nil {
			t.Fatal(err)
		}
		histories.Write(b)
	}

	_, scraped := scrape(t, "http://"+m[1]+"/metrics")

	// The UI's own API, which its pages are drawn from.
	var ui strings.Builder
	for _, path := range []string{
		"/api/v1/settings",
		"/api/v1/namespaces/default/workflows?query=" + url.QueryEscape(query),
		"/api/v1/namespaces/default/workflows/" + url.PathEscape(id),
		"/api/v1/namespaces/default/workflows/" + url.PathEscape(id) + "/history",
		"/api/v1/namespaces/default/workflows/e2e-secrets-401/history",
	} {
		resp, err := http.Get(s.uiURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusOK || len(body) < 50 {
			t.Fatalf("UI API %s: %s\n%s", path, resp.Status, body)
		}
		ui.WriteString(body)
	}

	sources := map[string]string{
		"histories":      histories.String(),
		"visibility":     visibility.String(),
		"worker output":  w.Output(),
		"starter output": strings.Join(outputs, "\n"),
		"metrics":        scraped,
		"UI API answers": ui.String(),
	}
	// Each source holds what it should, so an empty one cannot pass.
	for name, want := range map[string]string{
		"histories":      "encryption-key-id",
		"visibility":     id,
		"worker output":  "Invalid API Key",
		"starter output": "delivered",
		"metrics":        "outpace_messages_total",
		"UI API answers": "e2e-secrets-401",
	} {
		if !strings.Contains(sources[name], want) {
			t.Errorf("%s lacks %q: the search would prove nothing", name, want)
		}
	}
	if !strings.Contains(ui.String(), "workflowExecutionStartedEventAttributes") {
		t.Errorf("the UI API answers hold no history events: the search would prove little")
	}
	if runs < 5 {
		t.Errorf("found %d runs, want at least 5", runs)
	}
	for name, text := range sources {
		for secretName, value := range map[string]string{"the OutX API key": apiKey, "the encryption key": secret} {
			if strings.Contains(text, value) {
				t.Errorf("%s appears in the %s", secretName, name)
			}
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
