package recipients

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// lineStart is the offset of line n (from 1) in file.
func lineStart(t testing.TB, file string, n int) int64 {
	t.Helper()
	off := 0
	for range n - 1 {
		i := strings.IndexByte(file[off:], '\n')
		if i < 0 {
			t.Fatalf("file has fewer than %d lines", n)
		}
		off += i + 1
	}
	return int64(off)
}

func lines(ps []Prepared) []int {
	var ls []int
	for _, p := range ps {
		ls = append(ls, p.Line)
	}
	return ls
}

func scan(t testing.TB, file string, tpl *Template) Summary {
	t.Helper()
	s, err := Scan(strings.NewReader(file), tpl, 1<<30)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return s
}

// readAll reads file in pages from the start and returns the pages.
func readAll(t testing.TB, file string, limit, maxBytes int, tpl *Template) []Page {
	t.Helper()
	var pages []Page
	cur := Cursor{}
	for range len(file) + 2 {
		p, err := ReadPage(strings.NewReader(file), cur, limit, maxBytes, tpl)
		if err != nil {
			t.Fatalf("ReadPage(%+v): %v", cur, err)
		}
		pages = append(pages, p)
		if p.Done {
			return pages
		}
		cur = p.Next
	}
	t.Fatalf("ReadPage made no progress: %+v", pages[len(pages)-1])
	return nil
}

func TestHeaderVariants(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	want := Prepared{Line: 2, RecipientURN: "urn:li:person:a", Message: "Hi Ada"}
	for name, file := range map[string]string{
		"plain":              "recipient_urn,name\nurn:li:person:a,Ada\n",
		"BOM":                "\ufeffrecipient_urn,name\nurn:li:person:a,Ada\n",
		"BOM, quoted header": "\ufeff\"recipient_urn\",\"name\"\r\nurn:li:person:a,Ada\r\n",
		"spaces, upper-case": " Recipient_URN ,\tNAME \nurn:li:person:a,Ada",
	} {
		t.Run(name, func(t *testing.T) {
			s := scan(t, file, tpl)
			if !slices.Equal(s.Columns, []string{"recipient_urn", "name"}) || !reflect.DeepEqual(s.Preview, []Prepared{want}) {
				t.Errorf("Scan = columns %q, preview %+v; want [recipient_urn name], %+v", s.Columns, s.Preview, want)
			}
			h, cur, err := ReadHeader(strings.NewReader(file))
			if wantCur := (Cursor{lineStart(t, file, 2), 2}); err != nil || !slices.Equal(h.Columns, s.Columns) || cur != wantCur {
				t.Errorf("ReadHeader = %v, %+v, %v; want %q, %+v", h, cur, err, s.Columns, wantCur)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	cases := []struct{ name, file, want string }{
		{"empty file", "", "line 1: the file is empty: its first row must be a header naming the columns"},
		{"blank lines only", "\r\n\n", "line 1: the file is empty: its first row must be a header naming the columns"},
		{"no identity column", "Name, Company\nAda,X\n",
			`line 1: the header must have a recipient_urn, profile_url or profile_slug column; its columns are "name", "company"`},
		{"many columns", "a,b,c,d,e,f,g,h,i,j,k,l\n",
			`line 1: the header must have a recipient_urn, profile_url or profile_slug column; its columns are "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", and 2 more`},
		{"no header row", "urn:li:person:a,Ada\n",
			`line 1: the header must have a recipient_urn, profile_url or profile_slug column; its columns are "urn:li:person:a", "ada" (the first row looks like a recipient: is the header row missing?)`},
		{"duplicate", "recipient_urn,Name,name \n", `line 1: header column "name" appears twice (columns 2 and 3)`},
		{"duplicate identity", "profile_url,PROFILE_URL\n", `line 1: header column "profile_url" appears twice (columns 1 and 2)`},
		{"empty name after blank lines", "\n\nrecipient_urn, \n", "line 3: header column 2 has no name"},
		{"broken quoting", "recipient_urn,\"na\"me\n", `line 1: extraneous or missing '"' in a quoted field (line 1, column 18): a quoted field ends with '"' before the next ',' or line, and each '"' inside it is doubled`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan(strings.NewReader(tc.file), tpl, 0)
			var ce *CSVError
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Errorf("Scan error = %v, want *CSVError %q", err, tc.want)
			}
			_, err = ReadPage(strings.NewReader(tc.file), Cursor{}, 10, 1000, tpl)
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Errorf("ReadPage error = %v, want *CSVError %q", err, tc.want)
			}
		})
	}
}

// linesFile has quoted newlines (CRLF and LF), a blank line and no final
// newline.
const linesFile = "recipient_urn,name,note\r\n" + // 1
	"urn:li:person:a,Ada,\"two\r\n" + // 2
	"lines\"\r\n" + // 3
	"\r\n" + // 4
	"urn:li:person:b,Bob,\"x\"\n" + // 5
	"\"urn:li:person:c\",\"C\",\"a\n" + // 6
	"b,\"\"q\"\"\n" + // 7
	"c\"\n" + // 8
	"urn:li:person:d,Dee,plain" // 9

func TestLineNumbers(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}: {{note}}")
	want := []Prepared{
		{Line: 2, RecipientURN: "urn:li:person:a", Message: "Hi Ada: two\nlines"},
		{Line: 5, RecipientURN: "urn:li:person:b", Message: "Hi Bob: x"},
		{Line: 6, RecipientURN: "urn:li:person:c", Message: "Hi C: a\nb,\"q\"\nc"},
		{Line: 9, RecipientURN: "urn:li:person:d", Message: "Hi Dee: plain"},
	}
	if s := scan(t, linesFile, tpl); !reflect.DeepEqual(s.Preview, want) || s.Rows != 4 || s.Invalid != 0 {
		t.Errorf("Scan = %+v, want preview %+v", s, want)
	}
	// One row per page: each cursor is the line after the row's last line.
	wantPages := []Page{
		{Recipients: want[0:1], Next: Cursor{lineStart(t, linesFile, 4), 4}},
		{Recipients: want[1:2], Next: Cursor{lineStart(t, linesFile, 6), 6}},
		{Recipients: want[2:3], Next: Cursor{lineStart(t, linesFile, 9), 9}},
		{Recipients: want[3:4], Next: Cursor{int64(len(linesFile)), 10}, Done: true},
	}
	if got := readAll(t, linesFile, 1, 1000, tpl); !reflect.DeepEqual(got, wantPages) {
		t.Errorf("pages =\n%+v\nwant\n%+v", got, wantPages)
	}
	// The last cursor still reads: nothing is left.
	p, err := ReadPage(strings.NewReader(linesFile), wantPages[3].Next, 1, 1000, tpl)
	if want := (Page{Recipients: []Prepared{}, Next: wantPages[3].Next, Done: true}); err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("ReadPage after the end = %+v, %v; want %+v", p, err, want)
	}
}

