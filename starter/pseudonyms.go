package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/stops"
	"github.com/outpacehq/outpace/workflows"
)

// With payload encryption on, recipients are named by keyed pseudonyms
// (workflows.RecipientPseudonym) wherever the Temporal server reads in clear:
// workflow ids and the RecipientUrn search attribute.
//
// A single send derives its secrets from each payload key (codec.Keyring
// Derive), so they rotate with it; a campaign carries its own random key in
// its (encrypted) input, and a campaign started again under the same id
// reuses it.
const (
	purposeRecipient = "outpace recipient pseudonym"
	purposeMessage   = "outpace message digest"
)

// sendIdentity is how a single send names its recipient and its text under
// one payload key, or in clear when keys is nil.
type sendIdentity struct {
	keyID      string // "" in clear
	recipient  string // the URN, or its pseudonym
	workflowID string
}

// sendIdentities lists the names a send of message to urn has: under each
// payload key, the active one first, then in clear (how a send was named
// before encryption was turned on). The first is the one a new send takes;
// the others find a send started before a key rotation, or before
// encryption, so that it is not sent again.
func sendIdentities(keys *codec.Keyring, urn, message string) []sendIdentity {
	var ids []sendIdentity
	if keys != nil {
		for _, keyID := range keys.KeyIDs() {
			rs, _ := keys.Derive(keyID, purposeRecipient)
			ms, _ := keys.Derive(keyID, purposeMessage)
			mac := hmac.New(sha256.New, ms)
			mac.Write([]byte(message))
			p := workflows.RecipientPseudonym(rs, urn)
			ids = append(ids, sendIdentity{keyID: keyID, recipient: p,
				workflowID: "send-" + p + "-" + hex.EncodeToString(mac.Sum(nil))[:12]})
		}
	}
	return append(ids, sendIdentity{recipient: urn, workflowID: sendWorkflowID(urn, message)})
}

// findEarlierSend returns the first of ids that names an existing run, or
// "" if none does. An error other than "not found" is returned: without an
// answer, sending could message someone twice.
func findEarlierSend(ctx context.Context, c client.Client, ids []sendIdentity) (string, error) {
	for _, id := range ids {
		_, err := describe(ctx, c, id.workflowID, "")
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			return id.workflowID, nil
		case !errors.As(err, &nf):
			return "", fmt.Errorf("checking for an earlier run of this message: %w", err)
		}
	}
	return "", nil
}

