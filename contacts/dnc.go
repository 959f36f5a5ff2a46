package contacts

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/recipients"
)

// ImportOptions tune ImportDNC.
type ImportOptions struct {
	// Reason is the reason of every entry whose line gives none.
	Reason string
	// At is the entries' added_at (default: now).
	At time.Time
}

// ImportResult counts what ImportDNC read.
type ImportResult struct {
	Entries    int `json:"entries"`    // people read from the file
	Added      int `json:"added"`      // new on the list
	Duplicates int `json:"duplicates"` // already on the list, or repeated in the file
}

// maxImportProblems is how many bad lines an ImportError lists (the rest
// are counted).
const maxImportProblems = 20

// ImportError lists the bad lines of a do-not-contact file; nothing of
// the file was imported.
type ImportError struct {
	Problems []LineError
	More     int // bad lines beyond Problems
}

// LineError is one bad line of a do-not-contact file.
type LineError struct {
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e LineError) Unwrap() error { return e.Err }

func (e *ImportError) Error() string {
	var b strings.Builder
	n := len(e.Problems) + e.More
	fmt.Fprintf(&b, "%d bad line", n)
	if n != 1 {
		b.WriteString("s")
	}
	b.WriteString(", nothing imported:")
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  and %d more", e.More)
	}
	return b.String()
}

func (s *store) AddDNC(ctx context.Context, e DNCEntry) error {
	e, err := checkDNC(e)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "adding "+cmpOr(e.RecipientURN, e.ProfileSlug)+" to the do-not-contact list", func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT id FROM dnc
			WHERE (recipient_urn = ? AND recipient_urn <> '') OR (profile_slug = ? AND profile_slug <> '')
			ORDER BY id LIMIT 1`), e.RecipientURN, e.ProfileSlug).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO dnc (recipient_urn, profile_slug, reason, added_at) VALUES (?, ?, ?, ?)`),
				e.RecipientURN, e.ProfileSlug, e.Reason, s.d.t(e.AddedAt))
			return err
		case err != nil:
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.q(`UPDATE dnc SET reason = ?,
			recipient_urn = CASE WHEN recipient_urn = '' THEN ? ELSE recipient_urn END,
			profile_slug = CASE WHEN profile_slug = '' THEN ? ELSE profile_slug END
			WHERE id = ?`), e.Reason, e.RecipientURN, e.ProfileSlug, id)
		return err
	})
}

// checkDNC validates an entry's person and fills its defaults.
func checkDNC(e DNCEntry) (DNCEntry, error) {
	e.RecipientURN = strings.TrimSpace(e.RecipientURN)
	e.Reason = strings.TrimSpace(e.Reason)
	if e.RecipientURN == "" && strings.TrimSpace(e.ProfileSlug) == "" {
		return e, usage("a do-not-contact entry needs a URN or a profile slug")
	}
	if e.RecipientURN != "" {
		if err := outx.ValidateRecipientURN(e.RecipientURN); err != nil {
			return e, err
		}
	}
	if e.ProfileSlug != "" {
		urn, slug, err := recipients.ParsePerson(e.ProfileSlug)
		if err == nil && urn != "" {
			err = &outx.FieldError{Field: "profile_slug", Rule: fmt.Sprintf("%s is a URN, not a profile slug", urn)}
		}
		if err != nil {
			return e, err
		}
		e.ProfileSlug = normSlug(slug)
	}
	if e.AddedAt.IsZero() {
		e.AddedAt = time.Now()
	}
	e.AddedAt = e.AddedAt.UTC().Truncate(time.Microsecond)
	return e, nil
}

func (s *store) RemoveDNC(ctx context.Context, person string) (bool, error) {
	urn, slug, err := recipients.ParsePerson(person)
	if err != nil {
		return false, err
	}
	slug = normSlug(slug)
	// The person's entries by URN and by every slug the store knows is
	// theirs (found first: each lookup one index).
	if urn == "" {
		if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT recipient_urn FROM profiles WHERE profile_slug = ?`), slug).Scan(&urn); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, s.fail("removing "+person+" from the do-not-contact list", err)
		}
	}
	unlock, err := s.lockWrites(ctx, "removing "+person+" from the do-not-contact list")
	if err != nil {
		return false, err
	}
	defer unlock()
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM dnc WHERE id IN (
		SELECT id FROM dnc WHERE recipient_urn = ? AND recipient_urn <> ''
		UNION SELECT id FROM dnc WHERE profile_slug = ? AND profile_slug <> ''
		UNION SELECT d.id FROM profiles p JOIN dnc d ON d.profile_slug = p.profile_slug WHERE p.recipient_urn = ? AND d.profile_slug <> '')`),
		urn, slug, urn)
	if err != nil {
		return false, s.fail("removing "+person+" from the do-not-contact list", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail("removing "+person+" from the do-not-contact list", err)
	}
	return n > 0, nil
}

