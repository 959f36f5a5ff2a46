-- The webhooks outbox: one row per event and endpoint, written by the
-- activity that saw the event, read by the endpoint's deliverer. Times are
-- Unix microseconds, UTC.
CREATE TABLE webhook_outbox (
	id              INTEGER PRIMARY KEY,
	endpoint        TEXT    NOT NULL,
	event_id        TEXT    NOT NULL,
	type            TEXT    NOT NULL,
	body            BLOB    NOT NULL,
	status          TEXT    NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	give_up_at      INTEGER NOT NULL,
	delivered_at    INTEGER,
	CHECK (status IN ('pending', 'delivered', 'failed'))
);
-- Emitting an event twice writes it once.
CREATE UNIQUE INDEX webhook_outbox_event ON webhook_outbox (endpoint, event_id);
-- A deliverer's look for due rows.
CREATE INDEX webhook_outbox_due ON webhook_outbox (endpoint, status, next_attempt_at);
