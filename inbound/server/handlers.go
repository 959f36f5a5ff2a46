package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/inbound/api"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/stops"
	"github.com/outpacehq/outpace/workflows"
)

// who is a person as a call names them, parsed: a URN, or a profile slug
// (from a URL or given bare) and the URN the ledger knows for it.
type who struct {
	urn, slug string
}

// person parses a person field (a URN, a profile URL or a slug) by the
// project's rules: recipients.ParsePerson, as the DNC commands read them.
func person(field, s string) (who, error) {
	urn, slug, err := recipients.ParsePerson(s)
	if err != nil {
		var fe *outx.FieldError
		msg := err.Error()
		if errors.As(err, &fe) {
			msg = fe.Rule
		}
		return who{}, &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Field: field, Message: msg}
	}
	return who{urn: urn, slug: slug}, nil
}

// checkReason refuses a reason a log or a workflow's history should not
// keep: too long, or with control characters.
func checkReason(reason string) error {
	bad := func(msg string) error {
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Field: "reason", Message: msg}
	}
	switch {
	case len(reason) > stops.MaxReason:
		return bad(fmt.Sprintf("is %d bytes long; at most %d", len(reason), stops.MaxReason))
	case strings.ContainsFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' }):
		return bad("must not contain control characters")
	case strings.ContainsRune(reason, '\uFFFD'):
		return bad("must be valid UTF-8 text")
	}
	return nil
}

// resolve finds the URN of a person named by slug, from the ledger (a
// lookup outpace did taught it). Empty when unknown or without a store.
func (s *Server) resolve(ctx context.Context, p who) (string, error) {
	if p.urn != "" || s.Store == nil {
		return p.urn, nil
	}
	entries, err := s.Store.History(ctx, p.slug)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.RecipientURN != "" {
			return e.RecipientURN, nil
		}
	}
	return "", nil
}

func (s *Server) needStore() error {
	if s.Store == nil {
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeNoStore,
			Message: "this server has no contacts store: start it with --contacts-db (or " + contacts.EnvDB + ")"}
	}
	return nil
}

// stop is POST /v1/stops.
func (s *Server) stop(ctx context.Context, r *http.Request) (any, error) {
	var in api.StopRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	p, err := person("person", in.Person)
	if err != nil {
		return nil, err
	}
	if err := checkReason(in.Reason); err != nil {
		return nil, err
	}
	req := stops.Request{RecipientURN: p.urn, Scope: stops.Scope(in.Scope), Campaign: in.Campaign, Account: in.Account, Reason: in.Reason}
	if req.RecipientURN == "" {
		// A person named by a slug has no URN yet: the other fields are
		// checked with a stand-in, and the URN is looked up after.
		req.RecipientURN = "urn:li:person:stand-in"
	}
	if err := req.Check(); err != nil {
		return nil, firstFieldError(err)
	}
	out := api.StopResponse{RecipientURN: p.urn, ProfileSlug: p.slug, Scope: in.Scope, Told: []api.Told{}, At: s.now().UTC()}
	if p.urn == "" {
		urn, err := s.resolve(ctx, p)
		if err != nil {
			return nil, err
		}
		if urn == "" && (req.Scope != stops.ScopeEverywhere || s.Store == nil) {
			return nil, &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeUnresolved, Field: "person",
				Message: fmt.Sprintf("outpace knows no URN for profile %q yet (no action on them in the ledger): give their URN, or stop them everywhere, which puts the slug on the do-not-contact list", p.slug)}
		}
		out.RecipientURN, req.RecipientURN = urn, urn
	}
	if req.Scope == stops.ScopeEverywhere && s.Store != nil {
		// The list outlives every run and holds for campaigns and accounts
		// not started yet: it is written first.
		e := contacts.DNCEntry{RecipientURN: out.RecipientURN, ProfileSlug: p.slug, Reason: in.Reason, AddedAt: s.now().UTC()}
		if err := s.Store.AddDNC(ctx, e); err != nil {
			return nil, err
		}
		out.DoNotContact = &api.DNCEntry{RecipientURN: e.RecipientURN, ProfileSlug: e.ProfileSlug, Reason: e.Reason, AddedAt: e.AddedAt}
	}
	if req.RecipientURN == "" {
		out.Notes = append(out.Notes, "no URN is known for this profile: it is on the do-not-contact list by its slug; no run was told")
		return out, nil
	}
	told, err := s.Stopper.Stop(ctx, req)
	for _, t := range told {
		out.Told = append(out.Told, api.Told(t))
	}
	if err != nil {
		return nil, err
	}
	if req.Scope == stops.ScopeEverywhere && len(told) == 0 {
		out.Notes = append(out.Notes, "no account pacer is running: no run was told")
	}
	return out, nil
}

// firstFieldError answers the first of a stop's field errors (the JSON
// error names one field).
func firstFieldError(err error) error {
	var fe *stops.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if errors.As(e, &fe) {
				return fe
			}
		}
	}
	return err
}

