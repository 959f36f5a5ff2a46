package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MinTokenLength is the shortest token the file may hold: a token is a
// password that scripts keep, so it is long and random (openssl rand -hex 32).
const MinTokenLength = 24

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Tokens are the bearer tokens a server accepts, each with a name that the
// log shows instead of the token. They come from a file of lines
// "name token" ('#' starts a comment), re-read when it changes: a token is
// revoked by deleting its line.
type Tokens struct {
	path string

	mu      sync.Mutex
	stamp   fileStamp
	entries []tokenEntry
	err     error // the file's last reading failed: every call is refused
}

type tokenEntry struct {
	name string
	hash [sha256.Size]byte
}

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

// LoadTokens reads the tokens file at path; an error says which line is
// wrong (never what it holds past its name).
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Path is the file's path.
func (t *Tokens) Path() string { return t.path }

// Count is how many tokens are accepted now.
func (t *Tokens) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// Check returns the name of the token given, re-reading the file first if
// it changed. Every token is compared, in constant time, whether or not an
// earlier one matched. err is set when the file cannot be read or is wrong
// (then no token is accepted: a half-edited file must not keep a revoked
// token alive).
func (t *Tokens) Check(token string) (name string, ok bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh()
	if t.err != nil {
		return "", false, t.err
	}
	given := sha256.Sum256([]byte(token))
	found := 0
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(given[:], e.hash[:]) == 1 {
			name, found = e.name, 1
		}
	}
	return name, found == 1 && token != "", nil
}

// refresh re-reads the file when its size or modification time changed.
func (t *Tokens) refresh() {
	st, err := os.Stat(t.path)
	if err != nil {
		t.entries, t.err, t.stamp = nil, fmt.Errorf("tokens file %s: %w", t.path, err), fileStamp{}
		return
	}
	if !t.stamp.ok || !st.ModTime().Equal(t.stamp.mod) || st.Size() != t.stamp.size {
		_ = t.reloadLocked()
	}
}

func (t *Tokens) reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reloadLocked()
}

func (t *Tokens) reloadLocked() error {
	st, err := os.Stat(t.path)
	if err != nil {
		t.entries, t.err = nil, fmt.Errorf("tokens file %s: %w", t.path, err)
		return t.err
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		t.entries, t.err = nil, fmt.Errorf("tokens file %s: %w", t.path, err)
		return t.err
	}
	t.stamp = fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	entries, err := parseTokens(data)
	if err != nil {
		t.entries, t.err = nil, fmt.Errorf("tokens file %s: %w", t.path, err)
		return t.err
	}
	t.entries, t.err = entries, nil
	return nil
}

// parseTokens reads lines "name token". Errors name the line and the
// token's name, never the token.
func parseTokens(data []byte) ([]tokenEntry, error) {
	var out []tokenEntry
	var errs []error
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			errs = append(errs, fmt.Errorf("line %d: want \"name token\" (two words), got %d words", line, len(fields)))
			continue
		}
		name, token := fields[0], fields[1]
		switch {
		case !tokenName.MatchString(name):
			errs = append(errs, fmt.Errorf("line %d: %q is not a token name: letters, digits, '_', '.' and '-', at most 63", line, clip(name)))
			continue
		case len(token) < MinTokenLength:
			errs = append(errs, fmt.Errorf("line %d: token %s is %d characters long; at least %d (openssl rand -hex 32 makes one)", line, name, len(token), MinTokenLength))
			continue
		}
		h := sha256.Sum256([]byte(token))
		if prev, dup := names[name]; dup {
			errs = append(errs, fmt.Errorf("line %d: token name %s is already line %d's", line, name, prev))
			continue
		}
		if prev, dup := hashes[h]; dup {
			errs = append(errs, fmt.Errorf("line %d: token %s is the same as line %d's", line, name, prev))
			continue
		}
		names[name], hashes[h] = line, line
		out = append(out, tokenEntry{name: name, hash: h})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("holds no token: add a line \"name token\"")
	}
	return out, nil
}

// clip shortens a value quoted in an error or a log line.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
