package contacts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/recipients"
)

// store is the one implementation of Store, over database/sql; d holds
// what differs between SQLite and PostgreSQL.
type store struct {
	db *sql.DB
	d  *dialect
	t  target
	// writes serializes this process's SQLite writers before SQLite's
	// lock does: one waiting on the file lock sleeps in the busy handler
	// (steps of up to 100 ms), one waiting here wakes when it is free.
	writes chan struct{}
}

func open(ctx context.Context, dsn string) (*store, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d := sqliteDialect
	if t.postgres {
		d = postgresDialect
	}
	db, err := sql.Open(d.driver, t.source)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadDSN, SettingName, scrub(err.Error(), t.password))
	}
	// A worker runs many activities at once: enough connections for
	// them, few enough that several workers stay within PostgreSQL's
	// max_connections (100 by default).
	db.SetMaxOpenConns(d.maxConns)
	db.SetMaxIdleConns(d.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &store{db: db, d: d, t: t, writes: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *store) Describe() string { return s.t.display }
func (s *store) Close() error     { return s.db.Close() }

// fail wraps an error from the database: ErrUnavailable, the operation,
// the store, and the cause.
func (s *store) fail(op string, err error) error {
	var u *unavailable
	if errors.As(err, &u) {
		return err
	}
	return &unavailable{op: op, store: s.t.display, password: s.t.password, err: err}
}

func scrub(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}

// inTx runs fn in a transaction (on SQLite, BEGIN IMMEDIATE: writers take
// turns); every error is the database's.
func (s *store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	unlock, err := s.lockWrites(ctx, op)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.fail(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// lockWrites takes this process's turn to write (SQLite only), or gives
// up when ctx ends (the store is busy: ErrUnavailable); it returns the
// release.
func (s *store) lockWrites(ctx context.Context, op string) (func(), error) {
	if !s.d.serializeWrites {
		return func() {}, nil
	}
	select {
	case s.writes <- struct{}{}:
		return func() { <-s.writes }, nil
	case <-ctx.Done():
		return nil, s.fail(op, fmt.Errorf("waiting for this process's other writes: %w", ctx.Err()))
	}
}

// migrate applies the migrations the store lacks, each in its own
// transaction with its version row. On SQLite the immediate transaction
// makes concurrent openers take turns; on PostgreSQL an advisory lock does.
func (s *store) migrate(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := s.migrateOnce(ctx)
		if err == nil || s.d.busy == nil || !s.d.busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (s *store) migrateOnce(ctx context.Context) error {
	const op = "migrating the schema"
	ms, err := s.d.migrationFiles()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		if s.d.cantOpen != nil && s.d.cantOpen(err) {
			err = fmt.Errorf("%w (does its folder exist, and may this process write there?)", err)
		}
		return s.fail("connecting", err)
	}
	defer conn.Close()
	latest := ms[len(ms)-1].version
	// Up to date (every start but the first after an upgrade): a read is
	// enough, so a worker starting while another process writes (a long
	// import holds SQLite's write lock) does not wait for it.
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err == nil && int(v.Int64) == latest {
		return nil
	}
	if s.d.lockMigrations != nil {
		unlock, err := s.d.lockMigrations(ctx, conn)
		if err != nil {
			return s.fail(op, err)
		}
		defer unlock()
	}
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return s.fail(op, err)
		}
		next, err := s.applyNext(ctx, tx, ms)
		if err != nil {
			tx.Rollback()
			if errors.Is(err, errSchemaNewer) {
				return err
			}
			return s.fail(op, err)
		}
		if err := tx.Commit(); err != nil {
			return s.fail(op, err)
		}
		if next >= latest {
			return nil
		}
	}
}

var errSchemaNewer = errors.New("the contacts store's schema is newer than this outpace")

// applyNext applies the first migration the schema lacks and returns the
// schema's version after it.
func (s *store) applyNext(ctx context.Context, tx *sql.Tx, ms []migration) (int, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, err
	}
	cur := int(v.Int64)
	if latest := ms[len(ms)-1].version; cur > latest {
		return cur, fmt.Errorf("%w: %s has version %d, this outpace knows up to %d: upgrade outpace", errSchemaNewer, s.t.display, cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return cur, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return cur, err
		}
		return m.version, nil
	}
	return cur, nil
}

// normalize fills a claim's defaults: the default account, the time (to
// the microsecond, as both stores keep it), a slug in lower case (LinkedIn's
// profile URLs are case-insensitive).
func normalize(c Claim) Claim {
	c.Account = pacer.Or(c.Account)
	c.ProfileSlug = normSlug(c.ProfileSlug)
	if c.At.IsZero() {
		c.At = time.Now()
	}
	c.At = c.At.UTC().Truncate(time.Microsecond)
	return c
}

