package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// previewContacts is what the contacts store says of a campaign's rows
// before it starts: who would be excluded (on the do-not-contact list) and
// who skipped (contacted by another campaign, under the campaign's contact
// policy and sender). It is a forecast: the campaign checks each person
// again when their turn comes.
type previewContacts struct {
	Store  string `json:"store"`
	Policy string `json:"policy"`
	// Error says why the store was not checked (it could not be opened or
	// read); the rest of the preview stands.
	Error   string `json:"error,omitempty"`
	Checked int    `json:"checked"`
	// ByProfile counts the rows named by profile only: they are checked
	// against the list's entries by slug; whether another campaign reached
	// them is known once their URN is looked up, when their turn comes.
	ByProfile int           `json:"by_profile,omitempty"`
	Excluded  int           `json:"excluded"`
	Skipped   int           `json:"skipped"`
	Rows      []previewHeld `json:"rows,omitempty"` // the first few of each
}

// previewHeld is one row the store would hold back.
type previewHeld struct {
	Line    int               `json:"line"`
	Person  string            `json:"person"`
	Outcome workflows.Outcome `json:"outcome"` // excluded or skipped
	Reason  string            `json:"reason"`
}

// maxPreviewHeld is how many held rows of each outcome a preview names.
const maxPreviewHeld = 5

// checkBatch is how many rows are checked in one call to the store.
const checkBatch = 500

// previewCampaignID stands for the campaign when preview has no id: a
// campaign's claim that any earlier campaign counts against.
const previewCampaignID = "(preview)"

// checkContacts asks the store (read-only) what it would answer for each
// valid row of the campaign.
func checkContacts(ctx context.Context, db *contactsDB, o *common, in workflows.CampaignInput) previewContacts {
	out := previewContacts{Store: db.where(), Policy: contactPolicyText(in.ContactPolicy)}
	policy, err := in.ContactPolicy.Policy()
	if err != nil { // Validate has refused it already
		out.Error = err.Error()
		return out
	}
	store, err := db.open(ctx, o, false)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer store.Close()
	action := contacts.ActionMessage
	for _, st := range in.Steps {
		if st.Type == workflows.StepConnect || st.Type == workflows.StepMessage {
			if st.Type == workflows.StepConnect {
				action = contacts.ActionConnect
			}
			break
		}
	}
	base := contacts.Claim{Account: senders.Or(in.Sender), Action: action, CampaignID: cmp.Or(in.CampaignID, previewCampaignID),
		WorkflowID: checkerID, Policy: policy, At: time.Now().UTC()}
	hold := holder(&out)
	var batch []recipients.Prepared
	var byProfile []recipients.Prepared // kept to the end: one pass over the list finds them all
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		claims := make([]contacts.Claim, len(batch))
		for i, r := range batch {
			claims[i] = base
			claims[i].RecipientURN, claims[i].ProfileSlug = r.RecipientURN, r.ProfileSlug
		}
		verdicts, err := store.CheckMany(ctx, claims)
		if err != nil {
			return err
		}
		hold(batch, verdicts)
		batch = batch[:0]
		return nil
	}
	add := func(r recipients.Prepared) error {
		switch {
		case len(r.Problems) > 0 || (r.RecipientURN == "" && r.ProfileSlug == ""):
			return nil // invalid: nothing is sent to them
		case r.RecipientURN == "":
			if len(byProfile) < maxByProfile {
				byProfile = append(byProfile, r)
			}
			out.ByProfile++
			return nil
		}
		batch = append(batch, r)
		if len(batch) >= checkBatch {
			return flush()
		}
		return nil
	}
	err = eachRow(in, add)
	if err == nil {
		err = flush()
	}
	if err == nil && len(byProfile) > 0 {
		wanted := map[string]bool{}
		for _, r := range byProfile {
			wanted[strings.ToLower(r.ProfileSlug)] = true
		}
		var found map[string]*contacts.DNCEntry
		if found, err = dncBySlug(ctx, store, wanted); err == nil {
			verdicts := make([]contacts.Verdict, len(byProfile))
			for i, r := range byProfile {
				if e := found[strings.ToLower(r.ProfileSlug)]; e != nil {
					verdicts[i] = contacts.Verdict{Excluded: true, Reason: dncText(e), DNC: e}
				}
			}
			hold(byProfile, verdicts)
		}
	}
	if err != nil {
		out.Error = fmt.Sprintf("reading the contacts store (after %d rows): %v", out.Checked, err)
	}
	slices.SortStableFunc(out.Rows, func(a, b previewHeld) int { return cmp.Compare(a.Line, b.Line) })
	return out
}

