package recipients

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outpacehq/outpace/outx"
)

// endless is a file that never ends, like /dev/zero or /dev/urandom named
// by mistake: it repeats b forever.
type endless struct{ b byte }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	return len(p), nil
}

// heapGrowth reports what f allocated, to show that reading a hostile file
// costs memory bounded by MaxRowBytes, not by the file.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileFilesAreRefusedInBoundedMemory: what is not a recipient list
// (an endless line, a quote never closed, binary garbage) is refused with
// the line and the rule, after reading little more than MaxRowBytes.
func TestHostileFilesAreRefusedInBoundedMemory(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	header := "recipient_urn,name\nurn:li:person:a,Ada\n"
	for name, tc := range map[string]struct {
		file io.Reader
		line int
		want string
	}{
		"endless NUL bytes (/dev/zero)":    {endless{0}, 1, "longer than 1048576 bytes"},
		"endless line after a header":      {io.MultiReader(strings.NewReader(header), endless{'x'}), 3, "longer than 1048576 bytes"},
		"a quote never closed, many lines": {io.MultiReader(strings.NewReader(header+`urn:li:person:b,"Bo`+"\n"), endless{'\n'}), 3, "longer than 1048576 bytes"},
		"endless commas (columns)":         {io.MultiReader(strings.NewReader("recipient_urn"), endless{','}), 1, "longer than 1048576 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			start := time.Now()
			alloc := heapGrowth(func() { _, err = Scan(tc.file, tpl, 0) })
			var ce *CSVError
			if !errors.As(err, &ce) || ce.Line != tc.line || !strings.Contains(ce.Rule, tc.want) {
				t.Fatalf("Scan = %v, want a *CSVError at line %d saying %q", err, tc.line, tc.want)
			}
			// Bounded by a multiple of MaxRowBytes (the CSV reader copies a
			// long row as it grows, and keeps a position per field), not by
			// the file, which is endless here.
			if alloc > 256*MaxRowBytes {
				t.Fatalf("allocated %d MiB reading it", alloc>>20)
			}
			t.Logf("%v after %s, %d KiB allocated", err, time.Since(start).Round(time.Millisecond), alloc>>10)
		})
	}
}

// TestRowLimitIsPerRow: a file far larger than MaxRowBytes in total reads
// well, a row just under the limit too; ReadPage reports an overlong row at
// its line, after the rows before it.
func TestRowLimitIsPerRow(t *testing.T) {
	tpl := mustTemplate(t, "Hi {{name}}")
	var b strings.Builder
	b.WriteString("recipient_urn,name,note\n")
	for range 30000 {
		b.WriteString("urn:li:person:a,Ada," + strings.Repeat("n", 60) + "\n") // 2.4 MB in all
	}
	b.WriteString("urn:li:person:b,Bo," + strings.Repeat("n", MaxRowBytes-40) + "\n") // line 30002: under the limit
	file := b.String()
	s, err := Scan(strings.NewReader(file), tpl, 0)
	if err != nil || s.Rows != 30001 {
		t.Fatalf("Scan = %d rows, %v; want 30001 rows", s.Rows, err)
	}
	long := file + "urn:li:person:c,Cy," + strings.Repeat("n", MaxRowBytes+5000) + "\nurn:li:person:d,Di,x\n" // line 30003
	page, err := ReadPage(strings.NewReader(long), Cursor{Offset: lineStartOf(long, 30002), Line: 30002}, 10, 1<<30, tpl)
	if err != nil || len(page.Recipients) != 1 || page.Done || page.Next.Line != 30003 {
		t.Fatalf("ReadPage = %+v, %v; want line 30002, then a stop before line 30003", page.Next, err)
	}
	_, err = ReadPage(strings.NewReader(long), page.Next, 10, 1<<30, tpl)
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line != 30003 || !strings.Contains(ce.Rule, "longer than") {
		t.Fatalf("ReadPage at the long row = %v", err)
	}
	if _, err := Scan(strings.NewReader(long), tpl, 0); err == nil || err.Error() != ce.Error() {
		t.Fatalf("Scan = %v, ReadPage = %v: they must agree", err, ce)
	}
}

