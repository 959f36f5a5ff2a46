package contacts

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/outpacehq/outpace/webhooks"
)

// OutboxOf returns the webhooks outbox kept in st's database (the table
// webhook_outbox); false for a Store that is not one of Open's.
func OutboxOf(st Store) (webhooks.Outbox, bool) {
	s, ok := st.(*store)
	if !ok {
		return nil, false
	}
	return &outbox{s}, true
}

// Lookup returns the ledger row of a run's action (the claim a Result
// finishes), or nil when there is none; st must be one of Open's.
func Lookup(ctx context.Context, st Store, workflowID string, action Action, step string) (*Entry, error) {
	s, ok := st.(*store)
	if !ok {
		return nil, errors.New("contacts: Lookup needs a store from Open")
	}
	e, err := s.ownRow(ctx, s.db, Claim{WorkflowID: workflowID, Action: action, Step: step})
	if err != nil {
		return nil, s.fail("reading the ledger row of "+workflowID, err)
	}
	return e, nil
}

// outbox implements webhooks.Outbox over the store's database.
type outbox struct{ s *store }

var _ webhooks.Outbox = (*outbox)(nil)

const outboxColumns = `endpoint, event_id, type, body, status, attempts, next_attempt_at, last_error, created_at, give_up_at, delivered_at`

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (o *outbox) Enqueue(ctx context.Context, endpoints []string, id, typ string, body []byte, at time.Time) (int, error) {
	at = micro(at)
	n := 0
	err := o.s.inTx(ctx, "writing event "+id+" to the webhooks outbox", func(tx *sql.Tx) error {
		for _, ep := range endpoints {
			res, err := tx.ExecContext(ctx, o.s.d.q(`INSERT INTO webhook_outbox
				(endpoint, event_id, type, body, status, attempts, next_attempt_at, created_at, give_up_at)
				VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)
				ON CONFLICT (endpoint, event_id) DO NOTHING`),
				ep, id, typ, body, webhooks.StatusPending, o.s.d.t(at), o.s.d.t(at), o.s.d.t(at.Add(webhooks.GiveUpAfter)))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	return n, err
}

func scanRow(row interface{ Scan(...any) error }) (webhooks.Row, error) {
	var r webhooks.Row
	err := row.Scan(&r.Endpoint, &r.EventID, &r.Type, &r.Body, &r.Status, &r.Attempts, dbTime{&r.NextAttemptAt},
		&r.LastError, dbTime{&r.CreatedAt}, dbTime{&r.GiveUpAt}, dbTime{&r.DeliveredAt})
	return r, err
}

func (o *outbox) rows(ctx context.Context, op, query string, args ...any) ([]webhooks.Row, error) {
	rs, err := o.s.db.QueryContext(ctx, o.s.d.q(query), args...)
	if err != nil {
		return nil, o.s.fail(op, err)
	}
	defer rs.Close()
	var out []webhooks.Row
	for rs.Next() {
		r, err := scanRow(rs)
		if err != nil {
			return nil, o.s.fail(op, err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, o.s.fail(op, err)
	}
	return out, nil
}

func (o *outbox) Due(ctx context.Context, endpoint string, now time.Time, limit int) ([]webhooks.Row, error) {
	return o.rows(ctx, "reading the webhooks outbox", `SELECT `+outboxColumns+` FROM webhook_outbox
		WHERE endpoint = ? AND status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
		endpoint, webhooks.StatusPending, o.s.d.t(micro(now)), limit)
}

func (o *outbox) NextDue(ctx context.Context, endpoint string) (time.Time, bool, error) {
	var next time.Time
	var n int
	err := o.s.db.QueryRowContext(ctx, o.s.d.q(`SELECT COUNT(*), MIN(next_attempt_at) FROM webhook_outbox
		WHERE endpoint = ? AND status = ?`), endpoint, webhooks.StatusPending).Scan(&n, dbTime{&next})
	if err != nil {
		return time.Time{}, false, o.s.fail("reading the webhooks outbox", err)
	}
	return next, n > 0, nil
}

func (o *outbox) Record(ctx context.Context, a webhooks.Attempt) error {
	var delivered any
	if a.Status == webhooks.StatusDelivered {
		delivered = o.s.d.t(micro(a.At))
	}
	next := a.NextAttemptAt
	if next.IsZero() {
		next = a.At
	}
	_, err := o.s.db.ExecContext(ctx, o.s.d.q(`UPDATE webhook_outbox
		SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?
		WHERE endpoint = ? AND event_id = ?`),
		a.Status, a.Attempts, o.s.d.t(micro(next)), a.Error, delivered, a.Endpoint, a.EventID)
	if err != nil {
		return o.s.fail("recording a delivery of "+a.EventID, err)
	}
	return nil
}

func (o *outbox) Status(ctx context.Context) ([]webhooks.EndpointStatus, error) {
	const op = "summing up the webhooks outbox"
	rs, err := o.s.db.QueryContext(ctx, `SELECT endpoint, status, COUNT(*) FROM webhook_outbox GROUP BY endpoint, status ORDER BY endpoint`)
	if err != nil {
		return nil, o.s.fail(op, err)
	}
	defer rs.Close()
	var out []webhooks.EndpointStatus
	for rs.Next() {
		var ep, status string
		var n int
		if err := rs.Scan(&ep, &status, &n); err != nil {
			return nil, o.s.fail(op, err)
		}
		if len(out) == 0 || out[len(out)-1].Endpoint != ep {
			out = append(out, webhooks.EndpointStatus{Endpoint: ep})
		}
		st := &out[len(out)-1]
		switch status {
		case webhooks.StatusPending:
			st.Pending = n
		case webhooks.StatusDelivered:
			st.Delivered = n
		case webhooks.StatusFailed:
			st.Failed = n
		}
	}
	if err := rs.Err(); err != nil {
		return nil, o.s.fail(op, err)
	}
	rs.Close()
	for i := range out {
		if out[i].Pending == 0 {
			continue
		}
		oldest, err := o.rows(ctx, op, `SELECT `+outboxColumns+` FROM webhook_outbox
			WHERE endpoint = ? AND status = ? ORDER BY created_at, id LIMIT 1`, out[i].Endpoint, webhooks.StatusPending)
		if err != nil {
			return nil, err
		}
		if len(oldest) == 1 {
			out[i].OldestPending = &oldest[0]
		}
	}
	return out, nil
}

func (o *outbox) List(ctx context.Context, endpoint, status string, limit int) ([]webhooks.Row, error) {
	if limit <= 0 {
		limit = 100
	}
	return o.rows(ctx, "listing the webhooks outbox", `SELECT `+outboxColumns+` FROM webhook_outbox
		WHERE (? = '' OR endpoint = ?) AND (? = '' OR status = ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
		endpoint, endpoint, status, status, limit)
}

func (o *outbox) Prune(ctx context.Context, before time.Time) (int, error) {
	res, err := o.s.db.ExecContext(ctx, o.s.d.q(`DELETE FROM webhook_outbox WHERE status = ? AND delivered_at < ?`),
		webhooks.StatusDelivered, o.s.d.t(micro(before)))
	if err != nil {
		return 0, o.s.fail("pruning the webhooks outbox", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (o *outbox) Replay(ctx context.Context, endpoint, id string, now time.Time) (int, error) {
	now = micro(now)
	query := `UPDATE webhook_outbox SET status = ?, attempts = 0, next_attempt_at = ?, give_up_at = ?, delivered_at = NULL
		WHERE (? = '' OR endpoint = ?) AND `
	args := []any{webhooks.StatusPending, o.s.d.t(now), o.s.d.t(now.Add(webhooks.GiveUpAfter)), endpoint, endpoint}
	if id != "" {
		query += `event_id = ?`
		args = append(args, id)
	} else {
		query += `status = ?`
		args = append(args, webhooks.StatusFailed)
	}
	res, err := o.s.db.ExecContext(ctx, o.s.d.q(query), args...)
	if err != nil {
		return 0, o.s.fail("replaying webhook events", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
