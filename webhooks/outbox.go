package webhooks

import (
	"context"
	"time"
)

// Delivery statuses of an outbox row.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Retry policy of a delivery: the first retry after FirstBackoff, each
// next one twice as late, at most MaxBackoff apart, until GiveUpAfter from
// the event's creation (or its replay); then the row is failed.
const (
	FirstBackoff = 10 * time.Second
	MaxBackoff   = time.Hour
	GiveUpAfter  = 24 * time.Hour
	// KeepDelivered is how long a delivered row stays in the outbox (for
	// webhooks status and a replay by id); failed rows stay until replayed.
	KeepDelivered = 30 * 24 * time.Hour
)

// Row is one event for one endpoint in the outbox.
type Row struct {
	Endpoint      string    `json:"endpoint"`
	EventID       string    `json:"event_id"`
	Type          string    `json:"type"`
	Body          []byte    `json:"-"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// GiveUpAt is CreatedAt + GiveUpAfter, or the replay's time + GiveUpAfter.
	GiveUpAt    time.Time `json:"give_up_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Attempt is how one delivery attempt of a row ended: Status delivered,
// pending again (at NextAttemptAt) or failed.
type Attempt struct {
	Endpoint      string
	EventID       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	Error         string
	At            time.Time
}

// EndpointStatus sums up one endpoint's outbox.
type EndpointStatus struct {
	Endpoint  string `json:"endpoint"`
	Pending   int    `json:"pending"`
	Delivered int    `json:"delivered"`
	Failed    int    `json:"failed"`
	// OldestPending is the oldest pending row, if any (its LastError says
	// why it is still there).
	OldestPending *Row `json:"oldest_pending,omitempty"`
}

// Outbox is where events wait for their delivery: a table of the contacts
// store, which outlives Temporal's retention and every worker.
type Outbox interface {
	// Enqueue writes e once for each endpoint (a row that exists already,
	// same endpoint and event id, is left as it is: emitting an event twice
	// delivers it once). It returns how many rows are new.
	Enqueue(ctx context.Context, endpoints []string, id, typ string, body []byte, at time.Time) (int, error)
	// Due lists an endpoint's pending rows whose next attempt is at or
	// before now, oldest first, at most limit.
	Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]Row, error)
	// NextDue is the earliest next attempt of an endpoint's pending rows
	// (ok false when none is pending).
	NextDue(ctx context.Context, endpoint string) (next time.Time, ok bool, err error)
	// Record stores an attempt's end.
	Record(ctx context.Context, a Attempt) error
	// Status sums up each endpoint's rows (every endpoint that has any).
	Status(ctx context.Context) ([]EndpointStatus, error)
	// List lists rows of a status ("" every status), newest first, of one
	// endpoint ("" every endpoint), at most limit.
	List(ctx context.Context, endpoint, status string, limit int) ([]Row, error)
	// Prune deletes delivered rows delivered before before (the outbox
	// keeps what was sent for KeepDelivered), returning how many.
	Prune(ctx context.Context, before time.Time) (int, error)
	// Replay puts rows back to pending, due now, with a new 24 h window:
	// the one event id (every endpoint's row, or endpoint's only), or
	// every failed row when id is "". Returns how many.
	Replay(ctx context.Context, endpoint, id string, now time.Time) (int, error)
}

// Backoff is the delay before attempt n+1 after n failed attempts.
func Backoff(n int) time.Duration {
	d := FirstBackoff
	for i := 1; i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// AfterFailure decides what follows a failed attempt (the n-th) at now: a
// next attempt, never later than the row's give-up time, or failed when
// that time has come.
func AfterFailure(r Row, n int, now time.Time) (status string, next time.Time) {
	if !now.Before(r.GiveUpAt) {
		return StatusFailed, time.Time{}
	}
	next = now.Add(Backoff(n))
	if next.After(r.GiveUpAt) {
		next = r.GiveUpAt
	}
	return StatusPending, next
}