func lineStartOf(file string, n int) int64 {
	off := 0
	for range n - 1 {
		off += strings.IndexByte(file[off:], '\n') + 1
	}
	return int64(off)
}

// TestHeaderWithManyColumns: a header of a thousand columns is a recipient
// list; of more, it is refused at once (not compared column by column).
func TestHeaderWithManyColumns(t *testing.T) {
	tpl := mustTemplate(t, "Hi")
	cols := func(n int) string {
		c := make([]string, n)
		c[0] = "recipient_urn"
		for i := 1; i < n; i++ {
			c[i] = "c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		}
		return strings.Join(c, ",")
	}
	if _, err := Scan(strings.NewReader(cols(MaxColumns)+"\n"), tpl, 0); err != nil {
		t.Fatalf("%d columns: %v", MaxColumns, err)
	}
	start := time.Now()
	_, err := Scan(strings.NewReader("recipient_urn"+strings.Repeat(",c", 400000)+"\n"), tpl, 0)
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line != 1 || !strings.Contains(ce.Rule, "the header has 400001 columns; at most 1000") {
		t.Fatalf("Scan = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusing a wide header took %s", d)
	}
}

// FuzzPrepare prepares any recipient with any template: no panic; a
// prepared recipient has either a message that OutX's rules accept and a
// valid identity, or problems and no message (nothing half-rendered).
func FuzzPrepare(f *testing.F) {
	for _, s := range [][5]string{
		{"Hi {{first_name}}, {{company}}", "urn:li:person:ACoAAB", "", "", "Ada"},
		{"Hi {{first_name}}", "urn:li:person:abc\"; DROP TABLE x; --", "", "", "=cmd|' /C calc'!A0"},
		{"Hi {{first_name}}", "", "https://www.linkedin.com/in/../../etc/passwd", "", "\u200b"},
		{"{{first_name}}", "", "", "jane doe", " \t "},
		{"Hi {{first_name}}", "urn:li:person:ACoAAB\r\nX: y", "", "", "A\x00da"},
		{"{{a}}{{b}}", "urn:li:pеrson:ACoAAB", "linkedin.com/in/ada", "ada", strings.Repeat("😀", 5001)},
		{"Hi {{ first_name }}!", "", "", "", "{{company}}"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, text, urn, url, slug, value string) {
		tpl, err := ParseTemplate(text)
		if err != nil {
			return // FuzzParseTemplate covers templates
		}
		vars := map[string]string{}
		for i, v := range tpl.Variables() {
			if i%2 == 0 {
				vars[v] = value
			} else {
				vars[v] = "x"
			}
		}
		p := Prepare(7, Recipient{RecipientURN: urn, ProfileURL: url, ProfileSlug: slug, Vars: vars}, tpl)
		if p.Line != 7 {
			t.Fatalf("line %d, want 7", p.Line)
		}
		if len(p.Problems) > 0 {
			if p.Message != "" {
				t.Fatalf("message %q despite problems %q", p.Message, p.Problems)
			}
			for _, pr := range p.Problems {
				if !utf8.ValidString(pr) || len(pr) > 600 {
					t.Fatalf("problem %q is not short, valid text", pr)
				}
			}
			return
		}
		if err := outx.ValidateMessage(p.Message); err != nil {
			t.Fatalf("message %q was accepted but breaks OutX's rules: %v", p.Message, err)
		}
		switch {
		case p.RecipientURN != "":
			if outx.ValidateRecipientURN(p.RecipientURN) != nil {
				t.Fatalf("URN %q accepted", p.RecipientURN)
			}
		case p.ProfileSlug == "" || strings.ContainsAny(p.ProfileSlug, "/?# \n"):
			t.Fatalf("recipient %+v accepted without a usable identity", p)
		}
	})
}
