package contacts

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" driver: pure Go, no cgo
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// dialect is what differs between SQLite and PostgreSQL: the driver,
// the migrations, placeholders, how a time is stored, and the locks. The
// queries are otherwise the same, written with ? placeholders.
type dialect struct {
	name        string // "sqlite" or "postgres": the migrations' folder too
	driver      string // database/sql driver name
	dollar      bool   // placeholders are $1, $2...
	timeAsMicro bool   // a time is an INTEGER of Unix microseconds
	// lockPerson serializes claims on one person within tx (SQLite: the
	// immediate transaction already serializes every writer).
	lockPerson func(ctx context.Context, tx *sql.Tx, urn string) error
	// lockMigrations holds a lock across the migrations on conn (and
	// returns its release); nil when each migration's transaction is lock
	// enough.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (func(), error)
	// importDNC writes the parsed entries of src in one transaction (or
	// none when src reports bad lines).
	importDNC func(ctx context.Context, s *store, src *dncSource) (added int64, err error)

	// busy says whether an error is a lock held by another process that
	// the busy timeout did not wait for (SQLite, while a fresh file's
	// journal mode changes): the migrations then start again.
	busy func(error) bool
	// cantOpen says whether an error is a file that cannot be opened.
	cantOpen func(error) bool
	// serializeWrites: this process's writers take turns in Go first.
	serializeWrites bool
	// maxConns bounds a store's connections.
	maxConns int

	rebound sync.Map // query with ? -> query with $n
}

// q rewrites a query's ? placeholders for the dialect. No query here has
// a ? inside a string literal.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	if r, ok := d.rebound.Load(query); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	d.rebound.Store(query, b.String())
	return b.String()
}

// t is a time as the dialect stores it.
func (d *dialect) t(t time.Time) any {
	if d.timeAsMicro {
		return t.UnixMicro()
	}
	return t.UTC()
}

// dbTime scans a stored time of either dialect.
type dbTime struct{ t *time.Time }

func (s dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.UnixMicro(v).UTC()
	case time.Time:
		*s.t = v.UTC()
	default:
		return fmt.Errorf("contacts: a time stored as %T", v)
	}
	return nil
}

var _ sql.Scanner = dbTime{}

var sqliteDialect = &dialect{
	name:        "sqlite",
	driver:      "sqlite",
	timeAsMicro: true,
	lockPerson:  func(context.Context, *sql.Tx, string) error { return nil },
	importDNC:   importDNCRows,
	// Readers run beside the one writer (WAL).
	serializeWrites: true,
	maxConns:        8,
	busy: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
	},
	cantOpen: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CANTOPEN
	},
}

// migrationFiles lists the dialect's migrations in order: NNNN_name.sql.
func (d *dialect) migrationFiles() ([]migration, error) {
	dir := "migrations/" + d.name
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		name := e.Name()
		n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("contacts: migration %s is not named NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		if len(ms) > 0 && ms[len(ms)-1].version >= n {
			return nil, fmt.Errorf("contacts: migration %s is out of order", name)
		}
		ms = append(ms, migration{version: n, name: name, sql: string(body)})
	}
	return ms, nil
}

type migration struct {
	version int
	name    string
	sql     string
}
