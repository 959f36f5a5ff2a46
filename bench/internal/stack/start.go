package stack

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// StartSend starts a SendMessage run as `starter send` does: the
// recipient's search attribute is set at the start, where it costs no action.
func (s *Stack) StartSend(ctx context.Context, id, urn, message string) (client.WorkflowRun, error) {
	return s.StartSendOn(ctx, workflows.TaskQueue, id, urn, message)
}

// StartSendOn is StartSend on task queue queue (a Lane's, say).
func (s *Stack) StartSendOn(ctx context.Context, queue, id, urn, message string) (client.WorkflowRun, error) {
	return s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.RecipientURNAttribute.ValueSet(urn))},
		workflows.SendMessageWorkflow, workflows.SendMessageInput{RecipientURN: urn, Message: message})
}

// InlineCampaign is a campaign of inline recipients, each with first_name
// Ada, sent "Hi {{first_name}}" with Gap between sends (min_gap = max_gap),
// no caps and an always-open window.
type InlineCampaign struct {
	ID           string
	URNs         []string
	Gap          time.Duration
	PageSize     int    // 0: the workflow's default
	MaxRunEvents int    // 0: the workflow's default
	TaskQueue    string // empty: workflows.TaskQueue
}

// StartCampaign starts c as `starter campaign start` does, with its
// CampaignId search attribute.
func (s *Stack) StartCampaign(ctx context.Context, c InlineCampaign) (client.WorkflowRun, error) {
	rs := make([]recipients.Recipient, len(c.URNs))
	for i, urn := range c.URNs {
		rs[i] = recipients.Recipient{RecipientURN: urn, Vars: map[string]string{"first_name": "Ada"}}
	}
	gap, noCap := workflows.Duration(c.Gap), 0
	queue := c.TaskQueue
	if queue == "" {
		queue = workflows.TaskQueue
	}
	return s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: c.ID, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.CampaignIDAttribute.ValueSet(c.ID))}, workflows.CampaignWorkflow,
		workflows.CampaignInput{
			Template: "Hi {{first_name}}", Recipients: rs,
			Pacing:   workflows.Pacing{MinGap: &gap, MaxGap: &gap, HourlyCap: &noCap, DailyCap: &noCap},
			Window:   workflows.SendingWindow{Days: "mon-sun", Hours: "00:00-24:00"},
			PageSize: c.PageSize, MaxRunEvents: c.MaxRunEvents,
		})
}
