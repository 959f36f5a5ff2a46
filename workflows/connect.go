package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/senders"
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
	res := SendMessageResult{RecipientURN: in.ProfileURN, StartedAt: workflow.Now(ctx)}
	var held *slot
	end := func(o Outcome, reason string) (SendMessageResult, error) {
		settle(ctx, &res, o, reason, held)
		workflow.GetLogger(ctx).Info("Connection request finished", "Outcome", o, "TaskID", res.TaskID, "Reason", reason)
		if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeAttribute.ValueSet(string(o))); err != nil {
			return res, err
		}
		if err := recordForReport(ctx, in.CampaignID, res); err != nil {
			return res, err
		}
		if o == Delivered {
			return res, nil
		}
		msg := fmt.Sprintf("connection request to %s %s: %s", in.ProfileURN, o, reason)
		return res, temporal.NewNonRetryableApplicationError(msg, "Connection"+strings.TrimPrefix(o.ErrorType(), "Message"), nil, res)
	}

	problems, err := check(ctx, "check the profile and the note", a.ValidateConnection, activities.ValidateConnectionInput{
		ProfileURN: in.ProfileURN, Note: in.Note,
	})
	if err != nil {
		return res, err
	}
	if len(problems) > 0 {
		return end(Invalid, strings.Join(problems, "; "))
	}

	t := outxTask{res: &res}
	req := slotRequester{sender: in.Sender, campaign: in.CampaignID, limits: in.CampaignPacing}
	s, stopped, err := req.acquire(ctx, senders.ActionConnect, in.ProfileURN, holdFor(in.SendDeadline, in.PollDeadline))
	if err != nil {
		return res, err
	}
	if stopped != "" {
		return end(Stopped, "not sent: the recipient was "+stopped)
	}
	held = s

	t.in = taskInput{RecipientURN: in.ProfileURN, CampaignID: in.CampaignID, Sender: in.Sender,
		SendDeadline: in.SendDeadline, PollDeadline: in.PollDeadline, SendFrom: s.grantedAt}
	t.noun, t.sendSummary = "connection request", "queue the connection request with OutX (one request, never retried blindly)"
	t.send = func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(ctx, a.SendConnection, activities.SendConnectionInput{
			ProfileURN: in.ProfileURN, Note: in.Note, Sender: in.Sender,
		})
	}
	o, reason, err := t.run(ctx)
	if err != nil { // cancelled while waiting to retry: no task was created
		held.release(ctx, false, time.Time{}, time.Time{})
		return res, err
	}
	if o == Delivered && res.AlreadyConnected {
		reason = "already a 1st-degree connection"
	}
	return end(o, reason)
}
