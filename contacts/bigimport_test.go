package contacts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
)

// endlessLine is size bytes of 'x' without a line break, made as they are
// read (never held), counting what was read.
type endlessLine struct{ size, read int64 }

func (r *endlessLine) Read(p []byte) (int, error) {
	if r.read >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-r.read))
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.read += int64(n)
	return n, nil
}

// generatedLines is a do-not-contact file made as it is read: a BOM, then
// line(i) for i = 0, 1, ... until line returns false, each with a CRLF.
// Every 1 MB read, onMB is called (from the reader's caller's goroutine,
// in the middle of the import).
type generatedLines struct {
	line  func(i int) (string, bool)
	onMB  func()
	i     int
	buf   []byte
	read  int64
	bom   bool
	ended bool
}

func (r *generatedLines) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.ended {
			return 0, io.EOF
		}
		if !r.bom {
			r.bom = true
			r.buf = append(r.buf[:0], "\ufeff"...)
			break
		}
		s, ok := r.line(r.i)
		if !ok {
			r.ended = true
			continue
		}
		r.i++
		r.buf = append(append(r.buf[:0], s...), "\r\n"...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	before := r.read
	r.read += int64(n)
	if r.onMB != nil && r.read>>20 != before>>20 {
		r.onMB()
	}
	return n, nil
}

// TestImportOneHugeLine: a 100 MB file without a line break (a binary
// file, the wrong file) is refused at once, naming line 1 and the length
// rule, having read no more than the limit and the line reader's buffer
// of it; nothing is imported.
func TestImportOneHugeLine(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		const size = 100 << 20
		r := &endlessLine{size: size}
		t0 := time.Now()
		_, err := s.ImportDNC(context.Background(), r, contacts.ImportOptions{})
		d := time.Since(t0)
		var ie *contacts.ImportError
		if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Line != 1 ||
			!strings.Contains(err.Error(), "line 1: longer than 16384 bytes") || !strings.Contains(err.Error(), "nothing imported") {
			t.Fatalf("a 100 MB line: %v", err)
		}
		// The limit is 16 KB; the line reader's buffer is 64 KB.
		if r.read > 256<<10 {
			t.Errorf("read %d bytes of the 100 MB line, want at most 256 KB", r.read)
		}
		if d > 10*time.Second {
			t.Errorf("refusing the 100 MB line took %v", d)
		}
		if es := dncList(t, s); len(es) != 0 {
			t.Fatalf("imported %d entries", len(es))
		}
		t.Logf("%v in %v, %d bytes read of %d", err, d.Round(time.Millisecond), r.read, int64(size))
	})
}

// TestImportBigFileBadLastLine: 8 MB of good lines (a BOM, CRLF, every
// 50th line a repeat) and one bad line at the end: the error names that
// line, nothing is imported, and the Go heap stays small while the import
// runs: the file is streamed, not held. (100 MB of good lines, which
// bench/contacts imports, takes too long for make test.)
func TestImportBigFileBadLastLine(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		const size = 8 << 20
		var written int64
		last := 0 // the bad line's number
		line := func(i int) (string, bool) {
			if last > 0 {
				return "", false
			}
			if written >= size {
				last = i + 1
				return "urn:li:person:not one person", true
			}
			p := i
			if i%50 == 49 {
				p = i / 2
			}
			l := fmt.Sprintf("urn:li:person:ACoAAbig%08d", p)
			written += int64(len(l)) + 2
			return l, true
		}

		// The live heap (after a collection, so garbage does not count)
		// is sampled every 1 MB read, and the heap's peak (garbage too)
		// every 10 ms.
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		base := m.HeapAlloc
		var mu sync.Mutex
		var liveMax, peak uint64
		sample := func(live bool) {
			var m runtime.MemStats
			if live {
				runtime.GC()
			}
			runtime.ReadMemStats(&m)
			mu.Lock()
			defer mu.Unlock()
			if live {
				liveMax = max(liveMax, m.HeapAlloc)
			}
			peak = max(peak, m.HeapAlloc)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				sample(false)
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
		r := &generatedLines{line: line, onMB: func() { sample(true) }}
		t0 := time.Now()
		_, err := s.ImportDNC(context.Background(), r, contacts.ImportOptions{Reason: "big"})
		d := time.Since(t0)
		close(done)
		wg.Wait()

		var ie *contacts.ImportError
		want := fmt.Sprintf("line %d: ", last)
		if last == 0 || !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Line != last ||
			!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing imported") {
			t.Fatalf("%d MB with a bad last line %d: %v", size>>20, last, err)
		}
		if r.read < size {
			t.Fatalf("read %d bytes, the file has more than %d", r.read, size)
		}
		if es := dncList(t, s); len(es) != 0 {
			t.Fatalf("imported %d entries of a file with a bad line", len(es))
		}
		grown := func(v uint64) int64 { return int64(v) - int64(base) }
		t.Logf("%d lines, %.1f MB in %v: %v; the live heap grew by at most %.1f MB, the heap's peak by %.1f MB",
			last, float64(r.read)/(1<<20), d.Round(time.Millisecond), err, float64(grown(liveMax))/(1<<20), float64(grown(peak))/(1<<20))
		// Held whole, the file's lines alone would be 8 MB of text (and
		// three times that as rows); streamed, the live heap barely moves.
		if g := grown(liveMax); g > 4<<20 {
			t.Errorf("the live heap grew by %.1f MB during an import of %d MB: the file is held, not streamed", float64(g)/(1<<20), size>>20)
		}
		if g := grown(peak); g > 64<<20 {
			t.Errorf("the heap's peak grew by %.1f MB during an import of %d MB", float64(g)/(1<<20), size>>20)
		}
	})
}