func (s *store) ListDNC(ctx context.Context, fn func(DNCEntry) error) error {
	const op = "listing the do-not-contact list"
	rows, err := s.db.QueryContext(ctx, `SELECT recipient_urn, profile_slug, reason, added_at FROM dnc ORDER BY added_at, id`)
	if err != nil {
		return s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e DNCEntry
		if err := rows.Scan(&e.RecipientURN, &e.ProfileSlug, &e.Reason, dbTime{&e.AddedAt}); err != nil {
			return s.fail(op, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

func (s *store) ExportDNC(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"recipient_urn", "profile_slug", "reason", "added_at"}); err != nil {
		return err
	}
	err := s.ListDNC(ctx, func(e DNCEntry) error {
		return cw.Write([]string{e.RecipientURN, e.ProfileSlug, e.Reason, e.AddedAt.Format(time.RFC3339)})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (s *store) ImportDNC(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if opts.At.IsZero() {
		opts.At = time.Now()
	}
	opts.At = opts.At.UTC().Truncate(time.Microsecond)
	opts.Reason = strings.TrimSpace(opts.Reason)
	src := newDNCSource(r, opts.Reason)
	src.at = opts.At
	unlock, err := s.lockWrites(ctx, "importing the do-not-contact list")
	if err != nil {
		return ImportResult{}, err
	}
	defer unlock()
	added, err := s.d.importDNC(ctx, s, src)
	if src.err != nil {
		return ImportResult{}, fmt.Errorf("contacts: reading the do-not-contact file: %w", src.err)
	}
	if len(src.problems) > 0 {
		return ImportResult{}, &ImportError{Problems: src.problems, More: src.more}
	}
	if err != nil {
		return ImportResult{}, s.fail("importing the do-not-contact list", err)
	}
	return ImportResult{Entries: src.entries, Added: int(added), Duplicates: src.entries - int(added)}, nil
}

// importDNCRows imports with one prepared INSERT per entry in one
// transaction (SQLite: a million in seconds).
func importDNCRows(ctx context.Context, s *store, src *dncSource) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, s.d.q(`INSERT INTO dnc (recipient_urn, profile_slug, reason, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`))
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	at := s.d.t(src.at)
	var added int64
	for src.Next() {
		if src.bad() {
			continue // read on, to name every bad line; nothing will be kept
		}
		e := src.cur
		res, err := stmt.ExecContext(ctx, e.urn, e.slug, e.reason, at)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		added += n
	}
	if src.err != nil || src.bad() {
		return 0, nil
	}
	return added, tx.Commit()
}

// dncSource reads a do-not-contact file entry by entry, never whole: one
// person per line, or CSV with a header. A UTF-8 BOM, CRLF and blank lines
// are fine; a bad line is recorded (problems) and skipped, and reading
// goes on so the error names every bad line.
type dncSource struct {
	in        *lineReader
	csv       *csv.Reader
	cols      map[string]int
	nfields   int
	defReason string
	at        time.Time
	started   bool

	cur      dncRow
	entries  int
	problems []LineError
	more     int
	err      error // reading failed
}

type dncRow struct {
	line              int
	urn, slug, reason string
}

func newDNCSource(r io.Reader, reason string) *dncSource {
	return &dncSource{in: newLineReader(r), defReason: reason}
}

// bad says whether any line so far was bad.
func (s *dncSource) bad() bool { return len(s.problems) > 0 }

func (s *dncSource) problem(line int, err error) {
	if len(s.problems) < maxImportProblems {
		s.problems = append(s.problems, LineError{Line: line, Err: err})
		return
	}
	s.more++
}

// identityColumns are the columns that name a person, in the order a row's
// person is taken from (as a campaign's CSV: the URN first).
var identityColumns = []string{"recipient_urn", "profile_slug", "profile_url", "person"}

// Next reads the next entry into cur (a bad line too: see bad); false at
// the end or when reading fails (err).
func (s *dncSource) Next() bool {
	if !s.started {
		s.started = true
		if !s.start() {
			return false
		}
	}
	for {
		if s.csv != nil {
			rec, err := s.csv.Read()
			if err == io.EOF {
				return false
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				s.problem(pe.StartLine, errors.New(pe.Err.Error()))
				continue
			}
			if err != nil {
				s.err = err
				return false
			}
			line, _ := s.csv.FieldPos(0)
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			if len(rec) > s.nfields {
				s.problem(line, fmt.Errorf("%d fields, the header has %d (quote a reason that has a comma)", len(rec), s.nfields))
				continue
			}
			s.row(line, rec)
			return true
		}
		line, text, err := s.in.next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			if errors.Is(err, errLongLine) {
				s.problem(line, err)
				continue
			}
			s.err = err
			return false
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		s.cur = dncRow{line: line, reason: s.defReason}
		if s.parse(line, "", text) {
			s.entries++
		}
		return true
	}
}

// start reads up to the first line with text and decides the format: a
// CSV header (names a person column), else one person per line.
func (s *dncSource) start() bool {
	var consumed strings.Builder
	for {
		line, text, err := s.in.next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			if errors.Is(err, errLongLine) {
				s.problem(line, err)
				consumed.WriteString("\n")
				continue
			}
			s.err = err
			return false
		}
		if strings.TrimSpace(text) == "" {
			consumed.WriteString("\n")
			continue
		}
		names := strings.Split(text, ",")
		cols := map[string]int{}
		person := false
		for i, n := range names {
			n = strings.ToLower(strings.Trim(strings.TrimSpace(n), `"`))
			if _, dup := cols[n]; !dup {
				cols[n] = i
			}
			for _, id := range identityColumns {
				person = person || n == id
			}
		}
		switch {
		case person:
			s.cols, s.nfields = cols, len(names)
			consumed.WriteString(text + "\n")
			s.csv = csv.NewReader(io.MultiReader(strings.NewReader(consumed.String()), &lineLimit{r: s.in.rest(), line: line + 1}))
			s.csv.FieldsPerRecord = -1
			s.csv.ReuseRecord = true
			if _, err := s.csv.Read(); err != nil { // the header
				s.problem(line, err)
				return false
			}
		case len(names) > 1:
			s.problem(line, fmt.Errorf("a CSV needs a header naming a person column (person, recipient_urn, profile_url or profile_slug; and reason): the first line is %s", short(text)))
			// Read on as lines, to name the other bad lines too.
			s.in.unread(line, text)
		default:
			s.in.unread(line, text)
		}
		return true
	}
}

// row takes a CSV record's person and reason.
func (s *dncSource) row(line int, rec []string) {
	s.cur = dncRow{line: line, reason: s.defReason}
	if i, ok := s.cols["reason"]; ok && i < len(rec) {
		if r := strings.TrimSpace(rec[i]); r != "" {
			s.cur.reason = r
		}
	}
	for _, col := range identityColumns {
		i, ok := s.cols[col]
		if !ok || i >= len(rec) || strings.TrimSpace(rec[i]) == "" {
			continue
		}
		if s.parse(line, col, strings.TrimSpace(rec[i])) {
			s.entries++
		}
		return
	}
	s.problem(line, errors.New("names no person: its "+strings.Join(s.present(), ", ")+" cell is empty"))
}

// present lists the header's person columns.
func (s *dncSource) present() []string {
	var cs []string
	for _, c := range identityColumns {
		if _, ok := s.cols[c]; ok {
			cs = append(cs, c)
		}
	}
	return cs
}

// parse reads a person's cell into cur; false (and a problem) when bad.
func (s *dncSource) parse(line int, col, v string) bool {
	if col == "recipient_urn" {
		if err := outx.ValidateRecipientURN(v); err != nil {
			s.problem(line, err)
			return false
		}
		s.cur.urn = v
		return true
	}
	urn, slug, err := recipients.ParsePerson(v)
	if err != nil {
		s.problem(line, err)
		return false
	}
	s.cur.urn, s.cur.slug = urn, normSlug(slug)
	return true
}

func short(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + "…"
	}
	return strconv.Quote(s)
}
