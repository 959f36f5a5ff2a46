package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
)

// Clients builds one OutX client per sender account, for Activities.Accounts.
// Its errors name the account, never its key.
func Clients(cfg senders.Config, opts ...outx.Option) (map[string]*outx.Client, error) {
	clients := make(map[string]*outx.Client, len(cfg.Accounts))
	for _, acc := range cfg.Accounts {
		c, err := outx.New(acc.BaseURL, acc.APIKey, opts...)
		if err != nil {
			return nil, fmt.Errorf("sender %s: %w", acc.Name, err)
		}
		clients[acc.Name] = c
	}
	return clients, nil
}

// client is the OutX client of the named sender ("" is senders.Default).
// A name the worker has no key for is a non-retryable ErrUnknownSender that
// lists the names it has.
func (a *Activities) client(sender string) (*outx.Client, error) {
	name := senders.Or(sender)
	if c, ok := a.Accounts[name]; ok && c != nil {
		return c, nil
	}
	if name == senders.Default && a.OutX != nil {
		return a.OutX, nil
	}
	configured := "none"
	if names := a.senderNames(); len(names) > 0 {
		configured = strings.Join(names, ", ")
	}
	shown := name
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("sender %q is not configured in this worker (configured: %s)", shown, configured), ErrUnknownSender, nil)
}

// senderNames lists the senders the activities can act for, sorted.
func (a *Activities) senderNames() []string {
	var names []string
	for name, c := range a.Accounts {
		if c != nil {
			names = append(names, name)
		}
	}
	if a.OutX != nil && !slices.Contains(names, senders.Default) {
		names = append(names, senders.Default)
	}
	slices.Sort(names)
	return names
}

// SenderLimitsInput names a sender account.
type SenderLimitsInput struct {
	Sender string `json:"sender,omitempty"`
}

// SenderLimits returns the account's limits, defaults filled in, for its
// pacer: the limits live in the worker's configuration beside the key, but
// carry no secret.
func (a *Activities) SenderLimits(_ context.Context, in SenderLimitsInput) (senders.Limits, error) {
	if _, err := a.client(in.Sender); err != nil {
		return senders.Limits{}, err
	}
	acc, ok := a.Senders.Get(in.Sender)
	if !ok {
		return senders.DefaultLimits(), nil
	}
	return acc.Limits.WithDefaults(), nil
}

// RequestSlotInput is a slot request (a workflows.SlotRequest, kept raw
// here because workflows imports this package) for the account Sender.
type RequestSlotInput struct {
	Sender string `json:"sender,omitempty"`
	// PacerID and TaskQueue are the pacer's workflow id and queue, as the
	// requesting workflow names them (default: from Sender and the
	// worker's queue).
	PacerID   string          `json:"pacer_id,omitempty"`
	TaskQueue string          `json:"task_queue,omitempty"`
	Request   json.RawMessage `json:"request"`
}

// RequestSlot hands a slot request to the account's pacer workflow with
// signal-with-start, so that the first request of an account starts its
// pacer (input {"sender": "<name>"}). It is an activity because only a
// client can signal-with-start; the signal is idempotent for the pacer
// (requests carry an id), so failures are retryable, except a sender the
// worker does not know.
func (a *Activities) RequestSlot(ctx context.Context, in RequestSlotInput) error {
	name := senders.Or(in.Sender)
	if _, err := a.client(name); err != nil {
		return err
	}
	if len(in.Request) == 0 || !json.Valid(in.Request) {
		return temporal.NewNonRetryableApplicationError("request: must be a JSON slot request", ErrInvalidInput, nil)
	}
	if a.Temporal == nil {
		return temporal.NewNonRetryableApplicationError("the worker gave the activities no Temporal client", ErrInvalidInput, nil)
	}
	queue := a.TaskQueue
	if queue == "" {
		queue = activity.GetInfo(ctx).TaskQueue
	}
	id := in.PacerID
	if id == "" {
		id = senders.PacerWorkflowID(queue, name)
	}
	if in.TaskQueue != "" {
		queue = in.TaskQueue
	}
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, id, senders.SignalAcquire, in.Request,
		client.StartWorkflowOptions{
			ID:            id,
			TaskQueue:     queue,
			StaticSummary: "pacer of LinkedIn account " + name,
		},
		senders.PacerWorkflow, map[string]string{"sender": name})
	if err != nil {
		return fmt.Errorf("signalling the pacer %s: %w", id, err)
	}
	return nil
}

// RunInput names one workflow run.
type RunInput struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// RunOpen reports whether a workflow run is still open. The account's pacer
// asks it about a slot's holder that has held the slot long, so that a
// holder that will never release it (terminated by an operator) does not
// hold the account up until its hold ends.
func (a *Activities) RunOpen(ctx context.Context, in RunInput) (bool, error) {
	if a.Temporal == nil {
		return false, temporal.NewNonRetryableApplicationError("the worker gave the activities no Temporal client", ErrInvalidInput, nil)
	}
	d, err := a.Temporal.DescribeWorkflowExecution(ctx, in.WorkflowID, in.RunID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, err
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
