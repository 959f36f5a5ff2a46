package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/webhooks"
)

// Error types of the campaign's activities.
const (
	// ErrCampaignInput: the template or the recipient list cannot be used
	// (a CSV that does not parse, a template with a syntax error).
	ErrCampaignInput = "CampaignInput"
	// ErrRecipientsChanged: the CSV file is not the one the campaign was
	// started with. Reading on could skip or repeat rows.
	ErrRecipientsChanged = "RecipientsChanged"
	// ErrProfileNotFound: OutX could not resolve a profile to a URN.
	ErrProfileNotFound = "ProfileNotFound"
)

// RecipientsFile is a CSV file of recipients, readable by the worker. SHA256
// is the digest the starter computed when it checked the file; the worker
// refuses a file whose contents changed since.
type RecipientsFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
}

// InspectInput is a campaign's recipient source, checked once at its start.
// Parts, when set, are the texts of a sequence's steps and are used instead
// of Template, so that every step's text is checked for every recipient.
type InspectInput struct {
	File     *RecipientsFile      `json:"file,omitempty"`
	Template string               `json:"template"`
	Variants []recipients.Variant `json:"variants,omitempty"` // instead of Template
	Parts    []recipients.Part    `json:"parts,omitempty"`
}

// InspectResult counts the recipients a campaign will go through.
type InspectResult struct {
	Rows    int `json:"rows"`
	Invalid int `json:"invalid"`
}

// InspectRecipients reads the whole CSV once: it checks the file's digest,
// its structure and the template, and counts the rows, so the campaign's
// progress has a total. Row-level problems are not errors: those recipients
// become invalid when their page is read.
func (a *Activities) InspectRecipients(ctx context.Context, in InspectInput) (InspectResult, error) {
	t, err := recipients.ParseTexts(in.Template, in.Variants, in.Parts)
	if err != nil {
		return InspectResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrCampaignInput, nil)
	}
	if in.File == nil {
		return InspectResult{}, nil
	}
	f, err := os.Open(in.File.Path)
	if err != nil {
		// Retryable: a shared volume may be mounted late. One error, not a
		// chain, so that the campaign's failure shows the path, not only
		// "no such file or directory".
		return InspectResult{}, temporal.NewApplicationError("recipients file: "+err.Error(), ErrCampaignInput)
	}
	defer f.Close()
	sum, err := recipients.Scan(f, t, 0)
	if err != nil {
		return InspectResult{}, temporal.NewNonRetryableApplicationError(in.File.Path+": "+err.Error(), ErrCampaignInput, nil)
	}
	if in.File.SHA256 != "" && sum.SHA256 != in.File.SHA256 {
		return InspectResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s changed since the campaign was checked (sha256 %s, expected %s)", in.File.Path, sum.SHA256, in.File.SHA256),
			ErrRecipientsChanged, nil)
	}
	return InspectResult{Rows: sum.Rows, Invalid: sum.Invalid}, nil
}

// LoadInput asks for the next page of a campaign's recipients: from the CSV
// file at Cursor, or, for an inline list, the slice Inline whose first entry
// is recipient number First+1. Parts, when set, are used instead of Template,
// as in InspectInput, and the page's recipients then carry Texts.
//
// CampaignID keys each recipient's variants and spintax choices (with the
// recipient and the step, and nothing else), so that the page rendered
// again after a crash, and the campaign started again under the same id,
// give everyone the same text. The page is recorded in the campaign's
// history as this activity's result: a replay reads it, never renders it.
type LoadInput struct {
	CampaignID string                 `json:"campaign_id,omitempty"`
	File       *RecipientsFile        `json:"file,omitempty"`
	Inline     []recipients.Recipient `json:"inline,omitempty"`
	First      int                    `json:"first,omitempty"`
	Template   string                 `json:"template"`
	Variants   []recipients.Variant   `json:"variants,omitempty"` // instead of Template
	Parts      []recipients.Part      `json:"parts,omitempty"`
	Cursor     recipients.Cursor      `json:"cursor"`
	Limit      int                    `json:"limit"`
	// Sender is the campaign's account, for the message.invalid events of
	// the page's invalid rows.
	Sender string `json:"sender,omitempty"`
}

// MaxPageBytes bounds the message text of one page, well under Temporal's
// 2 MB payload limit.
const MaxPageBytes = 512 << 10

// LoadRecipients reads one page of recipients and renders their messages,
// and writes a message.invalid event for each invalid row when the
// worker's webhooks take it (at no extra action: this activity runs anyway).
func (a *Activities) LoadRecipients(ctx context.Context, in LoadInput) (recipients.Page, error) {
	page, err := a.loadRecipients(in)
	if err != nil {
		return page, err
	}
	if err := a.emitInvalid(ctx, in, page.Recipients); err != nil {
		return recipients.Page{}, unavailable(err, true) // loading again is safe
	}
	return page, nil
}

