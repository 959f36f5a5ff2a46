// Package stops is the one rule for stopping a person from outside a
// campaign: in one campaign (the campaign's stop-recipient update), in every
// campaign of a sender account (the account pacer's stop-recipient update,
// starting the pacer when none runs), or everywhere (every account pacer that
// runs on the task queue). `starter campaign stop-recipient` and the inbound
// HTTP server both call it, so a stop means the same from either.
//
// It only talks to Temporal: the do-not-contact list, which outlives any
// run, is the contacts store's, and the caller's to add to.
package stops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// Scope says where a person is stopped.
type Scope string

const (
	// ScopeCampaign: in one campaign; their sequence there ends "stopped".
	ScopeCampaign Scope = "campaign"
	// ScopeAccount: in every campaign of one sender account, now and in
	// campaigns started later (the account's pacer keeps the stop).
	ScopeAccount Scope = "account"
	// ScopeEverywhere: in every account whose pacer runs on the task queue.
	ScopeEverywhere Scope = "everywhere"
)

// MaxReason is the longest reason a stop keeps (the workflows' limit).
const MaxReason = 500

// Request is one stop.
type Request struct {
	RecipientURN string
	Scope        Scope
	// Campaign is required with ScopeCampaign; with ScopeAccount it names
	// the account (its sender) when Account is empty.
	Campaign string
	// Account is the sender account of ScopeAccount.
	Account string
	Reason  string
}

// FieldError is a request field that is missing or wrong: nothing was
// sent. Field is the name callers know it by (set by Check's caller when it
// has names of its own, e.g. flags).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Check validates r before anything is dialled or sent; every problem is a
// *FieldError, named by the request's JSON fields (recipient_urn, scope,
// campaign, account, reason).
func (r Request) Check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if err := outx.ValidateRecipientURN(r.RecipientURN); err != nil {
		var fe *outx.FieldError
		if errors.As(err, &fe) {
			bad("recipient_urn", "%s", fe.Rule)
		} else {
			bad("recipient_urn", "%v", err)
		}
	}
	switch r.Scope {
	case ScopeCampaign:
		if r.Account != "" {
			bad("account", "only with scope account (a campaign's own stop goes to the campaign)")
		}
		if r.Campaign == "" {
			bad("campaign", "is required with scope campaign")
		}
	case ScopeAccount:
		if r.Campaign == "" && r.Account == "" {
			bad("account", "is required with scope account (or campaign, to name the campaign's account)")
		}
	case ScopeEverywhere:
		if r.Campaign != "" || r.Account != "" {
			bad("scope", "everywhere names no campaign and no account")
		}
	default:
		bad("scope", "must be campaign, account or everywhere (got %q)", clip(string(r.Scope)))
	}
	if r.Account != "" && !senders.ValidName(r.Account) {
		bad("account", "%q is not a sender name: lower-case letters, digits, '-' and '_', at most 63", clip(r.Account))
	}
	if r.Campaign != "" {
		if err := CheckCampaignID(r.Campaign); err != nil {
			bad("campaign", "%v", err)
		}
	}
	if len(r.Reason) > MaxReason {
		bad("reason", "is %d bytes long; at most %d", len(r.Reason), MaxReason)
	}
	return errors.Join(errs...)
}

// CheckCampaignID refuses what cannot be a campaign's workflow id: empty,
// too long, or with control characters.
func CheckCampaignID(id string) error {
	switch {
	case id == "":
		return errors.New("is required")
	case len(id) > 200:
		return fmt.Errorf("is %d bytes long; a campaign id is at most 200", len(id))
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("must not contain control characters")
	}
	return nil
}

// ErrNotFound: the campaign named does not exist (or is not a campaign).
var ErrNotFound = errors.New("not found")

// ErrNotRunning: the campaign has ended, so there is no sequence to stop
// in it.
var ErrNotRunning = errors.New("not running")

// Told is one workflow a stop was sent to.
type Told struct {
	WorkflowID string `json:"workflow_id"`
	CampaignID string `json:"campaign_id,omitempty"`
	Account    string `json:"account,omitempty"`
	// Result is what the workflow answered it did.
	Result string `json:"result,omitempty"`
	// StartedPacer: the account's pacer was not running; the stop started
	// it, and it keeps the stop for the campaigns started later.
	StartedPacer bool `json:"started_pacer,omitempty"`
}

