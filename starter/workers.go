package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/internal/temporalclient"
	"github.com/outpacehq/outpace/senders"
)

// The workers of a task queue, as its pollers show them (DescribeTaskQueue):
// whether any runs at all, since a run started where none does waits
// silently, and which sender accounts they have, listed in their client
// identity (temporalclient.WorkerIdentity).

// taskQueueWorkers is what the server says of a task queue's workers.
type taskQueueWorkers struct {
	queue   string
	pollers []*taskqueuepb.PollerInfo
	now     time.Time
}

// describeTimeout bounds a DescribeTaskQueue: the checks it serves must
// not hang a command.
const describeTimeout = 5 * time.Second

// describeWorkers asks the server for the pollers of queue's workflow tasks.
func describeWorkers(ctx context.Context, c client.Client, queue string) (taskQueueWorkers, error) {
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return taskQueueWorkers{}, fmt.Errorf("describing task queue %s: %w", queue, err)
	}
	return taskQueueWorkers{queue: queue, pollers: resp.GetPollers(), now: time.Now()}, nil
}

// awaitWorkers is describeWorkers that, when no worker has polled yet,
// looks again for up to noWorkerGrace: a worker that has just started may
// not have polled, and the sender check needs its identity.
func awaitWorkers(ctx context.Context, c client.Client, queue string) (taskQueueWorkers, error) {
	deadline := time.Now().Add(noWorkerGrace)
	for {
		w, err := describeWorkers(ctx, c, queue)
		if err != nil || w.running() || !time.Now().Before(deadline) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return w, err
		case <-time.After(noWorkerGrace / 6):
		}
	}
}

// pollerStale is how long after its last poll a worker counts as gone. A
// worker's long poll lasts about a minute, so a live one has polled within
// it; the server lists a poller for a few minutes after it has gone.
const pollerStale = 2 * time.Minute

// running says whether any worker has polled lately.
func (w taskQueueWorkers) running() bool {
	return slices.ContainsFunc(w.pollers, func(p *taskqueuepb.PollerInfo) bool {
		t := p.GetLastAccessTime()
		return t == nil || w.now.Sub(t.AsTime()) < pollerStale
	})
}

// senders lists the sender accounts the workers have; known is false when
// there is no worker, or one does not list its senders (a worker from
// before they were listed): that one may have any.
func (w taskQueueWorkers) senders() (names []string, known bool) {
	if len(w.pollers) == 0 {
		return nil, false
	}
	for _, p := range w.pollers {
		list, ok := temporalclient.IdentitySenders(p.GetIdentity())
		if !ok {
			return nil, false
		}
		for _, n := range list {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names, true
}

// checkSender refuses a sender that no worker of the task queue has, when
// every worker says which it has: whatever started would fail for want of
// the account. outcome ends the message: "nothing was sent".
func (w taskQueueWorkers) checkSender(sender, outcome string) error {
	names, known := w.senders()
	sender = senders.Or(sender)
	if !known || slices.Contains(names, sender) {
		return nil
	}
	have := strings.Join(names, ", ")
	if have == "" {
		have = "none"
	}
	return usagef("sender %s is not configured in the workers of task queue %s (they have: %s); %s", sender, w.queue, have, outcome)
}

// checkKeys refuses to start a run on workers that encrypt payloads when
// this starter has no keys: it would name the run's recipient otherwise
// (workflow id, search attribute) than the runs started with the keys, so
// "the same command twice never sends twice" would not hold, and it could
// not read the outcome.
func (w taskQueueWorkers) checkKeys(haveKeys bool, outcome string) error {
	if haveKeys {
		return nil
	}
	for _, p := range w.pollers {
		if temporalclient.IdentityEncrypted(p.GetIdentity()) {
			return usagef("the workers of task queue %s encrypt payloads: give the starter the same keys "+
				"(--encryption-key-file or OUTPACE_ENCRYPTION_KEY_FILE, see docs/encryption.md); %s", w.queue, outcome)
		}
	}
	return nil
}

// noPollerText says that no worker serves a task queue, in the server's
// words when a query finds none.
func noPollerText(queue string) string {
	return fmt.Sprintf("no poller seen for task queue %s: no worker is running for it (is the worker running? is %s the task queue it serves? see --task-queue)", queue, queue)
}

// workerWatch warns, once, that no worker serves the task queue a run
// waits on: without a worker, nothing tells the user why nothing happens.
type workerWatch struct {
	o      *common
	c      client.Client
	queue  string
	what   string // what waits: "the message", "the campaign"
	warned bool
}

// check looks at the task queue's pollers and warns if none is running;
// it says whether it warned (now or before). An error describing the queue
// is not the user's concern here: it says nothing either way.
func (ww *workerWatch) check(ctx context.Context) bool {
	if ww.warned {
		return true
	}
	w, err := describeWorkers(ctx, ww.c, ww.queue)
	if err != nil || w.running() {
		return false
	}
	ww.warn()
	return true
}

func (ww *workerWatch) warn() {
	ww.warned = true
	ww.o.warnf("warning: %s; %s waits until one polls it", noPollerText(ww.queue), ww.what)
}

// afterStart is check for a run just started on a queue that had no worker
// before: it looks again for a few seconds, since a worker that has just
// started may not have polled yet, and warns if none comes.
func (ww *workerWatch) afterStart(ctx context.Context, before taskQueueWorkers) {
	if before.running() {
		return
	}
	deadline := time.Now().Add(noWorkerGrace)
	for {
		w, err := describeWorkers(ctx, ww.c, ww.queue)
		switch {
		case err != nil, w.running():
			return
		case !time.Now().Before(deadline):
			ww.warn()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(noWorkerGrace / 6):
		}
	}
}

// noWorkerGrace is how long a starter looks for a worker before it warns
// that none runs.
var noWorkerGrace = 3 * time.Second