func normSlug(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// usage is a caller's mistake (not the database's: no ErrUnavailable).
func usage(format string, args ...any) error { return fmt.Errorf("contacts: "+format, args...) }

func checkClaim(c Claim) error {
	switch {
	case c.Action == "":
		return usage("a claim needs an action")
	case c.WorkflowID == "":
		return usage("a claim needs a workflow id")
	case c.Action.Contacting() && c.RecipientURN == "":
		return usage("a %s claim needs the recipient's URN", c.Action)
	case c.RecipientURN == "" && c.ProfileSlug == "":
		return usage("a claim needs the recipient's URN or profile slug")
	}
	switch c.Policy.Scope {
	case "", ScopeAccount, ScopeAll, ScopeAllow:
	default:
		return usage("contact policy scope %q: must be %s, %s or %s", c.Policy.Scope, ScopeAccount, ScopeAll, ScopeAllow)
	}
	return nil
}

// querier is a *sql.Tx, *sql.Conn or *sql.DB.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *store) Claim(ctx context.Context, c Claim) (Verdict, error) {
	c = normalize(c)
	if err := checkClaim(c); err != nil {
		return Verdict{}, err
	}
	var v Verdict
	err := s.inTx(ctx, "claiming "+cmpOr(c.RecipientURN, c.ProfileSlug), func(tx *sql.Tx) error {
		if c.RecipientURN != "" {
			if err := s.d.lockPerson(ctx, tx, c.RecipientURN); err != nil {
				return err
			}
		}
		if c.RecipientURN != "" && c.ProfileSlug != "" {
			if err := s.learn(ctx, tx, c.ProfileSlug, c.RecipientURN, c.At); err != nil {
				return err
			}
		}
		var err error
		v, err = s.verdict(ctx, tx, c, true)
		return err
	})
	return v, err
}

func (s *store) Check(ctx context.Context, c Claim) (Verdict, error) {
	vs, err := s.CheckMany(ctx, []Claim{c})
	if err != nil {
		return Verdict{}, err
	}
	return vs[0], nil
}

func (s *store) CheckMany(ctx context.Context, cs []Claim) ([]Verdict, error) {
	for i := range cs {
		if err := checkClaim(normalize(cs[i])); err != nil {
			return nil, err
		}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.fail("checking claims", err)
	}
	defer conn.Close()
	vs := make([]Verdict, len(cs))
	for i, c := range cs {
		if vs[i], err = s.verdict(ctx, conn, normalize(c), false); err != nil {
			return nil, s.fail("checking "+cmpOr(c.RecipientURN, c.ProfileSlug), err)
		}
	}
	return vs, nil
}

// verdict is the one decision of Claim and Check; write records it (in a
// transaction holding the person's lock).
func (s *store) verdict(ctx context.Context, q querier, c Claim, write bool) (Verdict, error) {
	if !c.Action.Contacting() {
		if !write {
			own, err := s.ownRow(ctx, q, c)
			if err != nil || own == nil {
				return Verdict{OK: err == nil}, err
			}
			return Verdict{OK: true, ID: own.ID}, nil
		}
		id, err := s.upsertRow(ctx, q, c)
		return Verdict{OK: true, ID: id}, err
	}
	// The do-not-contact list holds whatever else was granted.
	e, err := s.findDNC(ctx, q, c.RecipientURN, c.ProfileSlug)
	if err != nil {
		return Verdict{}, err
	}
	if e != nil {
		if write && e.RecipientURN == "" {
			if err := s.adoptURN(ctx, q, e.ProfileSlug, c.RecipientURN); err != nil {
				return Verdict{}, err
			}
		}
		return Verdict{Excluded: true, DNC: e, Reason: dncReason(*e)}, nil
	}
	own, err := s.ownRow(ctx, q, c)
	if err != nil {
		return Verdict{}, err
	}
	// A run's own live claim is granted again: it was checked when taken.
	if own != nil && !own.NoTask {
		if write && own.RunID != c.RunID {
			if _, err := q.ExecContext(ctx, s.d.q(`UPDATE ledger SET run_id = ? WHERE id = ?`), c.RunID, own.ID); err != nil {
				return Verdict{}, err
			}
		}
		return Verdict{OK: true, ID: own.ID}, nil
	}
	if c.CampaignID != "" && c.Policy.Scope != ScopeAllow {
		earlier, err := s.earlier(ctx, q, c)
		if err != nil {
			return Verdict{}, err
		}
		if earlier != nil {
			return Verdict{Skipped: true, Earlier: earlier, Reason: skipReason(*earlier)}, nil
		}
	}
	if !write {
		v := Verdict{OK: true}
		if own != nil {
			v.ID = own.ID
		}
		return v, nil
	}
	id, err := s.upsertRow(ctx, q, c)
	return Verdict{OK: true, ID: id}, err
}

