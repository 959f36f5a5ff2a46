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
		send: func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(ctx, a.SendConnection, activities.SendConnectionInput{
				ProfileURN: in.ProfileURN, Note: in.Note, Sender: in.Sender,
			})
		},
	})
	if err != nil {
		return SendMessageResult{}, err
	}
	if p := problemsOf(outx.ValidateConnectionRequest(outx.SendConnectionRequestBody{ProfileURN: in.ProfileURN, Note: in.Note})); len(p) > 0 {
		return t.finish(ctx, Invalid, strings.Join(p, "; "))
	}
	return t.run(ctx)
}
