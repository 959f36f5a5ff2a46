package contacts

import (
	"context"
	"database/sql"
	"hash/fnv"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// postgresDialect: PostgreSQL through pgx. Claims on one person take
// turns on a transaction-scoped advisory lock of that person; migrations
// on a session lock.
var postgresDialect = &dialect{
	name:     "postgres",
	driver:   "pgx",
	dollar:   true,
	maxConns: 20,
	lockPerson: func(ctx context.Context, tx *sql.Tx, urn string) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, personKey(urn))
		return err
	},
	lockMigrations: func(ctx context.Context, conn *sql.Conn) (func(), error) {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationsKey)); err != nil {
			return nil, err
		}
		return func() {
			// Closing the session releases it too, if this fails.
			conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationsKey))
		}, nil
	},
	importDNC: importDNCCopy,
}

// importDNCCopy streams the entries into a temporary table with COPY, then
// adds them to the list in one INSERT, in one transaction: a million in
// seconds.
func importDNCCopy(ctx context.Context, s *store, src *dncSource) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var added int64
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// The INSERT sorts the file by line: in memory, not on disk.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE dnc_import (line BIGINT NOT NULL, recipient_urn TEXT NOT NULL, profile_slug TEXT NOT NULL, reason TEXT NOT NULL) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dnc_import"}, []string{"line", "recipient_urn", "profile_slug", "reason"}, copySource{src}); err != nil {
			return err
		}
		if src.err != nil || src.bad() {
			return nil
		}
		// The file's first line of a person wins over its repeats.
		tag, err := tx.Exec(ctx, `INSERT INTO dnc (recipient_urn, profile_slug, reason, added_at)
			SELECT recipient_urn, profile_slug, reason, $1 FROM dnc_import ORDER BY line
			ON CONFLICT DO NOTHING`, src.at)
		if err != nil {
			return err
		}
		added = tag.RowsAffected()
		return tx.Commit(ctx)
	})
	return added, err
}

// copySource feeds COPY the good entries; after a bad line, nothing
// more (the import will be rolled back) while the rest is read for its
// errors.
type copySource struct{ src *dncSource }

func (c copySource) Next() bool {
	for c.src.Next() {
		if !c.src.bad() {
			return true
		}
	}
	return false
}

func (c copySource) Values() ([]any, error) {
	e := c.src.cur
	return []any{int64(e.line), e.urn, e.slug, e.reason}, nil
}

func (c copySource) Err() error { return c.src.err }

// personKey is the advisory lock of a person.
func personKey(urn string) int64 {
	h := fnv.New64a()
	io.WriteString(h, "outpace.contacts.person:"+urn)
	return int64(h.Sum64())
}

// migrationsKey is the advisory lock held while migrating.
const migrationsKey = 0x6f75747061636501 // "outpace" 01
