package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadWebhooksFileStopsTheWorker: a mistake in the webhooks file stops
// the worker at start-up, before it dials Temporal, naming the line, the
// field and the rule, and never the secret.
func TestBadWebhooksFileStopsTheWorker(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "webhooks.yaml")
	const inline = "an-inline-secret-0123456789"
	if err := os.WriteFile(file, []byte("webhooks:\n  - name: crm\n    url: https://crm.example.com/hook\n    secret: "+inline+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OUTX_API_KEY", "sandbox-key")
	var stdout, stderr bytes.Buffer
	code := run([]string{"--webhooks-file", file, "--contacts-db", filepath.Join(dir, "c.db"), "--skip-key-check",
		"--address", "127.0.0.1:1"}, &stdout, &stderr)
	out := stderr.String()
	if code != 1 || !strings.Contains(out, "--webhooks-file: "+file+":4: webhooks[0].secret: a secret is never written in the file") {
		t.Fatalf("exit %d, stderr:\n%s", code, out)
	}
	if strings.Contains(out, inline) {
		t.Fatalf("the error shows the secret:\n%s", out)
	}
}
