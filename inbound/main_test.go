package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "POST   /v1/stops") {
		t.Errorf("--help: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--tokens-file (or OUTPACE_INBOUND_TOKENS_FILE) is required") {
		t.Errorf("no tokens file: exit %d: %s", code, errb.String())
	}
	// A tokens file it cannot use stops it before it dials anything; the
	// message names the line, never the token.
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("crm too-short-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	code := run([]string{"--tokens-file", path}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "line 1: token crm is 16 characters long") || strings.Contains(errb.String(), "too-short-secret") {
		t.Errorf("bad tokens file: exit %d: %s", code, errb.String())
	}
}