// Stopper sends stops through a Temporal client.
type Stopper struct {
	Client    client.Client
	TaskQueue string // the workers' task queue, where the account pacers run
	// DataConverter reads memos (decrypting them when payloads are
	// encrypted); nil is the default.
	DataConverter converter.DataConverter
	// Encrypted says payloads are encrypted (a campaign's input is read
	// only then when it is).
	Encrypted bool
	// UpdateWait is how long an update waits for its answer before the
	// stop goes as a signal; 0 is DefaultUpdateWait.
	UpdateWait time.Duration
}

func (s *Stopper) dc() converter.DataConverter {
	if s.DataConverter != nil {
		return s.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// Stop checks r, then stops the person where r says. An everywhere stop
// with no account pacer running tells nobody: the result is empty, not an
// error.
func (s *Stopper) Stop(ctx context.Context, r Request) ([]Told, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	switch r.Scope {
	case ScopeCampaign:
		run, err := s.Campaign(ctx, r.Campaign)
		if err != nil {
			return nil, err
		}
		if !run.Running {
			return nil, fmt.Errorf("campaign %s has ended (%s): its sequences are over, nothing was sent: %w", r.Campaign, run.Status, ErrNotRunning)
		}
		t, err := s.InCampaign(ctx, r.Campaign, r.RecipientURN, r.Reason)
		if err != nil {
			return nil, err
		}
		return []Told{t}, nil
	case ScopeAccount:
		account := r.Account
		if account == "" {
			run, err := s.Campaign(ctx, r.Campaign)
			if err != nil {
				return nil, err
			}
			if account, err = s.CampaignSender(ctx, r.Campaign, run.RunID); err != nil {
				return nil, err
			}
		}
		t, err := s.InAccount(ctx, account, r.RecipientURN, r.Reason)
		if err != nil {
			return nil, err
		}
		return []Told{t}, nil
	}
	accounts, err := s.RunningAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Told
	for _, a := range accounts {
		t, err := s.InAccount(ctx, a, r.RecipientURN, r.Reason)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, nil
}

// CampaignRun is where a campaign's latest run stands.
type CampaignRun struct {
	RunID   string
	Status  string // Temporal's: Running, Completed...
	Running bool
}

// Campaign finds a campaign's latest run; ErrNotFound when there is none.
func (s *Stopper) Campaign(ctx context.Context, id string) (CampaignRun, error) {
	d, err := s.Client.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return CampaignRun{}, fmt.Errorf("campaign %s: %w", id, ErrNotFound)
	case err != nil:
		return CampaignRun{}, fmt.Errorf("campaign %s: %w", id, err)
	}
	info := d.RawResponse.GetWorkflowExecutionInfo()
	if t := info.GetType().GetName(); t != workflows.CampaignWorkflow {
		return CampaignRun{}, fmt.Errorf("%s is a %s workflow, not a campaign: %w", id, t, ErrNotFound)
	}
	return CampaignRun{
		RunID:   info.GetExecution().GetRunId(),
		Status:  info.GetStatus().String(),
		Running: info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}, nil
}

// InCampaign stops a person in a running campaign, with the campaign's
// update, so that the answer says what it did.
func (s *Stopper) InCampaign(ctx context.Context, campaign, urn, reason string) (Told, error) {
	t := Told{WorkflowID: campaign, CampaignID: campaign}
	var err error
	t.Result, err = s.update(ctx, campaign, workflows.StopRecipientRequest{RecipientURN: urn, Reason: reason})
	if err != nil {
		return t, fmt.Errorf("stopping %s in campaign %s: %w", urn, campaign, err)
	}
	return t, nil
}

// InAccount stops a person in every campaign of a sender account, with
// its pacer's update; a pacer that does not run is started with the stop
// (signal-with-start), so that it is recorded before any campaign acts
// again.
func (s *Stopper) InAccount(ctx context.Context, account, urn, reason string) (Told, error) {
	account = senders.Or(account)
	t := Told{WorkflowID: pacer.WorkflowID(s.TaskQueue, account), Account: account}
	req := pacer.StopRequest{RecipientURN: urn, Reason: reason}
	var err error
	t.Result, err = s.update(ctx, t.WorkflowID, req)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		_, err = s.Client.SignalWithStartWorkflow(ctx, t.WorkflowID, pacer.StopRecipient, req,
			client.StartWorkflowOptions{ID: t.WorkflowID, TaskQueue: s.TaskQueue},
			pacer.WorkflowType, pacer.Input{Sender: account})
		t.StartedPacer, t.Result = err == nil, ""
	}
	if err != nil {
		return t, fmt.Errorf("stopping %s for sender %s: %w", urn, account, err)
	}
	return t, nil
}

// RunningAccounts are the accounts whose pacers run on the task queue,
// from Temporal's visibility store.
func (s *Stopper) RunningAccounts(ctx context.Context) ([]string, error) {
	prefix := pacer.WorkflowID(s.TaskQueue, "x")
	prefix = prefix[:len(prefix)-1]
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND TaskQueue = '%s'", pacer.WorkflowType, s.TaskQueue)
	req := &workflowservice.ListWorkflowExecutionsRequest{PageSize: 100, Query: query}
	var out []string
	for {
		resp, err := s.Client.ListWorkflow(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("listing the account pacers on %s: %w", s.TaskQueue, err)
		}
		for _, e := range resp.GetExecutions() {
			if a, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), prefix); ok {
				out = append(out, a)
			}
		}
		if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
			return out, nil
		}
	}
}

