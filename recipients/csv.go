package recipients

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Identity columns: every other column is a template variable.
const (
	colURN  = "recipient_urn"
	colURL  = "profile_url"
	colSlug = "profile_slug"
)

// MaxSummaryProblems bounds Summary.Problems: enough to see what is wrong,
// not a million lines when a whole column is.
const MaxSummaryProblems = 20

// MaxRowBytes bounds one row of a CSV file: far more than a row of names and
// message variables needs (a message is at most 10,000 characters), and small
// enough that what is not a recipient list (a binary file, a quote never
// closed, one endless line) is refused instead of read whole into memory.
const MaxRowBytes = 1 << 20

// MaxColumns bounds the header: every column is a template variable of every
// row, and a recipient list has a few dozen at most.
const MaxColumns = 1000

// utf8BOM starts the files that Excel saves as "CSV UTF-8".
var utf8BOM = []byte("\xef\xbb\xbf")

// Header is a CSV file's first row: the columns, trimmed and lower-cased so
// that "Recipient_URN " is found, and where the identity columns are.
type Header struct {
	Columns        []string
	urn, url, slug int // indexes in Columns, -1 when absent
}

// Cursor is a position in the file between rows, carried in workflow state:
// the byte offset of the next row and the line number at that offset. A page
// starts reading there without reading the rows before it; the line lets it
// number its rows as the user's editor does.
type Cursor struct {
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
}

// Page is a run of prepared rows and where the next page starts.
type Page struct {
	Recipients []Prepared `json:"recipients"`
	Next       Cursor     `json:"next"`
	Done       bool       `json:"done"` // no rows after Next
}

// CSVError is a fault of the file's structure (its header, its quoting) as
// opposed to a row's content, which is reported in Prepared.Problems. Past
// such a fault no row can be trusted, so reading stops there.
type CSVError struct {
	Line int
	Rule string
}

func (e *CSVError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Rule) }

// Summary is a whole-file check done once before a campaign starts.
type Summary struct {
	Rows     int        `json:"rows"`               // data rows
	Invalid  int        `json:"invalid"`            // rows with problems
	Problems []string   `json:"problems,omitempty"` // the first 20 problems, each prefixed "line N: "
	Columns  []string   `json:"columns"`
	SHA256   string     `json:"sha256"`            // hex digest of the whole file, so the worker can check it reads the file the user checked
	Preview  []Prepared `json:"preview,omitempty"` // the first rows prepared, as many as Scan was asked for
}

// ReadHeader reads a CSV file's header and returns it with the cursor of the
// first row.
func ReadHeader(r io.Reader) (*Header, Cursor, error) {
	h, rs, err := readHeader(r)
	if err != nil {
		return nil, Cursor{}, err
	}
	return h, rs.at, nil
}

// ReadPage reads up to limit rows starting at cur (the zero Cursor means the
// first row) and prepares each with t. It stops before a row that would bring
// the page's text (messages or step texts, identities, problems) past
// maxBytes, so a page stays well under Temporal's 2 MB payload cap; a page has
// at least one row all the same, so that reading always progresses. A limit
// below 1 counts as 1.
//
// r must be the whole file: the header is read from offset 0 on every call,
// since a page may be read by any worker after any restart. A structural
// fault is returned as a *CSVError only when it is at cur; after rows that
// read well, the page ends before it (Done false) and the next call reports
// it, so the rows before it are not lost.
func ReadPage(r io.ReadSeeker, cur Cursor, limit, maxBytes int, t *Template) (Page, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return Page{}, fmt.Errorf("recipients: reading CSV: %w", err)
	}
	h, hr, err := readHeader(r)
	if err != nil {
		return Page{}, err
	}
	if cur == (Cursor{}) {
		cur = hr.at
	} else if err := checkCursor(r, cur, hr.at); err != nil {
		return Page{}, err
	}
	if _, err := r.Seek(cur.Offset, io.SeekStart); err != nil {
		return Page{}, fmt.Errorf("recipients: reading CSV: %w", err)
	}
	rs, binds := newRows(r, cur), h.bindings(t)
	page, size := Page{Recipients: []Prepared{}, Next: cur}, 0
	for {
		rec, line, err := rs.next()
		switch {
		case err == io.EOF:
			page.Done = true
			return page, nil
		case err != nil && len(page.Recipients) == 0:
			return Page{}, err
		case err != nil || len(page.Recipients) >= max(limit, 1):
			return page, nil
		}
		p := h.prepare(line, rec, binds, t)
		n := p.size()
		if len(page.Recipients) > 0 && size+n > maxBytes {
			return page, nil
		}
		page.Recipients = append(page.Recipients, p)
		size += n
		page.Next = rs.at
	}
}