func dncReason(e DNCEntry) string {
	key := e.RecipientURN
	if e.ProfileSlug != "" {
		key = "profile " + e.ProfileSlug
		if e.RecipientURN != "" {
			key += ", " + e.RecipientURN
		}
	}
	r := "on the do-not-contact list (" + key + ")"
	if e.Reason != "" {
		r += ": " + e.Reason
	}
	return r
}

func skipReason(e Entry) string {
	by := fmt.Sprintf("campaign %q", e.CampaignID)
	if e.CampaignID == "" {
		by = "a single send"
	}
	return fmt.Sprintf("already contacted by %s from account %q on %s (%s)", by, e.Account, e.ClaimedAt.Format("2006-01-02"), e.Action)
}

// upsertRow writes a claim's row, or takes over the row of the same
// workflow, action and step (a new run's, or a claim that ended NoTask) as
// a fresh claim.
func (s *store) upsertRow(ctx context.Context, q querier, c Claim) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, s.d.q(`INSERT INTO ledger
		(account, recipient_urn, profile_slug, action, campaign_id, step, workflow_id, run_id, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workflow_id, action, step) DO UPDATE SET
			run_id = excluded.run_id,
			account = excluded.account,
			recipient_urn = CASE WHEN excluded.recipient_urn <> '' THEN excluded.recipient_urn ELSE ledger.recipient_urn END,
			profile_slug = CASE WHEN excluded.profile_slug <> '' THEN excluded.profile_slug ELSE ledger.profile_slug END,
			campaign_id = excluded.campaign_id,
			claimed_at = CASE WHEN ledger.no_task THEN excluded.claimed_at ELSE ledger.claimed_at END,
			outcome = CASE WHEN ledger.no_task THEN '' ELSE ledger.outcome END,
			reason = CASE WHEN ledger.no_task THEN '' ELSE ledger.reason END,
			task_id = CASE WHEN ledger.no_task THEN '' ELSE ledger.task_id END,
			finished_at = CASE WHEN ledger.no_task THEN NULL ELSE ledger.finished_at END,
			no_task = ?
		RETURNING id`),
		c.Account, c.RecipientURN, c.ProfileSlug, string(c.Action), c.CampaignID, c.Step, c.WorkflowID, c.RunID, s.d.t(c.At), false,
	).Scan(&id)
	return id, err
}

// learn records that slug is urn's, and gives a do-not-contact entry by
// that slug the URN.
func (s *store) learn(ctx context.Context, q querier, slug, urn string, at time.Time) error {
	if _, err := q.ExecContext(ctx, s.d.q(`INSERT INTO profiles (profile_slug, recipient_urn, learnt_at) VALUES (?, ?, ?)
		ON CONFLICT (profile_slug) DO UPDATE SET recipient_urn = excluded.recipient_urn, learnt_at = excluded.learnt_at
		WHERE profiles.recipient_urn <> excluded.recipient_urn`), slug, urn, s.d.t(at)); err != nil {
		return err
	}
	return s.adoptURN(ctx, q, slug, urn)
}

// adoptURN writes urn on the do-not-contact entry of slug, unless the list
// already has an entry by that URN.
func (s *store) adoptURN(ctx context.Context, q querier, slug, urn string) error {
	_, err := q.ExecContext(ctx, s.d.q(`UPDATE dnc SET recipient_urn = ?
		WHERE profile_slug = ? AND recipient_urn = ''
		AND NOT EXISTS (SELECT 1 FROM dnc d2 WHERE d2.recipient_urn = ?)`), urn, slug, urn)
	return err
}

