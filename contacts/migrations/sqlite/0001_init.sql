-- The ledger: one row per LinkedIn action outpace takes (or is about to:
-- the claim is written before the POST). Times are Unix microseconds, UTC.
CREATE TABLE ledger (
	id            INTEGER PRIMARY KEY,
	account       TEXT    NOT NULL,
	recipient_urn TEXT    NOT NULL DEFAULT '',
	profile_slug  TEXT    NOT NULL DEFAULT '',
	action        TEXT    NOT NULL,
	campaign_id   TEXT    NOT NULL DEFAULT '',
	step          TEXT    NOT NULL DEFAULT '',
	workflow_id   TEXT    NOT NULL,
	run_id        TEXT    NOT NULL DEFAULT '',
	task_id       TEXT    NOT NULL DEFAULT '',
	outcome       TEXT    NOT NULL DEFAULT '',
	reason        TEXT    NOT NULL DEFAULT '',
	no_task       INTEGER NOT NULL DEFAULT 0,
	claimed_at    INTEGER NOT NULL,
	finished_at   INTEGER
);
-- A run's own claim, found again on a retry.
CREATE UNIQUE INDEX ledger_claim ON ledger (workflow_id, action, step);
-- The policy's query (earlier contacts of a person) and History.
CREATE INDEX ledger_person ON ledger (recipient_urn, claimed_at);
CREATE INDEX ledger_slug ON ledger (profile_slug, claimed_at) WHERE profile_slug <> '';

-- The do-not-contact list: by URN, or by profile slug until the store
-- learns the slug's URN (then both).
CREATE TABLE dnc (
	id            INTEGER PRIMARY KEY,
	recipient_urn TEXT    NOT NULL DEFAULT '',
	profile_slug  TEXT    NOT NULL DEFAULT '',
	reason        TEXT    NOT NULL DEFAULT '',
	added_at      INTEGER NOT NULL,
	CHECK (recipient_urn <> '' OR profile_slug <> '')
);
CREATE UNIQUE INDEX dnc_urn ON dnc (recipient_urn) WHERE recipient_urn <> '';
CREATE UNIQUE INDEX dnc_slug ON dnc (profile_slug) WHERE profile_slug <> '';

-- Who a profile slug is, as learnt from lookups and claims that knew both.
CREATE TABLE profiles (
	profile_slug  TEXT    PRIMARY KEY,
	recipient_urn TEXT    NOT NULL,
	learnt_at     INTEGER NOT NULL
);
CREATE INDEX profiles_urn ON profiles (recipient_urn);
