package contacts

import (
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"io"
)

// postgresDialect: PostgreSQL through pgx. Claims on one person take
// turns on a transaction-scoped advisory lock of that person; migrations
// on a session lock.
var postgresDialect = &dialect{
	name:   "postgres",
	driver: "pgx",
	dollar: true,
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
	importDNC: func(context.Context, *store, *dncSource) (int64, error) {
		return 0, errors.New("not yet")
	},
}

// personKey is the advisory lock of a person.
func personKey(urn string) int64 {
	h := fnv.New64a()
	io.WriteString(h, "outpace.contacts.person:"+urn)
	return int64(h.Sum64())
}

// migrationsKey is the advisory lock held while migrating.
const migrationsKey = 0x6f75747061636501 // "outpace" 01