func TestReadPageResumesAfterEmbeddedNewline(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}: {{note}}")
	first, err := ReadPage(strings.NewReader(linesFile), Cursor{}, 3, 1000, tpl)
	if err != nil || !slices.Equal(lines(first.Recipients), []int{2, 5, 6}) || first.Done {
		t.Fatalf("first page = %+v, %v; want lines 2, 5, 6, not done", first, err)
	}
	// The cursor travels through workflow state as JSON.
	b, _ := json.Marshal(first.Next)
	if string(b) != fmt.Sprintf(`{"offset":%d,"line":9}`, lineStart(t, linesFile, 9)) {
		t.Errorf("cursor JSON = %s", b)
	}
	var cur Cursor
	if err := json.Unmarshal(b, &cur); err != nil {
		t.Fatal(err)
	}
	next, err := ReadPage(strings.NewReader(linesFile), cur, 3, 1000, tpl)
	want := Page{Recipients: []Prepared{{Line: 9, RecipientURN: "urn:li:person:d", Message: "Hi Dee: plain"}}, Next: Cursor{int64(len(linesFile)), 10}, Done: true}
	if err != nil || !reflect.DeepEqual(next, want) {
		t.Errorf("resumed page = %+v, %v; want %+v", next, err, want)
	}
}

func TestBrokenQuoting(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	cases := []struct {
		name, file string
		rowsBefore []int // lines of the rows a page returns before the fault
		want       CSVError
	}{
		{"bare quote", "recipient_urn,name\n" +
			"urn:li:person:a,\"Ada\n" +
			"still\"\n" +
			"urn:li:person:b,Bo\"b\n",
			[]int{2}, CSVError{4, `a '"' in an unquoted field (line 4, column 19): quote the whole field and double each '"' inside it`}},
		{"unclosed quote", "recipient_urn,name\n" +
			"urn:li:person:a,Ada\n" +
			"\n" +
			"urn:li:person:b,\"Bob\n" +
			"urn:li:person:c,Cy\n",
			[]int{2}, CSVError{4, `extraneous or missing '"' in a quoted field (line 5, column 20): a quoted field ends with '"' before the next ',' or line, and each '"' inside it is doubled`}},
		{"text after the closing quote", "recipient_urn,name\n" +
			"urn:li:person:a,\"A\nB\"\n" +
			"urn:li:person:b,\"B\nb\"x\n",
			[]int{2}, CSVError{4, `extraneous or missing '"' in a quoted field (line 5, column 2): a quoted field ends with '"' before the next ',' or line, and each '"' inside it is doubled`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ce *CSVError
			if _, err := Scan(strings.NewReader(tc.file), tpl, 0); !errors.As(err, &ce) || *ce != tc.want {
				t.Errorf("Scan error = %#v, want %#v", err, tc.want)
			}
			// A page ends before the fault; the next page, read from a
			// cursor, reports it with the file's line numbers.
			p, err := ReadPage(strings.NewReader(tc.file), Cursor{}, 10, 1000, tpl)
			if err != nil || p.Done || !slices.Equal(lines(p.Recipients), tc.rowsBefore) {
				t.Fatalf("first page = %+v, %v; want rows %v, not done", p, err, tc.rowsBefore)
			}
			if _, err := ReadPage(strings.NewReader(tc.file), p.Next, 10, 1000, tpl); !errors.As(err, &ce) || *ce != tc.want {
				t.Errorf("second page error = %#v, want %#v", err, tc.want)
			}
			if want := fmt.Sprintf("line %d: %s", tc.want.Line, tc.want.Rule); ce.Error() != want {
				t.Errorf("Error() = %q, want %q", ce.Error(), want)
			}
		})
	}
}