// checkCursor refuses a cursor that cannot be between two rows of this file,
// as when the file changed after the cursor was taken: read from inside a row,
// every row after would be misread.
func checkCursor(r io.ReadSeeker, cur, first Cursor) error {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("recipients: reading CSV: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("recipients: cursor at offset %d, line %d %s (has the file changed?)", cur.Offset, cur.Line, why)
	}
	switch {
	case cur.Offset < first.Offset || cur.Line < first.Line || (cur.Offset == first.Offset) != (cur.Line == first.Line):
		return bad(fmt.Sprintf("is not after the header (the first row is at offset %d, line %d)", first.Offset, first.Line))
	case int64(cur.Line) > cur.Offset+1: // each line but the first starts after a newline
		return bad("has more lines than bytes before it")
	case cur.Offset > size:
		return bad(fmt.Sprintf("is past the end of the file (%d bytes)", size))
	case cur.Offset == first.Offset || cur.Offset == size:
		return nil
	}
	var b [1]byte
	if _, err := r.Seek(cur.Offset-1, io.SeekStart); err != nil {
		return fmt.Errorf("recipients: reading CSV: %w", err)
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("recipients: reading CSV: %w", err)
	}
	if b[0] != '\n' {
		return bad("is not at the start of a line")
	}
	return nil
}

// Scan reads the whole file in one pass, in constant memory whatever its
// size, prepares every row with t, and summarizes, so that a user learns of
// every kind of problem before the campaign sends anything. A structural
// fault is a *CSVError.
func Scan(r io.Reader, t *Template, preview int) (Summary, error) {
	hash := sha256.New()
	h, rs, err := readHeader(io.TeeReader(r, hash))
	if err != nil {
		return Summary{}, err
	}
	s, binds := Summary{Columns: h.Columns}, h.bindings(t)
	for {
		rec, line, err := rs.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Summary{}, err
		}
		s.add(h.prepare(line, rec, binds, t), "line", preview)
	}
	s.SHA256 = hex.EncodeToString(hash.Sum(nil))
	return s, nil
}

// SummarizeInline is Scan's summary for inline recipients, whose problems
// are named "recipient N" (numbered from 1) instead of by line.
func SummarizeInline(rs []Recipient, t *Template, preview int) Summary {
	prepared, _, _ := Inline(rs, t, 0, len(rs))
	var s Summary
	for _, p := range prepared {
		s.add(p, "recipient", preview)
	}
	return s
}

// add counts one prepared recipient into the summary; where names its
// position in problems ("line 7: ...").
func (s *Summary) add(p Prepared, where string, preview int) {
	s.Rows++
	if len(p.Problems) > 0 {
		s.Invalid++
	}
	for _, pr := range p.Problems {
		if len(s.Problems) < MaxSummaryProblems {
			s.Problems = append(s.Problems, fmt.Sprintf("%s %d: %s", where, p.Line, pr))
		}
	}
	if len(s.Preview) < preview {
		s.Preview = append(s.Preview, p)
	}
}