// addDNC is POST /v1/dnc.
func (s *Server) addDNC(ctx context.Context, r *http.Request) (any, error) {
	var in api.DNCRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	p, err := person("person", in.Person)
	if err != nil {
		return nil, err
	}
	if err := checkReason(in.Reason); err != nil {
		return nil, err
	}
	if err := s.needStore(); err != nil {
		return nil, err
	}
	e := contacts.DNCEntry{RecipientURN: p.urn, ProfileSlug: p.slug, Reason: in.Reason, AddedAt: s.now().UTC()}
	if err := s.Store.AddDNC(ctx, e); err != nil {
		return nil, err
	}
	return api.DNCEntry{RecipientURN: e.RecipientURN, ProfileSlug: e.ProfileSlug, Reason: e.Reason, AddedAt: e.AddedAt}, nil
}

// removeDNC is DELETE /v1/dnc/{person}.
func (s *Server) removeDNC(ctx context.Context, r *http.Request) (any, error) {
	p, err := person("person", r.PathValue("person"))
	if err != nil {
		return nil, err
	}
	if err := s.needStore(); err != nil {
		return nil, err
	}
	name := p.urn
	if name == "" {
		name = p.slug
	}
	removed, err := s.Store.RemoveDNC(ctx, name)
	if err != nil {
		return nil, err
	}
	return api.DNCRemoved{Person: name, Removed: removed}, nil
}

// person is GET /v1/people/{person}.
func (s *Server) person(ctx context.Context, r *http.Request) (any, error) {
	p, err := person("person", r.PathValue("person"))
	if err != nil {
		return nil, err
	}
	if err := s.needStore(); err != nil {
		return nil, err
	}
	out := api.PersonStatus{Person: p.urn, RecipientURN: p.urn, ProfileSlug: p.slug, Actions: []api.Action{}, Running: []api.Run{}}
	if out.Person == "" {
		out.Person = p.slug
	}
	entries, err := s.Store.History(ctx, out.Person)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if out.RecipientURN == "" {
			out.RecipientURN = e.RecipientURN
		}
		if out.ProfileSlug == "" {
			out.ProfileSlug = e.ProfileSlug
		}
		out.Actions = append(out.Actions, api.Action{Account: e.Account, RecipientURN: e.RecipientURN, ProfileSlug: e.ProfileSlug,
			Action: string(e.Action), CampaignID: e.CampaignID, Step: e.Step, WorkflowID: e.WorkflowID, TaskID: e.TaskID,
			Outcome: e.Outcome, Reason: e.Reason, ClaimedAt: e.ClaimedAt, FinishedAt: e.FinishedAt})
	}
	if out.DoNotContact, out.DNCReason, err = s.onDNC(ctx, who{urn: out.RecipientURN, slug: out.ProfileSlug}); err != nil {
		return nil, err
	}
	if out.RecipientURN != "" && !s.Stopper.Encrypted {
		if out.Running, err = s.running(ctx, out.RecipientURN); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// onDNC asks the store whether the person is on the do-not-contact list,
// as a message to them would (Check records nothing). A person known only
// by a slug is looked for in the list itself.
func (s *Server) onDNC(ctx context.Context, p who) (bool, string, error) {
	if p.urn == "" {
		found, reason := false, ""
		errFound := errors.New("found")
		err := s.Store.ListDNC(ctx, func(e contacts.DNCEntry) error {
			if e.ProfileSlug != "" && strings.EqualFold(e.ProfileSlug, p.slug) {
				found, reason = true, e.Reason
				return errFound
			}
			return nil
		})
		if err != nil && !errors.Is(err, errFound) {
			return false, "", err
		}
		return found, reason, nil
	}
	v, err := s.Store.Check(ctx, contacts.Claim{RecipientURN: p.urn, ProfileSlug: p.slug, Action: contacts.ActionMessage,
		WorkflowID: "inbound/status", Policy: contacts.Policy{Scope: contacts.ScopeAllow}, At: s.now().UTC()})
	if err != nil {
		return false, "", err
	}
	if v.DNC != nil {
		return v.Excluded, v.DNC.Reason, nil
	}
	return v.Excluded, v.Reason, nil
}

// running lists the person's runs (messages and sequences) that still run,
// from Temporal's visibility store. urn is checked: it is safe to quote.
func (s *Server) running(ctx context.Context, urn string) ([]api.Run, error) {
	if outx.ValidateRecipientURN(urn) != nil {
		return []api.Run{}, nil
	}
	query := fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", workflows.RecipientURNAttribute.GetName(), urn)
	out := []api.Run{}
	resp, err := s.Stopper.Client.ListWorkflow(ctx, listRequest(query))
	if err != nil {
		return nil, fmt.Errorf("listing the runs of %s: %w", urn, err)
	}
	for _, e := range resp.GetExecutions() {
		run := api.Run{WorkflowID: e.GetExecution().GetWorkflowId(), Type: e.GetType().GetName(), StartedAt: e.GetStartTime().AsTime()}
		if p := e.GetSearchAttributes().GetIndexedFields()[workflows.CampaignIDAttribute.GetName()]; p != nil {
			var id string
			if s.dataConverterOK(p, &id) {
				run.CampaignID = id
			}
		}
		out = append(out, run)
	}
	return out, nil
}
