package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// grantAtOnce stands in for the account's pacer in tests of workflows whose
// subject is not pacing: every slot is granted as soon as it is asked for.
// The pacer itself is tested in pacer_test.go, and with the workflows in
// sequence_test.go.
//
// The acquire signal fails (as when no pacer runs), so the request goes
// through the RequestSlot activity; when that activity completes (on the
// test environment's own goroutine), the grant is signalled back.
type grantAtOnce struct {
	mu       sync.Mutex
	pending  map[string]string // requester workflow id -> request id
	Requests int
	Releases []workflows.SlotRelease
}

func newGrantAtOnce(env *testsuite.TestWorkflowEnvironment) *grantAtOnce {
	g := &grantAtOnce{pending: map[string]string{}}
	var a *activities.Activities
	env.OnSignalExternalWorkflow(mock.Anything, mock.MatchedBy(isPacer), "", senders.SignalAcquire, mock.Anything).
		Return(errors.New("no pacer is running"))
	env.OnSignalExternalWorkflow(mock.Anything, mock.MatchedBy(isPacer), "", senders.SignalRelease, mock.Anything).
		Return(func(_, _, _, _ string, arg any) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			if rel, ok := arg.(workflows.SlotRelease); ok {
				g.Releases = append(g.Releases, rel)
			}
			return nil
		})
	env.OnActivity(a.RequestSlot, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.RequestSlotInput) error {
		var req workflows.SlotRequest
		if err := json.Unmarshal(in.Request, &req); err != nil {
			return err
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		g.pending[activity.GetInfo(ctx).WorkflowExecution.ID] = req.ID
		g.Requests++
		return nil
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if info.ActivityType.Name != "RequestSlot" || err != nil {
			return
		}
		g.mu.Lock()
		id := g.pending[info.WorkflowExecution.ID]
		delete(g.pending, info.WorkflowExecution.ID)
		g.mu.Unlock()
		_ = env.SignalWorkflowByID(info.WorkflowExecution.ID, senders.SignalGranted, workflows.SlotGrant{ID: id})
	})
	return g
}

// testQueue is the task queue of Temporal's test environment.
const testQueue = "default-test-taskqueue"

func isPacer(id string) bool {
	for _, name := range []string{senders.Default, "alice", "bob"} {
		if id == senders.PacerWorkflowID(testQueue, name) {
			return true
		}
	}
	return false
}