// readHeader reads the header from the start of the file, skipping a UTF-8
// byte order mark, and returns the rows that follow it.
func readHeader(r io.Reader) (*Header, *rows, error) {
	br := bufio.NewReader(r)
	base := Cursor{Line: 1}
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM))
		base.Offset = int64(len(utf8BOM))
	}
	rs := newRows(br, base)
	rec, line, err := rs.next()
	if err == io.EOF {
		return nil, nil, &CSVError{Line: 1, Rule: "the file is empty: its first row must be a header naming the columns"}
	}
	if err != nil {
		return nil, nil, err
	}
	h, err := parseHeader(rec, line)
	return h, rs, err
}

func parseHeader(rec []string, line int) (*Header, error) {
	if len(rec) > MaxColumns {
		return nil, &CSVError{Line: line, Rule: fmt.Sprintf("the header has %d columns; at most %d are allowed (is this a recipient list?)", len(rec), MaxColumns)}
	}
	h := &Header{Columns: make([]string, len(rec))}
	seen := make(map[string]int, len(rec))
	for i, c := range rec {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			return nil, &CSVError{Line: line, Rule: fmt.Sprintf("header column %d has no name", i+1)}
		}
		if j, dup := seen[c]; dup {
			return nil, &CSVError{Line: line, Rule: fmt.Sprintf("header column %s appears twice (columns %d and %d)", quote(c), j+1, i+1)}
		}
		seen[c] = i
		h.Columns[i] = c
	}
	h.urn, h.url, h.slug = slices.Index(h.Columns, colURN), slices.Index(h.Columns, colURL), slices.Index(h.Columns, colSlug)
	if h.urn < 0 && h.url < 0 && h.slug < 0 {
		const listed = 10
		names := make([]string, 0, listed+1)
		for _, c := range h.Columns[:min(len(h.Columns), listed)] {
			names = append(names, quote(c))
		}
		if n := len(h.Columns) - listed; n > 0 {
			names = append(names, fmt.Sprintf("and %d more", n))
		}
		rule := fmt.Sprintf("the header must have a %s, %s or %s column; its columns are %s", colURN, colURL, colSlug, strings.Join(names, ", "))
		if slices.ContainsFunc(h.Columns, func(c string) bool { return strings.HasPrefix(c, "urn:li:") || strings.Contains(c, "linkedin.com/") }) {
			rule += " (the first row looks like a recipient: is the header row missing?)"
		}
		return nil, &CSVError{Line: line, Rule: rule}
	}
	return h, nil
}

// binding is a column that fills a template variable.
type binding struct {
	name string
	col  int
}

// bindings lists which column fills which variable: every column but the
// identity ones, under its own name and, since columns are lower-cased, also
// under the template's spelling of it, so that {{First_Name}} reads a column
// headed First_Name.
func (h *Header) bindings(t *Template) []binding {
	var bs []binding
	vars := func(i int) bool { return i != h.urn && i != h.url && i != h.slug }
	for i, c := range h.Columns {
		if vars(i) {
			bs = append(bs, binding{c, i})
		}
	}
	for _, v := range t.vars {
		if lv := strings.ToLower(v); lv != v {
			if i := slices.Index(h.Columns, lv); i >= 0 && vars(i) {
				bs = append(bs, binding{v, i})
			}
		}
	}
	return bs
}

// prepare prepares a row; a row with the wrong number of fields is not
// guessed at, as its values may be in the wrong columns.
func (h *Header) prepare(line int, rec []string, bs []binding, t *Template) Prepared {
	if len(rec) != len(h.Columns) {
		return Prepared{Line: line, Problems: []string{fmt.Sprintf("has %s, the header has %d", fields(len(rec)), len(h.Columns))}}
	}
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		return rec[i]
	}
	r := Recipient{RecipientURN: cell(h.urn), ProfileURL: cell(h.url), ProfileSlug: cell(h.slug), Vars: make(map[string]string, len(bs))}
	for _, b := range bs {
		r.Vars[b.name] = rec[b.col]
	}
	return Prepare(line, r, t)
}