// maxByProfile bounds the rows named by profile that a preview checks.
const maxByProfile = 100_000

// holder counts the verdicts of rows into out, keeping the first few held
// rows of each outcome.
func holder(out *previewContacts) func([]recipients.Prepared, []contacts.Verdict) {
	return func(rows []recipients.Prepared, verdicts []contacts.Verdict) {
		for i, v := range verdicts {
			out.Checked++
			held := previewHeld{Line: rows[i].Line, Person: cmp.Or(rows[i].RecipientURN, "profile "+rows[i].ProfileSlug), Reason: v.Reason}
			switch {
			case v.Excluded:
				out.Excluded++
				held.Outcome = workflows.Excluded
				if out.Excluded > maxPreviewHeld {
					continue
				}
			case v.Skipped:
				out.Skipped++
				held.Outcome = workflows.Skipped
				if out.Skipped > maxPreviewHeld {
					continue
				}
			default:
				continue
			}
			out.Rows = append(out.Rows, held)
		}
	}
}

// eachRow calls fn for every row of the campaign, in order, as the worker
// prepares them.
func eachRow(in workflows.CampaignInput, fn func(recipients.Prepared) error) error {
	t, err := parseTexts(in)
	if err != nil {
		return err
	}
	t = t.ForCampaign(in.CampaignID)
	if in.RecipientsFile == nil {
		rs, _, _ := recipients.Inline(in.Recipients, t, 0, len(in.Recipients))
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(in.RecipientsFile.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	var cur recipients.Cursor
	for {
		page, err := recipients.ReadPage(f, cur, checkBatch, 64<<20, t)
		if err != nil {
			return err
		}
		for _, r := range page.Recipients {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Done {
			return nil
		}
		cur = page.Next
	}
}

// printPreviewContacts writes the store's forecast under the preview.
func printPreviewContacts(w io.Writer, in workflows.CampaignInput, pc previewContacts) {
	if pc.Error != "" {
		fmt.Fprintf(w, "contacts: not checked: %s\n", pc.Error)
		fmt.Fprintf(w, "  (the campaign checks each person in the worker's store when their turn comes)\n")
		return
	}
	fmt.Fprintf(w, "contacts: %s, policy %s (sender %s)\n", pc.Store, pc.Policy, senders.Or(in.Sender))
	fmt.Fprintf(w, "  excluded %d (on the do-not-contact list)  skipped %d (contacted by another campaign)\n", pc.Excluded, pc.Skipped)
	for _, r := range pc.Rows {
		fmt.Fprintf(w, "  %s  %s  %s: %s\n", rowLabel(in, r.Line), r.Person, r.Outcome, r.Reason)
	}
	if more := pc.Excluded + pc.Skipped - len(pc.Rows); more > 0 {
		fmt.Fprintf(w, "  (and %d more)\n", more)
	}
	if pc.ByProfile > 0 {
		fmt.Fprintf(w, "  %d named by profile: checked against the list by slug; whether another campaign reached them is checked when their URN is looked up\n", pc.ByProfile)
	}
}

// dncText says why a person named by profile would be excluded, as the
// store says it of a person it finds by URN.
func dncText(e *contacts.DNCEntry) string {
	r := "on the do-not-contact list (profile " + e.ProfileSlug + ")"
	if e.Reason != "" {
		r += ": " + e.Reason
	}
	return r
}

// contactPolicyText says a campaign's contact policy in words ("account
// within 90d", "allow (no cross-campaign check)"); nil is the default.
func contactPolicyText(cp *workflows.ContactPolicy) string {
	if cp == nil {
		cp = &workflows.ContactPolicy{}
	}
	return cp.String()
}
