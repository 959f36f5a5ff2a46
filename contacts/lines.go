package contacts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxLineLength bounds a line of a do-not-contact file: a URL or a URN
// and a reason fit many times over, and a file without line breaks is not
// read whole into memory. Reading stops at a longer line: such a file is
// not a list of people (a binary file, the wrong file), and its rest, of
// any size, is not read through to look for more bad lines.
const maxLineLength = 16 << 10

var errLongLine = fmt.Errorf("longer than %d bytes: not one person (the file was read no further)", maxLineLength)

// lineReader reads a file line by line with their numbers: a UTF-8 BOM is
// dropped, the line ending (LF or CRLF) too.
type lineReader struct {
	br       *bufio.Reader
	line     int
	bomDone  bool
	pending  bool // unread: next returns pendLine/pendText again
	pendLine int
	pendText string
	stopped  bool // a line was too long: nothing more is read
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

func (r *lineReader) skipBOM() {
	if r.bomDone {
		return
	}
	r.bomDone = true
	if b, err := r.br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		r.br.Discard(3)
	}
}

// next returns the next line's number and text; errLongLine (with the
// line's number) for a line too long, after which next returns io.EOF:
// the rest of the file is not read (at most the buffer's 64 KB of it were).
func (r *lineReader) next() (int, string, error) {
	if r.pending {
		r.pending = false
		return r.pendLine, r.pendText, nil
	}
	if r.stopped {
		return r.line, "", io.EOF
	}
	r.skipBOM()
	b, err := r.br.ReadSlice('\n')
	if len(b) == 0 && err == io.EOF {
		return r.line, "", io.EOF
	}
	r.line++
	if errors.Is(err, bufio.ErrBufferFull) {
		r.stopped = true
		return r.line, "", errLongLine
	}
	if err != nil && err != io.EOF {
		return r.line, "", err
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > maxLineLength {
		r.stopped = true
		return r.line, "", errLongLine
	}
	return r.line, string(b), nil
}

// unread makes next return this line again.
func (r *lineReader) unread(line int, text string) {
	r.pending, r.pendLine, r.pendText = true, line, text
}

// rest is what is left to read, from the next line on.
func (r *lineReader) rest() io.Reader {
	r.skipBOM()
	return r.br
}

// lineLimit fails a read once a line runs past maxLineLength (the CSV
// reader would hold a record of any length in memory).
type lineLimit struct {
	r    io.Reader
	line int // the line being read
	run  int // its bytes so far
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.line, l.run = l.line+1, 0
			continue
		}
		if l.run++; l.run > maxLineLength {
			return 0, fmt.Errorf("line %d: %w", l.line, errLongLine)
		}
	}
	return n, err
}