// findDNC finds the entry of a person: by URN, by the claim's slug, or by
// a slug the store has learnt is the URN's; an entry by URN first. Each
// branch is one index lookup (an OR across them would scan the list).
func (s *store) findDNC(ctx context.Context, q querier, urn, slug string) (*DNCEntry, error) {
	var e DNCEntry
	var rank int
	err := q.QueryRowContext(ctx, s.d.q(`SELECT 0, recipient_urn, profile_slug, reason, added_at, id FROM dnc
			WHERE recipient_urn = ? AND recipient_urn <> ''
		UNION ALL
		SELECT 1, recipient_urn, profile_slug, reason, added_at, id FROM dnc
			WHERE profile_slug = ? AND profile_slug <> ''
		UNION ALL
		SELECT 2, d.recipient_urn, d.profile_slug, d.reason, d.added_at, d.id FROM profiles p JOIN dnc d ON d.profile_slug = p.profile_slug
			WHERE p.recipient_urn = ? AND d.profile_slug <> ''
		ORDER BY 1, 6
		LIMIT 1`), urn, slug, urn).Scan(&rank, &e.RecipientURN, &e.ProfileSlug, &e.Reason, dbTime{&e.AddedAt}, new(int64))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

const entryColumns = `id, account, recipient_urn, profile_slug, action, campaign_id, step, workflow_id, run_id, task_id, outcome, reason, no_task, claimed_at, finished_at`

func scanEntry(row interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var action string
	err := row.Scan(&e.ID, &e.Account, &e.RecipientURN, &e.ProfileSlug, &action, &e.CampaignID, &e.Step,
		&e.WorkflowID, &e.RunID, &e.TaskID, &e.Outcome, &e.Reason, &e.NoTask, dbTime{&e.ClaimedAt}, dbTime{&e.FinishedAt})
	e.Action = Action(action)
	return e, err
}

func (s *store) ownRow(ctx context.Context, q querier, c Claim) (*Entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, s.d.q(`SELECT `+entryColumns+` FROM ledger
		WHERE workflow_id = ? AND action = ? AND step = ?`), c.WorkflowID, string(c.Action), c.Step))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// earlier finds the earliest contact of the person by another campaign
// (or a single send) within the policy's scope and window that may have
// reached them (not NoTask).
func (s *store) earlier(ctx context.Context, q querier, c Claim) (*Entry, error) {
	window := c.Policy.Window
	if window <= 0 {
		window = DefaultWindow
	}
	query := `SELECT ` + entryColumns + ` FROM ledger
		WHERE recipient_urn = ? AND claimed_at >= ? AND action IN (?, ?) AND no_task = ? AND campaign_id <> ?`
	args := []any{c.RecipientURN, s.d.t(c.At.Add(-window)), string(ActionMessage), string(ActionConnect), false, c.CampaignID}
	if c.Policy.Scope != ScopeAll {
		query += ` AND account = ?`
		args = append(args, c.Account)
	}
	e, err := scanEntry(q.QueryRowContext(ctx, s.d.q(query+` ORDER BY claimed_at, id LIMIT 1`), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *store) Finish(ctx context.Context, r Result) error {
	if r.WorkflowID == "" || r.Action == "" {
		return usage("a result needs the workflow id and the action")
	}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	op := "recording the outcome of " + r.WorkflowID
	unlock, err := s.lockWrites(ctx, op)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.db.ExecContext(ctx, s.d.q(`UPDATE ledger SET task_id = ?, outcome = ?, reason = ?, no_task = ?, finished_at = ?
		WHERE workflow_id = ? AND action = ? AND step = ?`),
		r.TaskID, r.Outcome, r.Reason, r.NoTask, s.d.t(r.At.UTC().Truncate(time.Microsecond)), r.WorkflowID, string(r.Action), r.Step)
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

func (s *store) History(ctx context.Context, person string) ([]Entry, error) {
	urn, slug, err := recipients.ParsePerson(person)
	if err != nil {
		return nil, err
	}
	slug = normSlug(slug)
	// A URN's rows, and those that named the person only by a slug the
	// store learnt is theirs; a slug's rows, and the rows of the URN it
	// is. Each branch one index lookup; UNION drops a row found twice.
	if urn == "" {
		if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT recipient_urn FROM profiles WHERE profile_slug = ?`), slug).Scan(&urn); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, s.fail("reading the history of "+person, err)
		}
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT `+entryColumns+` FROM ledger WHERE recipient_urn = ? AND recipient_urn <> ''
		UNION
		SELECT `+entryColumns+` FROM ledger WHERE profile_slug = ? AND profile_slug <> ''
		UNION
		SELECT `+prefixed("l.", entryColumns)+` FROM profiles p JOIN ledger l ON l.profile_slug = p.profile_slug
			WHERE p.recipient_urn = ? AND l.profile_slug <> ''
		ORDER BY 14, 1`), urn, slug, urn)
	if err != nil {
		return nil, s.fail("reading the history of "+person, err)
	}
	defer rows.Close()
	var es []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, s.fail("reading the history of "+person, err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading the history of "+person, err)
	}
	return es, nil
}

// prefixed qualifies a list of columns with a table's alias.
func prefixed(alias, columns string) string {
	cs := strings.Split(columns, ", ")
	for i := range cs {
		cs[i] = alias + cs[i]
	}
	return strings.Join(cs, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