// newRecipientKey is a fresh campaign recipient_key.
func newRecipientKey() (string, error) {
	b := make([]byte, workflows.RecipientKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating the campaign's recipient key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// previousCampaign is what a campaign's earlier run says about how it named
// its recipients.
type previousCampaign struct {
	exists  bool
	running bool
	key     string // its recipient_key; "" when it named recipients by URN
}

// readPreviousCampaign reads the recipient_key of the latest run under id,
// from its first event, with dc (which decrypts when encrypted is true). A
// run that exists but cannot be read is an error: a new run with another
// key would message everyone that run messaged again.
func readPreviousCampaign(ctx context.Context, c client.Client, dc converter.DataConverter, encrypted bool, id string) (previousCampaign, error) {
	d, err := describe(ctx, c, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return previousCampaign{}, nil
	case err != nil:
		return previousCampaign{}, fmt.Errorf("checking whether campaign %s ran before: %w", id, err)
	}
	prev := previousCampaign{exists: true, running: d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	in, err := readCampaignInput(ctx, c, dc, encrypted, id, d.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	if err != nil {
		return prev, err
	}
	if in.RecipientKey != "" {
		if _, err := workflows.ParseRecipientKey(in.RecipientKey); err != nil {
			return prev, fmt.Errorf("campaign %s's earlier run: %w", id, err)
		}
	}
	prev.key = in.RecipientKey
	return prev, nil
}

// readCampaignInput reads a campaign run's input from its first event,
// with dc (which decrypts when encrypted is true).
func readCampaignInput(ctx context.Context, c client.Client, dc converter.DataConverter, encrypted bool, id, runID string) (workflows.CampaignInput, error) {
	return stops.CampaignInput(ctx, c, dc, encrypted, id, runID)
}

// earlierMessages looks for messages of campaign id when the campaign's own
// runs are gone: removed after the namespace's retention period, while
// messages that ended later are still kept, and still refuse to be started
// twice. found says there are some; pseudonyms that they name recipients by
// pseudonyms, with a key that went with the campaign's input.
func earlierMessages(ctx context.Context, c client.Client, namespace, id string) (found, pseudonyms bool, err error) {
	// Runs of invalid rows (<id>/invalid-line-N) name nobody, so the pages
	// are read until a run that names a recipient says how it does.
	// A sequence campaign's recipients are its Sequence runs.
	query := fmt.Sprintf("WorkflowType IN (%s, %s) AND CampaignId = %s", visibilityString(workflows.SendMessageWorkflow),
		visibilityString(workflows.SequenceWorkflow), visibilityString(id))
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, PageSize: 100, Query: query}
	for {
		resp, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return false, false, fmt.Errorf("looking for earlier messages of campaign %s: %w%s", id, err, searchAttributeHint(err))
		}
		for _, e := range resp.GetExecutions() {
			found = true
			name := strings.TrimPrefix(e.GetExecution().GetWorkflowId(), id+"/")
			if !strings.HasPrefix(name, "invalid-line-") {
				return true, workflows.IsPseudonym(name), nil
			}
		}
		if len(resp.GetNextPageToken()) == 0 {
			return found, false, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// --- recipient-id ---

var recipientIDCommand = command{
	name:    "recipient-id",
	summary: "the name a recipient has in workflow ids and search attributes",
	usage: `starter recipient-id prints how a recipient is named where Temporal stores
names in clear: in workflow ids and the RecipientUrn search attribute. With
payload encryption on, that is a keyed pseudonym, "r-" and 20 hex digits,
never the URN; paste the filter it prints into the Temporal UI.

Usage:
  starter recipient-id --urn URN [--campaign ID]

Without --campaign: the name single sends ("starter send") use, under each
payload key, the active one first. It needs no Temporal server.
With --campaign: the name in that campaign, whose key is read from its input.
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		r := &recipientID{common: o}
		fs.StringVar(&r.urn, "urn", "", "the recipient's URN, urn:li:person:<id> (required)")
		fs.StringVar(&r.campaign, "campaign", "", "the campaign id, for a campaign's messages")
		return r.run
	},
}

type recipientID struct {
	*common
	urn, campaign string
}

// recipientIDOutput is what recipient-id --json prints.
type recipientIDOutput struct {
	URN        string `json:"urn"`
	CampaignID string `json:"campaign_id,omitempty"`
	// RecipientIDs: the campaign's, or single sends' under each key (the
	// active one first); the URN itself when recipients are named in clear.
	RecipientIDs []keyedRecipientID `json:"recipient_ids"`
	WorkflowID   string             `json:"workflow_id,omitempty"` // a campaign's message
	Query        string             `json:"query"`                 // for the UI's filter
}

type keyedRecipientID struct {
	KeyID       string `json:"key_id,omitempty"`
	RecipientID string `json:"recipient_id"`
}

func (r *recipientID) run(ctx context.Context) error {
	r.urn = strings.TrimSpace(r.urn)
	if r.urn == "" {
		return usagef("--urn: is required (a LinkedIn person URN, urn:li:person:<id>)")
	}
	out := recipientIDOutput{URN: r.urn, CampaignID: r.campaign}
	if r.campaign == "" {
		keys, err := r.temporal.Keys()
		if err != nil {
			return err
		}
		var quoted []string
		for _, id := range sendIdentities(keys, r.urn, "") {
			if keys != nil && id.keyID == "" {
				continue // single sends under keys are not named in clear
			}
			out.RecipientIDs = append(out.RecipientIDs, keyedRecipientID{KeyID: id.keyID, RecipientID: id.recipient})
			quoted = append(quoted, visibilityString(id.recipient))
		}
		out.Query = workflows.RecipientURNAttribute.GetName() + " = " + quoted[0]
		if len(quoted) > 1 {
			out.Query = workflows.RecipientURNAttribute.GetName() + " IN (" + strings.Join(quoted, ", ") + ")"
		}
	} else {
		c, err := r.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		prev, err := readPreviousCampaign(ctx, c, r.dataConverter, r.keys != nil, r.campaign)
		switch {
		case err != nil:
			return err
		case !prev.exists:
			return fmt.Errorf("--campaign: no campaign %s found in namespace %s", r.campaign, r.namespace)
		}
		in := workflows.CampaignInput{RecipientKey: prev.key}
		name, _ := in.CampaignRecipientID(r.urn) // the key was checked when read
		out.RecipientIDs = []keyedRecipientID{{RecipientID: name}}
		out.WorkflowID = r.campaign + "/" + name
		out.Query = workflows.CampaignIDAttribute.GetName() + " = " + visibilityString(r.campaign) +
			" AND " + workflows.RecipientURNAttribute.GetName() + " = " + visibilityString(name)
	}
	if r.json {
		printJSON(r.stdout, out)
		return nil
	}
	w := r.stdout
	fmt.Fprintf(w, "%s\n", r.urn)
	for i, id := range out.RecipientIDs {
		switch {
		case out.CampaignID != "":
			fmt.Fprintf(w, "  in campaign %s: %s\n  its message:  %s\n", out.CampaignID, id.RecipientID, out.WorkflowID)
		case id.KeyID == "":
			fmt.Fprintf(w, "  single sends: %s (payload encryption is off: the URN itself)\n", id.RecipientID)
		case i == 0:
			fmt.Fprintf(w, "  single sends: %s (key %s, active)\n", id.RecipientID, id.KeyID)
		default:
			fmt.Fprintf(w, "  single sends: %s (key %s, for runs sent before it was rotated out)\n", id.RecipientID, id.KeyID)
		}
	}
	fmt.Fprintf(w, "  UI filter:    %s\n", out.Query)
	return nil
}
