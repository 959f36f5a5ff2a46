package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/senders"
)

// Error types of the contacts store's verdicts and failures. Each certainly
// created no OutX task: the check comes before the request.
const (
	// ErrExcluded: the person is on the do-not-contact list; the message
	// says why they were added.
	ErrExcluded = "Excluded"
	// ErrContactedElsewhere: another campaign contacted the person within
	// the campaign's contact policy; the message names that campaign.
	ErrContactedElsewhere = "ContactedElsewhere"
	// ErrContactsUnavailable: the contacts store could not be read or
	// written, so no action was taken without its check. Waiting for it
	// and trying again is right.
	ErrContactsUnavailable = "ContactsUnavailable"
)

// The store's calls on the send path are bounded so that the send's minute
// (its start-to-close timeout) holds the claim, OutX's 30 seconds and the
// record of a refused request.
const (
	claimTimeout        = 15 * time.Second
	finishNoTaskTimeout = 5 * time.Second
)

// Ledger says which ledger row a contacting action is: the campaign, the
// sequence step and the profile slug when known, and the campaign's
// contact policy. The workflow and run come from the activity's info.
type Ledger struct {
	CampaignID  string `json:"campaign_id,omitempty"`
	Step        string `json:"step,omitempty"`
	ProfileSlug string `json:"profile_slug,omitempty"`
	// Policy is the campaign's contact policy; nil is the default (same
	// account, 90 days).
	Policy *contacts.Policy `json:"contact_policy,omitempty"`
}

// claim asks the contacts store whether the action may be taken, and
// records it: nil means go ahead (also when the worker has no store). A
// refusal is a non-retryable ApplicationError of type ErrExcluded,
// ErrContactedElsewhere or ErrContactsUnavailable.
func (a *Activities) claim(ctx context.Context, action contacts.Action, sender, urn string, l Ledger) error {
	if a.Contacts == nil {
		return nil
	}
	info := activity.GetInfo(ctx)
	c := contacts.Claim{
		Account: senders.Or(sender), RecipientURN: urn, ProfileSlug: l.ProfileSlug, Action: action,
		CampaignID: l.CampaignID, Step: l.Step,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, At: time.Now().UTC(),
	}
	if l.Policy != nil {
		c.Policy = *l.Policy
	}
	// Bounded well inside the send's minute: a store that hangs must come
	// back as ErrContactsUnavailable (nothing sent, retried), never as the
	// activity's timeout, which the workflow must read as a send that may
	// have reached OutX.
	cctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	v, err := a.Contacts.Claim(cctx, c)
	switch {
	case err != nil:
		return unavailable(err, false)
	case v.Excluded:
		return temporal.NewNonRetryableApplicationError(excludedText(v), ErrExcluded, nil)
	case v.Skipped:
		return temporal.NewNonRetryableApplicationError(elsewhereText(v, l.Policy), ErrContactedElsewhere, nil)
	case !v.OK:
		return temporal.NewNonRetryableApplicationError("the contacts store refused the action: "+orText(v.Reason, "no reason given"), ErrContactedElsewhere, nil)
	}
	return nil
}

// finish records how a claimed action ended. Errors are the store's.
func (a *Activities) finish(ctx context.Context, r contacts.Result) error {
	if a.Contacts == nil || r.Action == "" {
		return nil
	}
	r.WorkflowID = activity.GetInfo(ctx).WorkflowExecution.ID
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	return a.Contacts.Finish(ctx, r)
}

// finishNoTask frees the claim of an action whose request certainly made
// no OutX task, so that the person is not blocked from a later attempt; a
// store that cannot be written now only leaves the claim to this run
// (its own retry is still granted), so it is logged, not returned.
func (a *Activities) finishNoTask(ctx context.Context, action contacts.Action, step, outcome string, sendErr error) {
	fctx, cancel := context.WithTimeout(ctx, finishNoTaskTimeout)
	defer cancel()
	err := a.finish(fctx, contacts.Result{Action: action, Step: step, Outcome: outcome, Reason: sendErr.Error(), NoTask: outcome != "unknown"})
	if err != nil {
		activity.GetLogger(ctx).Warn("Could not record the action's end in the contacts store", "Error", err)
	}
}

// recordRead records a read of OutX (a look-up, a connection check) that
// made its task: reads are not checked against the do-not-contact list or
// the policy, only recorded, and a look-up that found the URN of a slug
// teaches the store who the slug is. A store that cannot be written only
// loses the record (the read is not repeated for it), so it is logged; the
// error is returned for the caller whose record carries an event
// (CheckConnection's connection.accepted), which must not be lost.
func (a *Activities) recordRead(ctx context.Context, action contacts.Action, sender, urn, slug string, l Ledger, taskID, outcome, reason string) error {
	if a.Contacts == nil {
		return nil
	}
	l.ProfileSlug = slug
	err := a.claim(ctx, action, sender, urn, l)
	if err == nil {
		fctx, cancel := context.WithTimeout(ctx, finishTimeout)
		err = a.finish(fctx, contacts.Result{Action: action, Step: l.Step, TaskID: taskID, Outcome: outcome, Reason: reason})
		cancel()
	}
	if err != nil {
		activity.GetLogger(ctx).Warn("Could not record the "+string(action)+" in the contacts store", "Error", err, "TaskID", taskID)
	}
	return err
}

// unavailable is the ApplicationError of a store that failed: the action
// waits for it. retryable is for reads that are safe to repeat (a poll).
func unavailable(err error, retryable bool, details ...any) error {
	// The message starts with the sentinel's text, which the workflow
	// shows as it is: "the contacts store is unavailable (sqlite:...): ...".
	msg := err.Error()
	if !strings.HasPrefix(msg, contacts.ErrUnavailable.Error()) {
		msg = contacts.ErrUnavailable.Error() + " (" + msg + ")"
	}
	if retryable {
		return temporal.NewApplicationError(msg, ErrContactsUnavailable, details...)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrContactsUnavailable, nil, details...)
}

func excludedText(v contacts.Verdict) string {
	if v.Reason != "" {
		return v.Reason // "on the do-not-contact list (URN): reason"
	}
	return "on the do-not-contact list"
}

// elsewhereText names the campaign that contacted the person before, and
// the policy that makes it count.
func elsewhereText(v contacts.Verdict, p *contacts.Policy) string {
	s := v.Reason
	if e := v.Earlier; s == "" && e != nil {
		who := fmt.Sprintf("campaign %q", e.CampaignID)
		if e.CampaignID == "" {
			who = "a single send"
		}
		s = fmt.Sprintf("already contacted by %s from account %q on %s (%s)", who, e.Account, e.ClaimedAt.UTC().Format("2006-01-02"), e.Action)
	}
	if s == "" {
		s = "already contacted by another campaign"
	}
	pol := contacts.Policy{}
	if p != nil {
		pol = *p
	}
	scope, window := pol.Scope, pol.Window
	if scope == "" {
		scope = contacts.ScopeAccount
	}
	if window == 0 {
		window = contacts.DefaultWindow
	}
	what := "the same account"
	if scope == contacts.ScopeAll {
		what = "any account"
	}
	return fmt.Sprintf("%s; the contact policy skips a person contacted by another campaign of %s within %s", s, what, days(window))
}

func days(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
