package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/workflows"
)

func testKeyring(t *testing.T, file string) *codec.Keyring {
	t.Helper()
	k, err := codec.ParseKeyFile("keys", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func key64(fill byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(fill), 32)))
}

// TestSendIdentities: with keys, a send is named by pseudonyms under each
// key, the active one first, then in clear; the name under a key does not
// depend on the other keys, so a send started before a rotation is found.
func TestSendIdentities(t *testing.T) {
	const urn, msg = "urn:li:person:ACoAAIdentity", "hello"
	if ids := sendIdentities(nil, urn, msg); len(ids) != 1 || ids[0].workflowID != sendWorkflowID(urn, msg) || ids[0].recipient != urn {
		t.Fatalf("without keys: %+v, want the URN and the plain id only", ids)
	}
	before := testKeyring(t, "old "+key64('o')+"\n")
	after := testKeyring(t, "new "+key64('n')+"\nold "+key64('o')+"\n")
	ids := sendIdentities(after, urn, msg)
	if len(ids) != 3 || ids[0].keyID != "new" || ids[1].keyID != "old" || ids[2].keyID != "" || ids[2].workflowID != sendWorkflowID(urn, msg) {
		t.Fatalf("with two keys: %+v, want new, old, then in clear", ids)
	}
	if old := sendIdentities(before, urn, msg)[0]; old != ids[1] {
		t.Errorf("the name under key old changed when a key was added: %+v, then %+v", old, ids[1])
	}
	// The id is "send-<pseudonym>-<keyed digest of the text>", derived from
	// the key as docs/encryption.md says.
	rs, _ := after.Derive("new", "outpace recipient pseudonym")
	ms, _ := after.Derive("new", "outpace message digest")
	mac := hmac.New(sha256.New, ms)
	mac.Write([]byte(msg))
	if p := workflows.RecipientPseudonym(rs, urn); ids[0].recipient != p || ids[0].workflowID != "send-"+p+"-"+hex.EncodeToString(mac.Sum(nil))[:12] {
		t.Errorf("active identity: %+v", ids[0])
	}
	for _, id := range ids[:2] {
		if !workflows.IsPseudonym(id.recipient) || strings.Contains(id.workflowID, "ACoAA") || strings.Contains(id.workflowID, "urn") {
			t.Errorf("keyed identity names the recipient: %+v", id)
		}
	}
	plainDigest := sha256.Sum256([]byte(msg))
	if strings.Contains(ids[0].workflowID, hex.EncodeToString(plainDigest[:])[:12]) {
		t.Error("the keyed id holds the text's plain SHA-256, which a guess of the text would match")
	}
	if other := sendIdentities(after, urn, msg+"!"); other[0].recipient != ids[0].recipient || other[0].workflowID == ids[0].workflowID {
		t.Errorf("another text to the same person: %+v vs %+v", other[0], ids[0])
	}
}

// TestRecipientIDCommand: recipient-id prints, without Temporal, what single
// sends are named by under each key, and the UI filter.
func TestRecipientIDCommand(t *testing.T) {
	const urn = "urn:li:person:ACoAAFindMe"
	file := writeFile(t, "keys", "new "+key64('n')+"\nold "+key64('o')+"\n")
	ids := sendIdentities(testKeyring(t, "new "+key64('n')+"\nold "+key64('o')+"\n"), urn, "")

	code, out, errOut := runStarter(t, "recipient-id", "--urn", urn, "--encryption-key-file", file)
	if code != exitOK || !strings.Contains(out, ids[0].recipient+" (key new, active)") || !strings.Contains(out, ids[1].recipient+" (key old") ||
		!strings.Contains(out, `RecipientUrn IN ("`+ids[0].recipient+`", "`+ids[1].recipient+`")`) {
		t.Errorf("recipient-id with keys: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, key64('n')) || strings.Contains(out, key64('o')) {
		t.Error("recipient-id printed key material")
	}
	code, out, _ = runStarter(t, "recipient-id", "--urn", urn, "--encryption-key-file", file, "--json")
	var got recipientIDOutput
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || len(got.RecipientIDs) != 2 || got.RecipientIDs[0].RecipientID != ids[0].recipient {
		t.Errorf("recipient-id --json: exit %d: %s", code, out)
	}

	t.Setenv(codec.EnvKey, "")
	code, out, _ = runStarter(t, "recipient-id", "--urn", urn)
	if code != exitOK || !strings.Contains(out, "encryption is off") || !strings.Contains(out, `RecipientUrn = "`+urn+`"`) {
		t.Errorf("recipient-id without keys: exit %d\n%s", code, out)
	}
	if code, _, errOut := runStarter(t, "recipient-id"); code != exitUsage || !strings.Contains(errOut, "--urn") {
		t.Errorf("recipient-id without --urn: exit %d: %s", code, errOut)
	}
	if code, out, _ := runStarter(t, "--help"); code != exitOK || !strings.Contains(out, "recipient-id") {
		t.Errorf("starter --help does not list recipient-id:\n%s", out)
	}
}

// TestReportRowsReadURNFromMemo: with pseudonyms, the report shows the URN
// from the (decrypted) memo, not the search attribute's pseudonym.
func TestReportRowsReadURNFromMemo(t *testing.T) {
	keys := testKeyring(t, "k1 "+key64('k')+"\n")
	dc := codec.DataConverter(nil, keys)
	enc := func(v any) *commonpb.Payload {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const urn, pseudonym = "urn:li:person:ada", "r-0123456789abcdef0123"
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "spring/" + pseudonym},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{
			workflows.MemoLine: enc(2), workflows.MemoOutcome: enc("delivered"), workflows.MemoRecipientURN: enc(urn),
		}},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RecipientUrn": payload(t, pseudonym)}},
	}
	if row := rowFromExecution(e, dc); row.RecipientURN != urn || row.WorkflowID != "spring/"+pseudonym || row.Line != 2 || row.Outcome != "delivered" {
		t.Errorf("with the key: %+v", row)
	}
	// Without the key, the memo does not open: the pseudonym is all there is.
	if row := rowFromExecution(e, converter.GetDefaultDataConverter()); row.RecipientURN != pseudonym {
		t.Errorf("without the key: %+v", row)
	}
}
