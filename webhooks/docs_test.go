package webhooks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/webhooks"
)

// TestShellVerification runs the openssl lines of docs/webhooks.md on a
// real signature: they accept it, and refuse a tampered body and an old
// timestamp.
func TestShellVerification(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	var script string
	for _, block := range strings.Split(string(doc), "```sh\n")[1:] {
		if b, _, _ := strings.Cut(block, "```"); strings.Contains(b, "openssl dgst") {
			script = b
		}
	}
	if script == "" {
		t.Fatal("docs/webhooks.md has no sh block with openssl")
	}
	secret := "whsec_0123456789abcdef"
	body := []byte(`{"id":"evt_1","type":"message.delivered","reason":"it's \"quoted\" %s"}`)
	run := func(sig string, b []byte) (string, error) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "body.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIG="+sig, "SECRET="+secret)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	sig := webhooks.Sign([]byte(secret), time.Now(), body)
	if out, err := run(sig, body); err != nil || out != "ok" {
		t.Fatalf("a good delivery: %s (%v)", out, err)
	}
	if out, err := run(sig, append(body, ' ')); err == nil || !strings.Contains(out, "bad signature") {
		t.Fatalf("a tampered body: %s (%v)", out, err)
	}
	old := webhooks.Sign([]byte(secret), time.Now().Add(-6*time.Minute), body)
	if out, err := run(old, body); err == nil || !strings.Contains(out, "too old") {
		t.Fatalf("an old signature: %s (%v)", out, err)
	}
}
