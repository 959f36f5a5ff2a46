package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/workflows"
)

// accountWait is why some of a campaign's actions (its messages, or its
// sequences' steps) wait for their account's pacer: a cap, the sending
// hours, another action in flight.
type accountWait struct {
	// Text says it as the waiting runs do, e.g. "waiting for account
	// default: hourly cap of 20 messages reached; next slot 10:06 UTC".
	Text   string    `json:"text"`
	Kind   string    `json:"kind"`
	NextAt time.Time `json:"next_at,omitzero"`
	// Actions counts the campaign's actions waiting for this reason.
	Actions int `json:"actions"`
}

// pacerQueryTimeout bounds the query of an account's pacer.
const pacerQueryTimeout = 5 * time.Second

// accountWaits asks the pacer of the campaign's account why the campaign's
// actions wait, one entry per distinct reason, in the order the pacer
// would serve them. A pacer that does not answer (none has run yet, no
// worker) adds nothing: the campaign's own progress is still shown.
func accountWaits(ctx context.Context, c client.Client, queue, sender, campaign string, now time.Time) []accountWait {
	ctx, cancel := context.WithTimeout(ctx, pacerQueryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, pacer.WorkflowID(queue, sender), "", pacer.QueryStatus)
	if err != nil {
		return nil
	}
	var st pacer.Status
	if v.Get(&st) != nil {
		return nil
	}
	return groupWaits(st, sender, campaign, now)
}

// groupWaits counts the campaign's waiting requests by the sentence that
// tells their reason.
func groupWaits(st pacer.Status, sender, campaign string, now time.Time) []accountWait {
	var waits []accountWait
	index := map[string]int{}
	for _, w := range st.Waiting {
		if w.Campaign != campaign {
			continue
		}
		text := workflows.WaitText(sender, w.Wait, now)
		i, seen := index[text]
		if !seen {
			i = len(waits)
			index[text] = i
			waits = append(waits, accountWait{Text: text, Kind: w.Wait.Kind, NextAt: w.Wait.NextAt})
		}
		waits[i].Actions++
	}
	return waits
}

// waitLine is an accountWait as status prints it.
func waitLine(w accountWait) string {
	if w.Actions == 1 {
		return fmt.Sprintf("%s (1 action of this campaign)", w.Text)
	}
	return fmt.Sprintf("%s (%d of this campaign's actions)", w.Text, w.Actions)
}

// waitsKey tells whether the waits changed.
func waitsKey(waits []accountWait) string {
	var b []byte
	for _, w := range waits {
		b = fmt.Appendf(b, "%s\x00%d\x00", w.Text, w.Actions)
	}
	return string(b)
}
