package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestStdlibVerification runs the standard-library lines of
// docs/webhooks.md, copied here as they are (the test checks the copy).
func TestStdlibVerification(t *testing.T) {
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	const lines = `t, v1, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Outpace-Signature"), "t="), ",v1=")
mac := hmac.New(sha256.New, secret)
fmt.Fprintf(mac, "%s.%s", t, body)
sec, _ := strconv.ParseInt(t, 10, 64)
ok := hmac.Equal([]byte(v1), []byte(hex.EncodeToString(mac.Sum(nil)))) && time.Since(time.Unix(sec, 0)).Abs() < 5*time.Minute`
	if !strings.Contains(string(doc), lines) {
		t.Fatal("docs/webhooks.md no longer shows the lines this test runs: update both")
	}
	secret := []byte("whsec_0123456789abcdef")
	verify := func(header string, body []byte) bool {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Outpace-Signature", header)
		t, v1, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Outpace-Signature"), "t="), ",v1=")
		mac := hmac.New(sha256.New, secret)
		fmt.Fprintf(mac, "%s.%s", t, body)
		sec, _ := strconv.ParseInt(t, 10, 64)
		ok := hmac.Equal([]byte(v1), []byte(hex.EncodeToString(mac.Sum(nil)))) && time.Since(time.Unix(sec, 0)).Abs() < 5*time.Minute
		return ok
	}
	body := []byte(`{"id":"evt_1"}`)
	if !verify(webhooks.Sign(secret, time.Now(), body), body) {
		t.Error("refuses a good delivery")
	}
	if verify(webhooks.Sign(secret, time.Now(), body), []byte(`{"id":"evt_2"}`)) {
		t.Error("accepts a tampered body")
	}
	if verify(webhooks.Sign(secret, time.Now().Add(-6*time.Minute), body), body) {
		t.Error("accepts an old signature")
	}
}