func fields(n int) string {
	if n == 1 {
		return "1 field"
	}
	return fmt.Sprintf("%d fields", n)
}

// size is about what a prepared row adds to a page's payload.
func (p Prepared) size() int {
	n := len(p.RecipientURN) + len(p.ProfileSlug) + len(p.Message) + len(p.Variant)
	for _, s := range p.Texts {
		n += len(s)
	}
	for _, s := range p.Variants {
		n += len(s)
	}
	for _, s := range p.Problems {
		n += len(s)
	}
	return n
}

// rows reads the records of a CSV file from a position between rows, and
// numbers them with the file's own line numbers.
type rows struct {
	cr   *csv.Reader
	lim  *rowLimit
	base Cursor // where cr started
	at   Cursor // after the last record read
}

func newRows(r io.Reader, base Cursor) *rows {
	lim := &rowLimit{r: r}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1 // a row with the wrong field count is that row's problem, not the file's
	cr.ReuseRecord = true
	return &rows{cr: cr, lim: lim, base: base, at: base}
}

// next returns the next record and the line it starts on; io.EOF after the
// last.
func (rs *rows) next() (rec []string, line int, err error) {
	rec, err = rs.cr.Read()
	var pe *csv.ParseError
	switch {
	case rs.lim.over:
		return nil, 0, &CSVError{Line: rs.at.Line, Rule: fmt.Sprintf("the row starting on this line is longer than %d bytes: is a '\"' left open, or is the file not a CSV text file?", MaxRowBytes)}
	case errors.As(err, &pe):
		return nil, 0, rs.parseError(pe)
	case err == io.EOF:
		return nil, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("recipients: reading CSV: %w", err)
	}
	first, _ := rs.cr.FieldPos(0)
	last, _ := rs.cr.FieldPos(len(rec) - 1)
	// The record ends on the line its last field starts on, plus the newlines
	// inside that field (the reader turns a quoted "\r\n" into "\n"), and its
	// own newline ends that line.
	rs.at = Cursor{
		Offset: rs.base.Offset + rs.cr.InputOffset(),
		Line:   rs.base.Line + last + strings.Count(rec[len(rec)-1], "\n"),
	}
	rs.lim.rowStart = rs.cr.InputOffset()
	return rec, rs.base.Line + first - 1, nil
}

// rowLimit hands the file to the CSV reader until the row being read passes
// MaxRowBytes, so that memory stays bounded whatever the file holds. The CSV
// reader reads ahead through a 4 KiB buffer, which the limit allows for.
type rowLimit struct {
	r        io.Reader
	read     int64 // bytes handed to the CSV reader
	rowStart int64 // where the row being read starts, in the same count
	over     bool
}

const csvReadAhead = 4096 // bufio's default size, which csv.NewReader uses

func (l *rowLimit) Read(p []byte) (int, error) {
	room := l.rowStart + MaxRowBytes + csvReadAhead - l.read
	if room <= 0 {
		l.over = true
		return 0, errRowTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

var errRowTooLong = errors.New("row too long")

func (rs *rows) parseError(pe *csv.ParseError) error {
	where := fmt.Sprintf("line %d, column %d", rs.base.Line+pe.Line-1, pe.Column)
	var rule string
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		rule = fmt.Sprintf(`a '"' in an unquoted field (%s): quote the whole field and double each '"' inside it`, where)
	case errors.Is(pe.Err, csv.ErrQuote):
		rule = fmt.Sprintf(`extraneous or missing '"' in a quoted field (%s): a quoted field ends with '"' before the next ',' or line, and each '"' inside it is doubled`, where)
	default:
		rule = fmt.Sprintf("%v (%s)", pe.Err, where)
	}
	return &CSVError{Line: rs.base.Line + pe.StartLine - 1, Rule: rule}
}