// CampaignSender is the sender a campaign acts from: in its memo, or its
// input for a campaign started without it.
func (s *Stopper) CampaignSender(ctx context.Context, campaign, runID string) (string, error) {
	d, err := s.Client.DescribeWorkflow(ctx, campaign, runID)
	if err != nil {
		return "", fmt.Errorf("campaign %s: %w", campaign, err)
	}
	var sender string
	if p := d.RawResponse.GetWorkflowExecutionInfo().GetMemo().GetFields()["sender"]; p != nil {
		_ = s.dc().FromPayload(p, &sender)
	}
	if sender != "" {
		return sender, nil
	}
	in, err := CampaignInput(ctx, s.Client, s.dc(), s.Encrypted, campaign, runID)
	if err != nil {
		return "", err
	}
	return senders.Or(in.Sender), nil
}

// CampaignInput reads a campaign run's input from its first event, with dc
// (which decrypts when encrypted is true).
func CampaignInput(ctx context.Context, c client.Client, dc converter.DataConverter, encrypted bool, id, runID string) (workflows.CampaignInput, error) {
	var in workflows.CampaignInput
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, fmt.Errorf("campaign %s ran before, but its history is empty", id)
	}
	first, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("reading the input of campaign %s's earlier run: %w", id, err)
	}
	payloads := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if len(payloads.GetPayloads()) == 0 {
		return in, fmt.Errorf("campaign %s ran before, but its first event holds no input", id)
	}
	if !encrypted && string(payloads.GetPayloads()[0].GetMetadata()[converter.MetadataEncoding]) == codec.EncodingEncrypted {
		return in, fmt.Errorf("campaign %s's input is encrypted, and payload encryption is off here: give the keys it was encrypted with (--encryption-key-file or %s)", id, codec.EnvKey)
	}
	if err := dc.FromPayloads(payloads, &in); err != nil {
		return in, fmt.Errorf("campaign %s's input cannot be read: %w", id, err)
	}
	return in, nil
}

// DefaultUpdateWait is how long a stop waits for the workflow's answer to
// its update before sending it as a signal instead.
const DefaultUpdateWait = 10 * time.Second

// update sends a stop as an update, so that the answer says what it did.
// A run whose worker does not answer within s.UpdateWait (the worker is
// down, or busy) is sent the stop as a signal instead (both workflows take
// it as either): Temporal keeps it in the run's history, and the run
// applies it as soon as a worker runs it, before any further step. A stop
// applied twice is applied once.
func (s *Stopper) update(ctx context.Context, workflowID string, req pacer.StopRequest) (string, error) {
	c, wait := s.Client, cmp.Or(s.UpdateWait, DefaultUpdateWait)
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: pacer.StopRecipient,
		Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var result string
	if err == nil {
		err = h.Get(uctx, &result)
	}
	var unanswered *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if err == nil || ctx.Err() != nil || (uctx.Err() == nil && !errors.As(err, &unanswered)) {
		return result, err
	}
	if err := c.SignalWorkflow(ctx, workflowID, "", pacer.StopRecipient, req); err != nil {
		return "", err
	}
	return fmt.Sprintf("sent as a signal: no worker answered within %s; the run applies the stop when a worker runs it, before its next step", wait), nil
}

// clip shortens a hostile value quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