// emitInvalid writes message.invalid for each recipient with problems; its
// id is the campaign's run and the row's line, the same on every reload.
func (a *Activities) emitInvalid(ctx context.Context, in LoadInput, rs []recipients.Prepared) error {
	if !a.Events.Enabled() {
		return nil
	}
	wf := activity.GetInfo(ctx).WorkflowExecution.ID
	for _, r := range rs {
		if len(r.Problems) == 0 {
			continue
		}
		err := a.Events.Emit(ctx, webhooks.Event{
			ID: webhooks.ID(wf, webhooks.MessageInvalid, fmt.Sprint("line ", r.Line)), Type: webhooks.MessageInvalid,
			Account: senders.Or(in.Sender), Campaign: in.CampaignID, RecipientURN: r.RecipientURN,
			Outcome: "invalid", Reason: fmt.Sprintf("line %d: %s", r.Line, strings.Join(r.Problems, "; ")),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *Activities) loadRecipients(in LoadInput) (recipients.Page, error) {
	t, err := recipients.ParseTexts(in.Template, in.Variants, in.Parts)
	if err != nil {
		return recipients.Page{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrCampaignInput, nil)
	}
	t = t.ForCampaign(in.CampaignID)
	if in.File == nil {
		prepared, _, _ := recipients.Inline(in.Inline, t, 0, len(in.Inline))
		for i := range prepared {
			prepared[i].Line += in.First
		}
		return recipients.Page{Recipients: prepared, Done: true}, nil
	}
	f, err := os.Open(in.File.Path)
	if err != nil {
		return recipients.Page{}, temporal.NewApplicationError("recipients file: "+err.Error(), ErrCampaignInput) // retryable, as above
	}
	defer f.Close()
	// The full digest was checked when the campaign started; a file cut
	// short since is caught here, per page, at no cost.
	if st, err := f.Stat(); err == nil && st.Size() < in.Cursor.Offset {
		return recipients.Page{}, temporal.NewNonRetryableApplicationError(
			in.File.Path+" is shorter than the campaign's position in it: it was replaced", ErrRecipientsChanged, nil)
	}
	page, err := recipients.ReadPage(f, in.Cursor, in.Limit, MaxPageBytes, t)
	if err != nil {
		return recipients.Page{}, temporal.NewNonRetryableApplicationError(in.File.Path+": "+err.Error(), ErrCampaignInput, nil)
	}
	return page, nil
}

// FileDigest is the hex SHA-256 of a file, as RecipientsFile.SHA256 wants it.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LookupInput names a LinkedIn profile by its public slug, and the account
// that looks it up.
type LookupInput struct {
	Sender      string `json:"sender,omitempty"`
	ProfileSlug string `json:"profile_slug"`
	// CampaignID is recorded with the look-up in the contacts store.
	CampaignID string `json:"campaign_id,omitempty"`
}

// LookupResult is the person URN OutX found for a profile.
type LookupResult struct {
	RecipientURN string `json:"recipient_urn"`
	TaskID       string `json:"task_id"`
	Polls        int    `json:"polls"`
}

// LookupProfile resolves a profile slug to a person URN with OutX's Fetch
// Profile: it creates the task, then polls it until final, heartbeating
// the task id so that a retried attempt polls it instead of creating
// another. Creation errors carry the same types as Send's; a repeated fetch
// is harmless (it messages nobody), so an ambiguous creation is retryable.
func (a *Activities) LookupProfile(ctx context.Context, in LookupInput) (LookupResult, error) {
	c, err := a.client(in.Sender)
	if err != nil {
		return LookupResult{}, err
	}
	task, p, err := a.readTask(ctx, c, "profile look-up", func() (outx.TaskCreated, error) {
		return c.FetchProfile(ctx, outx.FetchProfileRequest{ProfileSlug: in.ProfileSlug})
	})
	if err != nil {
		return LookupResult{}, err
	}
	urn, ok := task.ProfileURN()
	if !ok {
		err := fmt.Errorf("profile_slug %q: OutX found no profile (%s)", in.ProfileSlug, task.FailureReason())
		_ = a.recordRead(ctx, contacts.ActionLookup, in.Sender, "", in.ProfileSlug, Ledger{CampaignID: in.CampaignID, Step: "profile " + in.ProfileSlug}, p.TaskID, "failed", err.Error())
		return LookupResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrProfileNotFound, nil)
	}
	if err := outx.ValidateRecipientURN(urn); err != nil {
		err := fmt.Errorf("profile_slug %q: OutX returned %s", in.ProfileSlug, err)
		_ = a.recordRead(ctx, contacts.ActionLookup, in.Sender, "", in.ProfileSlug, Ledger{CampaignID: in.CampaignID, Step: "profile " + in.ProfileSlug}, p.TaskID, "failed", err.Error())
		return LookupResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrProfileNotFound, nil)
	}
	// The URN found teaches the store who the slug is (a do-not-contact
	// entry by profile URL then holds for the URN).
	_ = a.recordRead(ctx, contacts.ActionLookup, in.Sender, urn, in.ProfileSlug, Ledger{CampaignID: in.CampaignID, Step: "profile " + in.ProfileSlug}, p.TaskID, "delivered", "")
	return LookupResult{RecipientURN: urn, TaskID: p.TaskID, Polls: p.Polls}, nil
}