func TestRowProblems(t *testing.T) {
	// Identity columns in any case and order; {{First_Name}} reads the
	// lower-cased first_name column.
	file := "Recipient_URN , Profile_URL,profile_slug, First_Name,company\n" + // 1
		"urn:li:person:a,,,Ada,\n" + // 2
		",https://www.linkedin.com/in/bob-1/,,Bob,X\n" + // 3
		",,carol-2,Carol,\n" + // 4
		"urn:li:person:d,,,\"  \",Y\n" + // 5
		"bad,,,Eve,\n" + // 6
		"urn:li:person:f,,Fay,\n" + // 7
		",,,Gus,\n" + // 8
		",,,,,,\n" // 9
	tpl := mustTemplate(t, "Hi {{First_Name}}")
	s := scan(t, file, tpl)
	want := Summary{
		Rows:    8,
		Invalid: 5,
		Problems: []string{
			`line 5: template variable "First_Name" is missing or empty`,
			`line 6: ` + urnRule + ` (got "bad")`,
			`line 7: has 4 fields, the header has 5`,
			`line 8: recipient_urn: one of recipient_urn, profile_url or profile_slug is required`,
			`line 9: has 7 fields, the header has 5`,
		},
		Columns: []string{"recipient_urn", "profile_url", "profile_slug", "first_name", "company"},
		SHA256:  s.SHA256,
		Preview: []Prepared{
			{Line: 2, RecipientURN: "urn:li:person:a", Message: "Hi Ada"},
			{Line: 3, ProfileSlug: "bob-1", Message: "Hi Bob"},
			{Line: 4, ProfileSlug: "carol-2", Message: "Hi Carol"},
			{Line: 5, RecipientURN: "urn:li:person:d", Problems: []string{`template variable "First_Name" is missing or empty`}},
			{Line: 6, Problems: []string{urnRule + ` (got "bad")`}},
			{Line: 7, Problems: []string{"has 4 fields, the header has 5"}},
			{Line: 8, Problems: []string{"recipient_urn: one of recipient_urn, profile_url or profile_slug is required"}},
			{Line: 9, Problems: []string{"has 7 fields, the header has 5"}},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Scan =\n%+v\nwant\n%+v", s, want)
	}
	var got []Prepared
	for _, p := range readAll(t, file, 3, 1000, tpl) {
		got = append(got, p.Recipients...)
	}
	if !reflect.DeepEqual(got, want.Preview) {
		t.Errorf("pages =\n%+v\nwant\n%+v", got, want.Preview)
	}
}

// bigFile is a CSV of n rows in which every 7th row has a note over two
// lines, every 13th has no name, and every 50th is followed by a blank line.
// It returns the line each row starts on.
func bigFile(n int) (string, []int) {
	var b strings.Builder
	b.WriteString("recipient_urn,name,note\n")
	line, starts := 2, make([]int, 0, n)
	for i := range n {
		starts = append(starts, line)
		name := fmt.Sprintf("Person %d", i)
		if i%13 == 0 {
			name = ""
		}
		if i%7 == 0 {
			fmt.Fprintf(&b, "urn:li:person:p%d,%s,\"first line\r\nsecond, \"\"quoted\"\"\"\r\n", i, name)
			line += 2
		} else {
			fmt.Fprintf(&b, "urn:li:person:p%d,%s,note %d\n", i, name, i)
			line++
		}
		if i%50 == 0 {
			b.WriteString("\n")
			line++
		}
	}
	return b.String(), starts
}

func TestPagingMatchesScan(t *testing.T) {
	file, starts := bigFile(2500)
	tpl := mustTemplate(t, "Hi {{name}}, {{note}}")
	s := scan(t, file, tpl)
	if s.Rows != 2500 || s.Invalid != 193 || !slices.Equal(lines(s.Preview), starts) {
		t.Fatalf("Scan: %d rows, %d invalid, lines right: %v", s.Rows, s.Invalid, slices.Equal(lines(s.Preview), starts))
	}
	if p := s.Preview[7]; p.Message != "Hi Person 7, first line\nsecond, \"quoted\"" || p.Line != 11 {
		t.Errorf("row 7 = %+v", p)
	}
	pages := readAll(t, file, 100, 1<<20, tpl)
	if len(pages) != 25 {
		t.Fatalf("%d pages, want 25", len(pages))
	}
	var got []Prepared
	for i, p := range pages {
		if len(p.Recipients) != 100 || p.Done != (i == 24) {
			t.Errorf("page %d: %d rows, done %v", i, len(p.Recipients), p.Done)
		}
		got = append(got, p.Recipients...)
	}
	if !reflect.DeepEqual(got, s.Preview) {
		t.Error("pages differ from Scan")
	}
	if last := pages[24].Next; last != (Cursor{int64(len(file)), strings.Count(file, "\n") + 1}) {
		t.Errorf("last cursor = %+v, want the end of the file", last)
	}
}

func TestPagingMaxBytes(t *testing.T) {
	var b strings.Builder
	b.WriteString("recipient_urn,name\n")
	for i := range 10 {
		fmt.Fprintf(&b, "urn:li:person:p%02d,%s\n", i, strings.Repeat("x", 997)) // message "Hi " + 997 bytes
	}
	file, tpl := b.String(), mustTemplate(t, "Hi {{name}}")
	const row = 1000 + len("urn:li:person:p00")
	cases := []struct {
		maxBytes int
		want     []int // rows per page
	}{
		{3*row + row - 1, []int{3, 3, 3, 1}},
		{3 * row, []int{3, 3, 3, 1}},
		{row, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{10, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, // a message bigger than a page still gets one
		{0, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{1 << 20, []int{4, 4, 2}}, // the limit
	}
	for _, tc := range cases {
		var sizes, ls []int
		for _, p := range readAll(t, file, 4, tc.maxBytes, tpl) {
			sizes = append(sizes, len(p.Recipients))
			ls = append(ls, lines(p.Recipients)...)
		}
		if !slices.Equal(sizes, tc.want) || !slices.Equal(ls, []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
			t.Errorf("maxBytes %d: pages of %v rows (lines %v), want %v", tc.maxBytes, sizes, ls, tc.want)
		}
	}
}

func TestReadPageCursorChecks(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	file := "recipient_urn,name\nurn:li:person:a,Ada\nurn:li:person:b,Bob\n"
	for _, tc := range []struct {
		cur  Cursor
		want string
	}{
		{Cursor{5, 1}, "recipients: cursor at offset 5, line 1 is not after the header (the first row is at offset 19, line 2) (has the file changed?)"},
		{Cursor{19, 3}, "recipients: cursor at offset 19, line 3 is not after the header (the first row is at offset 19, line 2) (has the file changed?)"},
		{Cursor{25, 3}, "recipients: cursor at offset 25, line 3 is not at the start of a line (has the file changed?)"},
		{Cursor{100, 9}, "recipients: cursor at offset 100, line 9 is past the end of the file (59 bytes) (has the file changed?)"},
		{Cursor{39, 41}, "recipients: cursor at offset 39, line 41 has more lines than bytes before it (has the file changed?)"},
	} {
		if p, err := ReadPage(strings.NewReader(file), tc.cur, 10, 1000, tpl); err == nil || err.Error() != tc.want {
			t.Errorf("ReadPage(%+v) = %+v, %v; want error %q", tc.cur, p, err, tc.want)
		}
	}
	p, err := ReadPage(strings.NewReader(file), Cursor{39, 3}, 10, 1000, tpl)
	if err != nil || !slices.Equal(lines(p.Recipients), []int{3}) || !p.Done {
		t.Errorf("ReadPage from line 3 = %+v, %v", p, err)
	}
}

func TestScanSummary(t *testing.T) {
	var b strings.Builder
	b.WriteString("recipient_urn,name\n")
	for i := range 50 {
		if i%5 < 3 { // 30 invalid rows, with two problems each
			fmt.Fprintf(&b, "bad%d,\n", i)
		} else {
			fmt.Fprintf(&b, "urn:li:person:p%d,P%d\n", i, i)
		}
	}
	file, tpl := b.String(), mustTemplate(t, "Hi {{name}}")
	s, err := Scan(strings.NewReader(file), tpl, 4)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(file))
	if s.Rows != 50 || s.Invalid != 30 || s.SHA256 != hex.EncodeToString(sum[:]) || !slices.Equal(lines(s.Preview), []int{2, 3, 4, 5}) {
		t.Errorf("Scan = rows %d, invalid %d, sha256 %s, preview lines %v", s.Rows, s.Invalid, s.SHA256, lines(s.Preview))
	}
	var want []string
	for _, i := range []int{0, 1, 2, 5, 6, 7, 10, 11, 12, 15} {
		want = append(want,
			fmt.Sprintf(`line %d: %s (got "bad%d")`, i+2, urnRule, i),
			fmt.Sprintf(`line %d: template variable "name" is missing or empty`, i+2))
	}
	if !slices.Equal(s.Problems, want) {
		t.Errorf("Problems =\n%s\nwant\n%s", strings.Join(s.Problems, "\n"), strings.Join(want, "\n"))
	}
	if p := s.Preview[3]; !reflect.DeepEqual(p, Prepared{Line: 5, RecipientURN: "urn:li:person:p3", Message: "Hi P3"}) {
		t.Errorf("Preview[3] = %+v", p)
	}
}

// rowSource generates a CSV file row by row as it is read, hashing it, so a
// test can read a large file without holding it.
type rowSource struct {
	rows, next int
	line, buf  []byte
	hash       hash.Hash
	atRow      func(int) // called as each row is generated
}

func (g *rowSource) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.next > g.rows:
			return 0, io.EOF
		case g.next == 0:
			g.line = append(g.line[:0], "recipient_urn,first_name,note\n"...)
		default:
			g.line = fmt.Appendf(g.line[:0], "urn:li:person:p%d,Person %d,\"%s\"\n", g.next, g.next, strings.Repeat("lorem ipsum ", 20))
			g.atRow(g.next)
		}
		g.hash.Write(g.line)
		g.buf = g.line
		g.next++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

func TestScanStreams(t *testing.T) {
	const rows = 200_000 // about 50 MB
	var heap uint64
	src := &rowSource{rows: rows, hash: sha256.New(), atRow: func(i int) {
		if i == rows*3/4 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			heap = m.HeapAlloc
		}
	}}
	s, err := Scan(src, mustTemplate(t, "Hi {{first_name}}, {{note}}"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != rows || s.Invalid != 0 || s.SHA256 != hex.EncodeToString(src.hash.Sum(nil)) || !slices.Equal(lines(s.Preview), []int{2, 3, 4}) {
		t.Errorf("Scan = rows %d, invalid %d, sha256 %s (want %x), preview lines %v", s.Rows, s.Invalid, s.SHA256, src.hash.Sum(nil), lines(s.Preview))
	}
	// 150,000 rows in, the file read so far is 37 MB: a Scan that kept rows
	// would hold far more than this.
	if heap > 16<<20 {
		t.Errorf("heap is %d MB three quarters through the file", heap>>20)
	}
}

func BenchmarkReadPage(b *testing.B) {
	file, _ := bigFile(10_000)
	tpl := mustTemplate(b, "Hi {{name}}, thanks for the note: {{note}}")
	r := strings.NewReader(file)
	first, err := ReadPage(r, Cursor{}, 5000, 1<<30, tpl)
	if err != nil {
		b.Fatal(err)
	}
	cur := first.Next // a page from the middle of the file
	b.SetBytes(int64(len(file) / 100))
	for b.Loop() {
		p, err := ReadPage(r, cur, 100, 1<<20, tpl)
		if err != nil || len(p.Recipients) != 100 {
			b.Fatalf("ReadPage = %d rows, %v", len(p.Recipients), err)
		}
	}
}

func FuzzReadPage(f *testing.F) {
	big, _ := bigFile(30)
	for _, s := range []string{
		linesFile, big,
		"\ufeffrecipient_urn,name,note\nurn:li:person:a,A,x\n",
		"profile_url,name,note\n\"linkedin.com/in/a\",\"A\r\nB\",n\n,,\n",
		"recipient_urn,name\nurn:li:person:a,\"A\nurn:li:person:b,B\n",
		"recipient_urn,name\r\nurn:li:person:a,A\r",
		"recipient_urn\n\n\n",
		"name\nx\n",
	} {
		f.Add(s, 2, 100, int64(0), 0)
	}
	f.Add(linesFile, 1, 1, lineStart(f, linesFile, 5), 5)
	f.Add(linesFile, 1, 1, lineStart(f, linesFile, 5), int(^uint(0)>>1))
	tpl := mustTemplate(f, "Hi {{name}}, {{note}}")
	f.Fuzz(func(t *testing.T, file string, limit, maxBytes int, offset int64, line int) {
		limit = 1 + max(limit, -limit)%20 // pages of 1 to 20 rows, to keep walks short
		// From any cursor: no panic, and never a cursor going back.
		cur := Cursor{offset, line}
		if p, err := ReadPage(strings.NewReader(file), cur, limit, maxBytes, tpl); err == nil {
			if p.Next.Offset < cur.Offset || p.Next.Line < cur.Line || (!p.Done && p.Next == cur) || (len(p.Recipients) == 0 && !p.Done) {
				t.Fatalf("ReadPage(%+v) = %+v", cur, p)
			}
		}
		// From the start, pages agree with Scan: the same rows, or the same
		// structural error once the rows before it are read.
		s, scanErr := Scan(strings.NewReader(file), tpl, len(file))
		var got []Prepared
		cur = Cursor{}
		for range len(file) + 2 {
			p, err := ReadPage(strings.NewReader(file), cur, limit, maxBytes, tpl)
			if err != nil {
				if scanErr == nil || err.Error() != scanErr.Error() {
					t.Fatalf("ReadPage(%+v): %v; Scan: %v", cur, err, scanErr)
				}
				break
			}
			if len(p.Recipients) > limit || p.Next.Offset < cur.Offset || p.Next.Line < cur.Line || (len(p.Recipients) == 0 && !p.Done) {
				t.Fatalf("ReadPage(%+v) = %+v", cur, p)
			}
			got = append(got, p.Recipients...)
			if p.Done {
				if scanErr != nil {
					t.Fatalf("pages read to the end; Scan: %v", scanErr)
				}
				break
			}
			cur = p.Next
		}
		if scanErr == nil && !reflect.DeepEqual(got, s.Preview) {
			t.Fatalf("pages =\n%+v\nScan =\n%+v", got, s.Preview)
		}
		if scanErr != nil && !reflect.DeepEqual(s, Summary{}) {
			t.Fatalf("Scan failed but returned a summary: %+v", s)
		}
	})
}
