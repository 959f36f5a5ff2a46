package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/outpacehq/outpace/senders"
)

const (
	envKey   = "env-key-SECRET-0001"
	aliceKey = "alice-key-SECRET-0002"
	fileKey  = "default-key-SECRET-0003"
)

func sendersFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "senders.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const aliceOnly = "senders:\n  - name: alice\n    api_key_env: ALICE_KEY\n    daily_cap: 7\n"

func TestSenderConfig(t *testing.T) {
	t.Setenv("ALICE_KEY", aliceKey)
	t.Setenv("DEFAULT_KEY", fileKey)
	withDefault := sendersFile(t, aliceOnly+"  - name: default\n    api_key_env: DEFAULT_KEY\n")
	for name, tc := range map[string]struct {
		file, env  string
		names      string
		defaultKey string
		ignored    string
		err        string
	}{
		"no file, as before":      {env: envKey, names: "default", defaultKey: envKey},
		"no file, no key":         {err: "no OutX API key: set OUTX_API_KEY"},
		"file and OUTX_API_KEY":   {file: sendersFile(t, aliceOnly), env: envKey, names: "alice,default", defaultKey: envKey},
		"file alone":              {file: sendersFile(t, aliceOnly), names: "alice"},
		"file's own default wins": {file: withDefault, env: envKey, names: "alice,default", defaultKey: fileKey, ignored: "OUTX_API_KEY"},
		"file with a mistake":     {file: sendersFile(t, "senders:\n  - name: alice\n"), env: envKey, err: "--senders-file: "},
		"missing file":            {file: "/nonexistent/senders.yaml", env: envKey, err: "--senders-file: senders file: open /nonexistent/senders.yaml"},
	} {
		t.Setenv("OUTX_API_KEY", tc.env)
		cfg := config{sendersFile: tc.file, baseURL: "http://127.0.0.1:7777"}
		accounts, ignored, err := senderConfig(cfg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := strings.Join(accounts.Names(), ","); got != tc.names {
			t.Errorf("%s: senders %s, want %s", name, got, tc.names)
		}
		if d, ok := accounts.Get(""); ok != (tc.defaultKey != "") || d.APIKey != tc.defaultKey {
			t.Errorf("%s: default sender found %v with the key of the wrong source", name, ok)
		}
		if ignored != tc.ignored {
			t.Errorf("%s: ignored key source %q, want %q", name, ignored, tc.ignored)
		}
		for _, a := range accounts.Accounts {
			if a.BaseURL != "http://127.0.0.1:7777" {
				t.Errorf("%s: sender %s at %q, want --outx-base-url", name, a.Name, a.BaseURL)
			}
		}
	}
}

// TestLogSendersNamesEverySenderButNoKey: the start-up log shows each
// sender's name, address, key source and limits, and no key.
func TestLogSendersNamesEverySenderButNoKey(t *testing.T) {
	t.Setenv("ALICE_KEY", aliceKey)
	t.Setenv("OUTX_API_KEY", envKey)
	accounts, _, err := senderConfig(config{sendersFile: sendersFile(t, aliceOnly), baseURL: "http://127.0.0.1:7777"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logSenders(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&out), zap.InfoLevel)), accounts)
	text := out.String()
	for _, want := range []string{
		`"sender":"alice","outx_base_url":"http://127.0.0.1:7777","api_key":"set, from $ALICE_KEY","limits":"mon-fri 09:00-18:00 UTC, gap 45s-3m, all actions 30/h 7/day`,
		`"sender":"default","outx_base_url":"http://127.0.0.1:7777","api_key":"set, from OUTX_API_KEY"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log does not contain %s:\n%s", want, text)
		}
	}
	for _, key := range []string{aliceKey, envKey} {
		if strings.Contains(text, key) {
			t.Fatalf("a key was logged:\n%s", text)
		}
	}
	if _, ok := accounts.Get(senders.Default); !ok {
		t.Fatal("no default sender")
	}
}

// TestHelpGoesToStandardOutput: "worker --help | less" shows the help, and
// exits 0, as the starter and the sandbox do; usage errors go to stderr.
func TestHelpGoesToStandardOutput(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage:\n  worker [flags]") ||
			!strings.Contains(stdout.String(), "--senders-file") || stderr.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, the help on stdout, nothing on stderr", arg, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &stdout, &stderr); code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "unknown flag: --no-such-flag") {
		t.Errorf("a bad flag: exit %d, stdout %q, stderr %q; want 2 and the error on stderr", code, stdout.String(), stderr.String())
	}
}
