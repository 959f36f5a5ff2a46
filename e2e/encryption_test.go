package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// TestEncryptedPayloads runs a message, a failing message and a small
// campaign through a worker and a starter that encrypt payloads, then reads
// the stored histories with a client that has no key: no input, result, memo,
// summary or error there holds the message, the recipient or the template
// variables, and every payload names its key. The starter with the key reads
// the runs; with a wrong key it fails naming the key; the codec server
// decrypts the stored payloads for the UI, and the dev server's UI is told
// to call it.
func TestEncryptedPayloads(t *testing.T) {
	s := up(t)
	t.Parallel()
	dir := t.TempDir()
	const keyID = "e2e-2026-06"
	secret := newSecret(t)
	keyFile := filepath.Join(dir, "keys")
	writeFile(t, keyFile, "# outpace payload keys; the first one encrypts\n"+keyID+" "+secret+"\n")
	withKey := []string{codec.EnvKeyFile + "=" + keyFile}

	queue := "e2e-encrypted"
	w, err := s.startWorker(queue, "--encryption-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if out := w.Output(); !strings.Contains(out, "payload encryption: on") || !strings.Contains(out, keyID) || strings.Contains(out, secret) {
		t.Errorf("worker log: want \"payload encryption: on\" with the key id, never the key\n%s", out)
	}

	// What must not be readable in the stored history.
	const (
		recipient   = "urn:li:person:ACoAAE2eCipherRecipient"
		message     = "Encrypted hello: the launch code is tangerine"
		failedTo    = outxtest.NotConnected + "-e2eCipherFailed"
		firstName   = "Zenobia"
		company     = "Quillfeather Labs"
		campaignFor = "urn:li:person:ACoAAE2eCipherCampaign"
		name        = "Project Nightingale"
	)
	plaintexts := []string{message, "tangerine", firstName, company, name}
	recipients := []string{recipient, failedTo, campaignFor, "ACoAAE2eCipher", "e2eCipherFailed", "urn:li:person"}

	// A message delivered: the starter, with the key, prints the result.
	r := s.runWithEnv(t, "starter", withKey, "send", "--task-queue", queue, "--to", recipient, "--message", message, "--wait", "--json")
	var delivered sent
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &delivered) != nil ||
		delivered.Result.Outcome != workflows.Delivered || delivered.Result.RecipientURN != recipient {
		t.Fatalf("send with the key: want delivered, the result decrypted\n%s", r)
	}
	// A message that fails: its error names the recipient.
	r = s.runWithEnv(t, "starter", withKey, "send", "--task-queue", queue, "--to", failedTo, "--message", message, "--wait", "--json")
	var failed sent
	if r.code != 3 || json.Unmarshal([]byte(r.stdout), &failed) != nil || failed.Result.Outcome != workflows.Failed ||
		!strings.Contains(failed.Result.Reason, outxtest.TextNotConnected) {
		t.Fatalf("send to a non-connection with the key: want exit 3, failed, OutX's reason\n%s", r)
	}
	// A campaign with template variables and a name (a memo).
	csvPath := writeCSV(t, "recipient_urn,first_name,company", campaignFor+","+firstName+","+company)
	campaign := "e2e-campaign-encrypted"
	r = s.runWithEnv(t, "starter", withKey, "campaign", "start", "--task-queue", queue, "--id", campaign, "--name", name,
		"--csv", csvPath, "--template", "Hi {{first_name}}, how is {{company}}?", "--anytime",
		"--min-gap", "100ms", "--max-gap", "200ms", "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "delivered 1  failed 0") {
		t.Fatalf("campaign with the key: %s", r)
	}
	if got := s.sandbox.TasksTo(campaignFor); len(got) != 1 || got[0].Message != "Hi "+firstName+", how is "+company+"?" {
		t.Fatalf("the campaign's message as OutX received it: %+v", got)
	}

	// The campaign's message is named by a pseudonym, which recipient-id
	// finds from the campaign's (encrypted) input.
	var child recipientIDOut
	r = s.runWithEnv(t, "starter", withKey, "recipient-id", "--campaign", campaign, "--urn", campaignFor, "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &child) != nil || !strings.HasPrefix(child.WorkflowID, campaign+"/r-") {
		t.Fatalf("recipient-id --campaign: want the message's workflow id %s/r-…\n%s", campaign, r)
	}

	// The stored histories, read without a key.
	runs := map[string]string{
		delivered.WorkflowID: delivered.RunID, failed.WorkflowID: failed.RunID,
		campaign: "", child.WorkflowID: "",
	}
	var n struct{ encrypted, memos, summaries, searchAttributes, failures int }
	for id, run := range runs {
		for _, e := range s.history(t, id, run) {
			text := protojson.Format(e)
			// The event's bytes hold every string and payload as stored:
			// search attributes and workflow ids included.
			raw, _ := proto.Marshal(e)
			for _, p := range append(plaintexts, recipients...) {
				if strings.Contains(text, p) || bytes.Contains(raw, []byte(p)) {
					t.Errorf("%s event %d (%s) holds %q in clear:\n%s", id, e.EventId, e.EventType, p, text)
				}
			}
			eachPayload(e.ProtoReflect(), "", func(p *commonpb.Payload, in string) {
				raw, _ := proto.Marshal(p)
				if in == "SearchAttributes" {
					// Search attributes are indexed by the server: never encrypted.
					n.searchAttributes++
					if string(p.Metadata[converter.MetadataEncoding]) == codec.EncodingEncrypted {
						t.Errorf("%s: an encrypted search attribute", id)
					}
					return
				}
				switch in {
				case "Memo":
					n.memos++
				case "UserMetadata":
					n.summaries++
				}
				if enc, key := string(p.Metadata[converter.MetadataEncoding]), string(p.Metadata[codec.MetadataKeyID]); enc != codec.EncodingEncrypted || key != keyID {
					t.Errorf("%s event %d (%s): a %s payload with encoding %q, key id %q; want %q, %q",
						id, e.EventId, e.EventType, in, enc, key, codec.EncodingEncrypted, keyID)
				}
				n.encrypted++
				for _, who := range recipients {
					if bytes.Contains(raw, []byte(who)) {
						t.Errorf("%s event %d (%s): a %s payload holds %q in clear", id, e.EventId, e.EventType, in, who)
					}
				}
			})
			eachFailure(e.ProtoReflect(), func(f *failurepb.Failure) {
				n.failures++
				for _, who := range recipients {
					if strings.Contains(f.Message, who) || strings.Contains(f.StackTrace, who) {
						t.Errorf("%s event %d (%s): an error names %q in clear: %q", id, e.EventId, e.EventType, who, f.Message)
					}
				}
				if f.EncodedAttributes == nil {
					t.Errorf("%s event %d (%s): an error message not encrypted: %q", id, e.EventId, e.EventType, f.Message)
				}
			})
		}
	}
	t.Logf("stored histories: %d encrypted payloads (%d memos, %d summaries), %d search attributes in clear, %d errors",
		n.encrypted, n.memos, n.summaries, n.searchAttributes, n.failures)
	if n.encrypted < 20 || n.memos < 3 || n.summaries < 3 || n.failures < 1 {
		t.Errorf("too few payloads checked: %+v", n)
	}
	// What stays readable, as README.md says: search attributes, which name
	// the recipient by the pseudonym recipient-id prints.
	var single recipientIDOut
	r = s.runWithEnv(t, "starter", withKey, "recipient-id", "--urn", recipient, "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &single) != nil || len(single.RecipientIDs) != 1 {
		t.Fatalf("recipient-id: %s", r)
	}
	if attrs := s.history(t, delivered.WorkflowID, delivered.RunID)[0].GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes(); !strings.Contains(protojson.Format(attrs), base64.StdEncoding.EncodeToString([]byte(`"`+single.RecipientIDs[0].RecipientID+`"`))) {
		t.Errorf("the RecipientUrn search attribute is not the pseudonym %s: %v", single.RecipientIDs[0].RecipientID, attrs)
	}

	// The campaign report reads the outcomes from the encrypted memos.
	waitFor(t, 20*time.Second, func() bool {
		r = s.runWithEnv(t, "starter", withKey, "campaign", "report", "--id", campaign)
		rows, _ := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		return r.code == 0 && len(rows) == 2 && rows[1][1] == campaignFor && rows[1][2] == "delivered" && rows[1][0] == "2" && rows[1][5] == child.WorkflowID
	}, func() string { return r.String() })

	// A wrong key, or none that fits, fails naming the key id.
	otherFile := filepath.Join(dir, "other-keys")
	otherSecret := newSecret(t)
	writeFile(t, otherFile, keyID+" "+otherSecret+"\n")
	for _, tc := range []struct {
		name string
		env  []string
		says string
	}{
		{"the same key id with other bytes", []string{codec.EnvKeyFile + "=" + otherFile}, "not the one that encrypted it"},
		{"another key id", []string{codec.EnvKey + "=e2e-other:" + otherSecret}, "does not hold"},
	} {
		// The run is named by --id: a starter with other keys names a send
		// by other pseudonyms.
		r = s.runWithEnv(t, "starter", tc.env, "send", "--task-queue", queue, "--id", delivered.WorkflowID, "--to", recipient, "--message", message, "--wait")
		out := r.stdout + r.stderr
		t.Logf("starter with %s: exit %d: %s", tc.name, r.code, strings.TrimSpace(r.stderr))
		if r.code != 1 || !strings.Contains(out, fmt.Sprintf("key id %q", keyID)) || !strings.Contains(out, tc.says) ||
			strings.Contains(out, secret) || strings.Contains(out, otherSecret) {
			t.Errorf("starter with %s: want exit 1 naming key id %s and saying %q, without key material\n%s", tc.name, keyID, tc.says, r)
		}
	}
	// After rotation (a new key first, the old one kept), the old run reads,
	// and is found under the old key's pseudonyms: the same command does not
	// send again.
	rotated := filepath.Join(dir, "rotated-keys")
	writeFile(t, rotated, "e2e-2026-12 "+newSecret(t)+"\n"+keyID+" "+secret+"\n")
	r = s.runWithEnv(t, "starter", []string{codec.EnvKeyFile + "=" + rotated}, "send", "--task-queue", queue, "--to", recipient, "--message", message, "--wait", "--json")
	var again sent
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &again) != nil || !again.Existing || again.Result.Outcome != workflows.Delivered {
		t.Errorf("starter after rotation: want the existing run's result, delivered\n%s", r)
	}
	if n := len(s.sandbox.TasksTo(recipient)); n != 1 {
		t.Errorf("%s got %d messages, want 1", recipient, n)
	}

	// The codec server decrypts the stored payloads as the UI asks it to.
	uiPort := freePort(t)
	uiOrigin := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	cs := s.startCodecServer(t, withKey, "--addr", "127.0.0.1:0", "--cors-origin", uiOrigin)
	defer cs.Stop()
	started := s.history(t, delivered.WorkflowID, delivered.RunID)[0].GetWorkflowExecutionStartedEventAttributes()
	var failure *failurepb.Failure
	for _, e := range s.history(t, failed.WorkflowID, failed.RunID) {
		if a := e.GetWorkflowExecutionFailedEventAttributes(); a != nil {
			failure = a.GetFailure()
		}
	}
	if failure == nil || failure.EncodedAttributes == nil {
		t.Fatalf("the failed run has no encrypted failure: %v", failure)
	}
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{started.GetInput().GetPayloads()[0], failure.EncodedAttributes}})
	if err != nil {
		t.Fatal(err)
	}

	preflight := codecRequest(t, http.MethodOptions, cs.url+"/decode", nil, map[string]string{
		"Origin": uiOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace",
	})
	if preflight.status != http.StatusNoContent || preflight.header.Get("Access-Control-Allow-Origin") != uiOrigin ||
		preflight.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(strings.ToLower(preflight.header.Get("Access-Control-Allow-Headers")), "x-namespace") {
		t.Errorf("CORS preflight from the UI: %d %v", preflight.status, preflight.header)
	}
	decoded := codecRequest(t, http.MethodPost, cs.url+"/decode", body, map[string]string{
		"Origin": uiOrigin, "Content-Type": "application/json", "X-Namespace": "default",
	})
	if decoded.status != http.StatusOK || decoded.header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Fatalf("POST /decode: %d %v\n%s", decoded.status, decoded.header, decoded.body)
	}
	var plain commonpb.Payloads
	if err := protojson.Unmarshal(decoded.body, &plain); err != nil || len(plain.Payloads) != 2 {
		t.Fatalf("POST /decode answered %s: %v", decoded.body, err)
	}
	var in workflows.SendMessageInput
	var attrs struct{ Message string }
	dc := converter.GetDefaultDataConverter()
	if err := dc.FromPayload(plain.Payloads[0], &in); err != nil || in.Message != message || in.RecipientURN != recipient {
		t.Errorf("decoded input: %+v, %v", in, err)
	}
	if err := dc.FromPayload(plain.Payloads[1], &attrs); err != nil || !strings.Contains(attrs.Message, failedTo) {
		t.Errorf("decoded error message: %q, %v", attrs.Message, err)
	}
	if refused := codecRequest(t, http.MethodPost, cs.url+"/decode", body, map[string]string{"Origin": "http://elsewhere.example"}); refused.status != http.StatusForbidden {
		t.Errorf("POST /decode from another origin: %d, want 403", refused.status)
	}

	// The temporal CLI reads the run in clear through the codec server, and
	// only through it.
	for _, viaCodec := range []bool{true, false} {
		args := []string{"workflow", "show", "--address", s.address, "--namespace", "default",
			"--workflow-id", delivered.WorkflowID, "--output", "json"}
		if viaCodec {
			args = append(args, "--codec-endpoint", cs.url)
		}
		out, err := exec.Command(s.temporalCLI, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var h historypb.History
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(out, &h); err != nil {
			t.Fatalf("temporal workflow show --output json: %v\n%s", err, out)
		}
		var data []byte
		for _, e := range h.Events {
			eachPayload(e.ProtoReflect(), "", func(p *commonpb.Payload, _ string) { data = append(data, p.Data...) })
		}
		if got := bytes.Contains(data, []byte(message)); got != viaCodec || len(h.Events) == 0 {
			t.Errorf("temporal workflow show (codec endpoint: %v): %d events, the message in clear: %v", viaCodec, len(h.Events), got)
		}
	}

	// The dev server's UI is told to call the codec server.
	devLog, err := os.Create(filepath.Join(dir, "ui-dev-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer devLog.Close()
	dev, err := devstack.StartServer(context.Background(), devstack.ServerOptions{
		CLI: s.temporalCLI, UIPort: uiPort, UICodecEndpoint: cs.url, Log: devLog,
	})
	if err != nil {
		t.Fatalf("starting a dev server with the UI: %v", err)
	}
	defer func() { _ = dev.Stop() }()
	var settings struct{ Codec struct{ Endpoint string } }
	var resp httpAnswer
	waitFor(t, 30*time.Second, func() bool {
		resp = codecRequest(t, http.MethodGet, uiOrigin+"/api/v1/settings", nil, nil)
		return resp.status == http.StatusOK && json.Unmarshal(resp.body, &settings) == nil && settings.Codec.Endpoint != ""
	}, func() string { return fmt.Sprintf("GET /api/v1/settings: %d %s", resp.status, resp.body) })
	if settings.Codec.Endpoint != cs.url {
		t.Errorf("the UI's codec endpoint is %q, want %q", settings.Codec.Endpoint, cs.url)
	}
}

// recipientIDOut is what `starter recipient-id --json` prints.
type recipientIDOut struct {
	RecipientIDs []struct {
		KeyID       string `json:"key_id"`
		RecipientID string `json:"recipient_id"`
	} `json:"recipient_ids"`
	WorkflowID string `json:"workflow_id"`
	Query      string `json:"query"`
}

// codecServer is a running codec-server binary.
type codecServer struct {
	*process
	url string
}

// startCodecServer starts the codec server binary; its address is the one it
// logs, so --addr may ask for any free port.
func (s *stack) startCodecServer(t *testing.T, env []string, args ...string) codecServer {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "codec-server"), append([]string{"--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p, err := devstack.StartProcess(cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor("codec server listening", 15*time.Second); err != nil {
		p.Stop()
		t.Fatalf("codec server: %v\n%s", err, p.Output())
	}
	for _, line := range strings.Split(p.Output(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "codec server listening" && l.Addr != "" {
			return codecServer{process: p, url: "http://" + l.Addr}
		}
	}
	p.Stop()
	t.Fatalf("codec server logged no addr:\n%s", p.Output())
	return codecServer{}
}

type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

func codecRequest(t *testing.T, method, url string, body []byte, header map[string]string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return httpAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// eachPayload calls f for every payload in m, with the name of the message
// holding it (SearchAttributes, Memo, Header, Payloads, ...).
func eachPayload(m protoreflect.Message, in string, f func(*commonpb.Payload, string)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		f(p, in)
		return
	}
	switch name := string(m.Descriptor().Name()); name {
	case "SearchAttributes", "Memo", "Header", "UserMetadata":
		in = name
	default:
		if in == "" {
			in = name
		}
	}
	eachMessage(m, func(sub protoreflect.Message) { eachPayload(sub, in, f) })
}

// eachFailure calls f for every failure in m, causes included.
func eachFailure(m protoreflect.Message, f func(*failurepb.Failure)) {
	if fl, ok := m.Interface().(*failurepb.Failure); ok {
		f(fl)
	}
	eachMessage(m, func(sub protoreflect.Message) { eachFailure(sub, f) })
}

// eachMessage calls f for every message directly inside m.
func eachMessage(m protoreflect.Message, f func(protoreflect.Message)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				f(v.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				f(mv.Message())
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			f(v.Message())
		}
		return true
	})
}

// waitFor is the campaign tests' waitUntil that says, on failure, what it last saw.
func waitFor(t *testing.T, timeout time.Duration, ok func() bool, last func() string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("condition not met within %s; last:\n%s", timeout, last())
}

func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, codec.KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptedRecipientNames: with payload encryption on, recipients are
// named by keyed pseudonyms wherever the server keeps names in clear. The
// stored histories and the visibility records of a message and a campaign
// (workflow ids, search attributes, memos, every field) hold no URN; the
// report, with the key, still lists the URNs; the campaign started again
// under its id skips whom it messaged, and is refused by a starter that
// cannot read its key. A campaign that first ran without encryption keeps
// naming recipients by URN when started again with it.
func TestEncryptedRecipientNames(t *testing.T) {
	s := up(t)
	t.Parallel()
	dir := t.TempDir()
	const keyID = "e2e-names"
	keyFile := filepath.Join(dir, "keys")
	writeFile(t, keyFile, keyID+" "+newSecret(t)+"\n")
	withKey := []string{codec.EnvKeyFile + "=" + keyFile}
	queue := "e2e-encrypted-names"
	w, err := s.startWorker(queue, "--encryption-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	const (
		single   = "urn:li:person:ACoAAE2eNamesSingle"
		first    = "urn:li:person:ACoAAE2eNamesFirst"
		second   = "urn:li:person:ACoAAE2eNamesSecond"
		added    = "urn:li:person:ACoAAE2eNamesAdded"
		campaign = "e2e-names-campaign"
	)
	// No URN, and no URN's id, may be stored in clear.
	forbidden := []string{"urn:li:person", "ACoAAE2eNames", "NamesSingle", "NamesFirst", "NamesSecond", "NamesAdded"}
	starter := func(args ...string) result {
		return s.runWithEnv(t, "starter", withKey, append(args, "--task-queue", queue)...)
	}

	r := starter("send", "--to", single, "--message", "hi", "--wait", "--json")
	var one sent
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &one) != nil || one.Result.Outcome != workflows.Delivered {
		t.Fatalf("send: %s", r)
	}
	csvPath := writeCSV(t, "recipient_urn,first_name", first+",Ann", second+",Bo", first+",Ann")
	campaignArgs := []string{"campaign", "start", "--id", campaign, "--csv", csvPath, "--template", "Hi {{first_name}}",
		"--anytime", "--min-gap", "100ms", "--max-gap", "200ms", "--watch"}
	if r = starter(campaignArgs...); r.code != 0 || !strings.Contains(r.stdout, "pseudonyms") {
		t.Fatalf("campaign start: %s", r)
	}

	// With the key, the report lists the URNs; the workflow ids are
	// pseudonyms, as recipient-id says.
	rows := s.reportWithEnv(t, campaign, 3, withKey) // the duplicate is skipped: no run of its own
	for _, u := range []string{first, second} {
		var id recipientIDOut
		r = starter("recipient-id", "--campaign", campaign, "--urn", u, "--json")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &id) != nil {
			t.Fatalf("recipient-id: %s", r)
		}
		row := rows[u]
		if row == nil || row[2] != "delivered" || row[5] != id.WorkflowID || !strings.HasPrefix(id.WorkflowID, campaign+"/r-") {
			t.Errorf("report row for %s: %v; recipient-id says %s", u, row, id.WorkflowID)
		}
	}
	if n := len(s.sandbox.TasksTo(first)); n != 1 {
		t.Errorf("%s, listed twice, got %d messages", first, n)
	}

	// Nothing stored names a recipient: every event of every run, and every
	// visibility record (read without the key).
	ctx := context.Background()
	query := fmt.Sprintf("TaskQueue = %q", queue)
	var execs []*workflowpb.WorkflowExecutionInfo
	waitFor(t, 20*time.Second, func() bool {
		resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err != nil {
			return false
		}
		execs = resp.GetExecutions()
		closed := 0
		for _, e := range execs {
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				closed++
			}
		}
		// The send, the campaign, its 2 messages, and the account's pacer
		// (which never ends), whose history is searched too.
		return len(execs) == 5 && closed == 4
	}, func() string { return fmt.Sprintf("%d runs listed: %v", len(execs), execs) })
	leaks := func(what string, m proto.Message) {
		raw, _ := proto.Marshal(m)
		text := protojson.Format(m)
		for _, f := range forbidden {
			if bytes.Contains(raw, []byte(f)) || strings.Contains(text, f) {
				t.Errorf("%s holds %q in clear:\n%s", what, f, text)
			}
		}
	}
	pseudonyms := 0
	for _, e := range execs {
		id := e.GetExecution().GetWorkflowId()
		leaks("visibility record of "+id, e)
		d, err := describe(ctx, s.client, id, e.GetExecution().GetRunId())
		if err != nil {
			t.Fatal(err)
		}
		leaks("description of "+id, d)
		for _, ev := range s.history(t, id, e.GetExecution().GetRunId()) {
			leaks(fmt.Sprintf("%s event %d (%s)", id, ev.EventId, ev.EventType), ev)
		}
		var sa string
		if p := e.GetSearchAttributes().GetIndexedFields()[workflows.RecipientURNAttribute.GetName()]; p != nil {
			if err := converter.GetDefaultDataConverter().FromPayload(p, &sa); err != nil || !workflows.IsPseudonym(sa) {
				t.Errorf("%s: RecipientUrn = %q, want a pseudonym", id, sa)
			}
			pseudonyms++
		}
	}
	if pseudonyms != 3 {
		t.Errorf("%d runs with a RecipientUrn, want 3 (the send and the campaign's 2 messages)", pseudonyms)
	}

	// Started again under its id with one more recipient: the same key is
	// reused, so the first two are skipped.
	csvAgain := writeCSV(t, "recipient_urn,first_name", first+",Ann", second+",Bo", added+",Cy")
	again := append([]string{}, campaignArgs...)
	again[5] = csvAgain
	if r = starter(again...); r.code != 0 || !strings.Contains(r.stdout, "ran before") || !strings.Contains(r.stdout, "pseudonyms") {
		t.Fatalf("campaign started again: %s", r)
	}
	for _, u := range []string{first, second, added} {
		if n := len(s.sandbox.TasksTo(u)); n != 1 {
			t.Errorf("%s got %d messages after the campaign was started again, want 1", u, n)
		}
	}

	// A starter that cannot read the earlier runs' input refuses to start,
	// rather than name recipients anew.
	otherKeys := filepath.Join(dir, "other-keys")
	writeFile(t, otherKeys, keyID+" "+newSecret(t)+"\n")
	// Without keys, the starter sees that the workers encrypt and refuses
	// before it reads anything (a usage error); with other keys, it cannot
	// read the earlier runs and names the campaign.
	for name, want := range map[string]struct {
		env  []string
		code int
		text string
	}{
		"without keys":    {[]string{codec.EnvKeyFile + "="}, 2, "encrypt payloads: give the starter the same keys"},
		"with other keys": {[]string{codec.EnvKeyFile + "=" + otherKeys}, 1, campaign},
	} {
		r = s.runWithEnv(t, "starter", want.env, append(again, "--task-queue", queue)...)
		if r.code != want.code || !strings.Contains(r.stderr, "nothing was started") || !strings.Contains(r.stderr, want.text) {
			t.Errorf("campaign started again %s: want exit %d, nothing started, %q\n%s", name, want.code, want.text, r)
		}
	}
	for _, u := range []string{first, second, added} {
		if n := len(s.sandbox.TasksTo(u)); n != 1 {
			t.Errorf("%s got %d messages, want 1", u, n)
		}
	}

	// A campaign that ran without encryption (on workers without keys)
	// keeps its URN names when started again once its workers encrypt:
	// nobody is messaged twice.
	const plainFor = "urn:li:person:ACoAAE2ePlainFirst"
	plain := "e2e-names-plain"
	plainQueue := queue + "-plain"
	plainCSV := writeCSV(t, "recipient_urn,first_name", plainFor+",Di")
	plainArgs := []string{"campaign", "start", "--id", plain, "--csv", plainCSV, "--template", "Hi {{first_name}}",
		"--anytime", "--min-gap", "100ms", "--max-gap", "200ms", "--watch", "--task-queue", plainQueue}
	plainWorker, err := s.startWorker(plainQueue)
	if err != nil {
		t.Fatal(err)
	}
	r = s.runWithEnv(t, "starter", []string{codec.EnvKeyFile + "="}, plainArgs...)
	plainWorker.Stop()
	if r.code != 0 || strings.Contains(r.stdout, "pseudonyms") {
		t.Fatalf("campaign without encryption: %s", r)
	}
	encWorker, err := s.startWorker(plainQueue, "--encryption-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer encWorker.Stop()
	if r = s.runWithEnv(t, "starter", withKey, plainArgs...); r.code != 0 || !strings.Contains(r.stdout, "named by their URNs") {
		t.Fatalf("the same campaign started again with encryption: want it to keep URN names and say so\n%s", r)
	}
	if n := len(s.sandbox.TasksTo(plainFor)); n != 1 {
		t.Errorf("%s got %d messages, want 1", plainFor, n)
	}

	// A campaign whose own runs are gone (past retention) while messages
	// named by pseudonyms remain cannot recover their key: refused.
	const orphanFor = "urn:li:person:ACoAAE2eOrphan"
	orphans := "e2e-names-orphans"
	pseudonym := "r-0123456789abcdef0123"
	left, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: orphans + "/" + pseudonym, TaskQueue: "e2e-no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.CampaignIDAttribute.ValueSet(orphans), workflows.RecipientURNAttribute.ValueSet(pseudonym)),
	}, workflows.SendMessageWorkflow, workflows.SendMessageInput{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.client.TerminateWorkflow(ctx, left.GetID(), left.GetRunID(), "test over") }()
	waitFor(t, 20*time.Second, func() bool {
		resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("CampaignId = %q", orphans)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, func() string { return "the leftover message is not listed" })
	orphanArgs := []string{"campaign", "start", "--id", orphans, "--csv", writeCSV(t, "recipient_urn", orphanFor), "--template", "Hi",
		"--anytime", "--task-queue", queue}
	if r = s.runWithEnv(t, "starter", withKey, orphanArgs...); r.code != 1 || !strings.Contains(r.stderr, "runs are gone") || !strings.Contains(r.stderr, "nothing was started") {
		t.Errorf("a campaign whose messages outlived it: want exit 1, nothing started\n%s", r)
	}
	if n := len(s.sandbox.TasksTo(orphanFor)); n != 0 {
		t.Errorf("%s got %d messages, want none", orphanFor, n)
	}
}
