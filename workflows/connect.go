package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacer"
)

// ConnectionRequestInput is the input of the SendConnectionRequest workflow.
type ConnectionRequestInput struct {
	ProfileURN string `json:"profile_urn"`
	// Note is the optional invitation note, at most 300 characters after
	// trimming.
	Note         string   `json:"note,omitempty"`
	Sender       string   `json:"sender,omitempty"`
	SendDeadline Duration `json:"send_deadline,omitzero"`
	PollDeadline Duration `json:"poll_deadline,omitzero"`
	// Set by a campaign's Sequence.
	CampaignID     string          `json:"campaign_id,omitempty"`
	CampaignPacing *CampaignLimits `json:"campaign_pacing,omitempty"`
	// StepName, ProfileSlug and ContactPolicy: as SendMessageInput's.
	StepName      string         `json:"step_name,omitempty"`
	ProfileSlug   string         `json:"profile_slug,omitempty"`
	ContactPolicy *ContactPolicy `json:"contact_policy,omitempty"`
}

// SendConnectionRequest sends one LinkedIn connection request through OutX
// and confirms it, with SendMessage's rules: validated first, paced by the
// account's pacer, sent once (retried only when OutX certainly created no
// task), polled to its end. A person who is already a connection counts as
// delivered (AlreadyConnected).
func SendConnectionRequest(ctx workflow.Context, in ConnectionRequestInput) (SendMessageResult, error) {
	var a *activities.Activities
	t, err := newTask(ctx, taskSpec{
		noun: "connection request", errors: connectionErrors, action: pacer.ActionConnect,
		recipient: in.ProfileURN, campaign: in.CampaignID, sender: in.Sender, limits: in.CampaignPacing,
		sendDeadline: in.SendDeadline, pollDeadline: in.PollDeadline,
		sendSummary: "queue the connection request with OutX (one request, never retried blindly)",
		step:        in.StepName,
		send: func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(ctx, a.SendConnection, activities.SendConnectionInput{
				ProfileURN: in.ProfileURN, Note: in.Note, Sender: in.Sender,
				Ledger: ledger(in.CampaignID, in.StepName, in.ProfileSlug, in.ContactPolicy),
			})
		},
	})
	if err != nil {
		return SendMessageResult{}, err
	}
	p := problemsOf(outx.ValidateConnectionRequest(outx.SendConnectionRequestBody{ProfileURN: in.ProfileURN, Note: in.Note}))
	if _, err := in.ContactPolicy.Policy(); err != nil {
		p = append(p, problemsOf(err)...)
	}
	if len(p) > 0 {
		return t.finish(ctx, Invalid, strings.Join(p, "; "))
	}
	return t.run(ctx)
}
