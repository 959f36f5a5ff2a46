package workflows_test

import (
	"context"
	"sync"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
)

// grantAtOnce stands in for the account's pacer in tests of workflows whose
// subject is not pacing: every slot is granted as soon as it is asked for,
// by the acquire activity's answer. The pacer itself is tested in
// pacer_test.go and pacer_model_test.go, and with the workflows in
// sequence_test.go.
type grantAtOnce struct {
	mu       sync.Mutex
	Requests []pacer.Request
	Releases []pacer.Release
}

func newGrantAtOnce(env *testsuite.TestWorkflowEnvironment) *grantAtOnce {
	g := &grantAtOnce{}
	var a *activities.Activities
	env.OnActivity(a.AcquireSlot, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AcquireSlotInput) (pacer.Answer, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.Requests = append(g.Requests, in.Request)
		return pacer.Answer{ID: in.Request.ID, Granted: true}, nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.MatchedBy(isPacer), "", pacer.SignalRelease, mock.Anything).
		Return(func(_, _, _, _ string, arg any) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			if rel, ok := arg.(pacer.Release); ok {
				g.Releases = append(g.Releases, rel)
			}
			return nil
		})
	for _, name := range []string{pacer.SignalCampaignPause, pacer.StopRecipient} {
		env.OnSignalExternalWorkflow(mock.Anything, mock.MatchedBy(isPacer), "", name, mock.Anything).Return(nil)
	}
	return g
}

// testQueue is the task queue of Temporal's test environment.
const testQueue = "default-test-taskqueue"

func isPacer(id string) bool {
	for _, name := range []string{pacer.DefaultSender, "alice", "bob"} {
		if id == pacer.WorkflowID(testQueue, name) {
			return true
		}
	}
	return false
}
