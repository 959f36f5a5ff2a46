package codec_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/codec"
)

func b64(n int, fill byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(fill), n)))
}

func TestParseKeyFile(t *testing.T) {
	file := "# outpace payload keys: the first one encrypts\n\n" +
		"2026-06 " + b64(32, 'a') + "\n" +
		"  # kept to read older histories\n" +
		"2026-01\t" + b64(32, 'b') + "  \r\n"
	k, err := codec.ParseKeyFile("keys.txt", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if k.ActiveKeyID() != "2026-06" || strings.Join(k.KeyIDs(), ",") != "2026-06,2026-01" {
		t.Errorf("active %s, ids %v", k.ActiveKeyID(), k.KeyIDs())
	}
	// Printing a keyring, however, shows ids only.
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k)} {
		if strings.Contains(s, "aaaa") || strings.Contains(s, b64(32, 'a')) || !strings.Contains(s, "2026-06") {
			t.Errorf("printed keyring: %s", s)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	good := b64(32, 'g')
	short := b64(16, 's')
	tests := []struct {
		name, file string
		says       []string
	}{
		{"empty", "# nothing\n\n", []string{"keys.txt", "no keys", "head -c32 /dev/urandom | base64"}},
		{"one field", "k1\n", []string{"keys.txt line 1", "<key-id> <base64 key>", "found 1 fields"}},
		{"three fields", "k1 " + good + " extra\n", []string{"line 1", "found 3 fields"}},
		{"short key", "# c\nk1 " + short + "\n", []string{"line 2", `key "k1"`, "16 bytes", "exactly 32"}},
		{"not base64", "k1 not*base64!!\n", []string{"line 1", `key "k1"`, "not valid base64"}},
		{"duplicate id", "k1 " + good + "\nk1 " + b64(32, 'h') + "\n", []string{"line 2", `"k1"`, "unique"}},
		{"bad id", "k/1 " + good + "\n", []string{"line 1", `"k/1"`, "letters, digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.ParseKeyFile("keys.txt", []byte(tt.file))
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			for _, m := range []string{good, short, "not*base64", b64(32, 'h')} {
				if strings.Contains(err.Error(), m) {
					t.Errorf("error %q shows key material", err)
				}
			}
		})
	}
}

func TestParseKeyFromVariable(t *testing.T) {
	k, err := codec.ParseKey(codec.EnvKey, " prod-1:"+b64(32, 'p')+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.ActiveKeyID() != "prod-1" || k.Source() != codec.EnvKey {
		t.Errorf("key %s from %s", k.ActiveKeyID(), k.Source())
	}
	for value, says := range map[string]string{
		b64(32, 'p'):                 "want \"<key-id>:<base64 key>\"",
		"prod-1:" + b64(31, 'p'):     "31 bytes",
		":" + b64(32, 'p'):           `key id ""`,
		"prod-1:" + b64(32, 'p')[1:]: "not valid base64",
	} {
		_, err := codec.ParseKey(codec.EnvKey, value)
		if err == nil || !strings.Contains(err.Error(), codec.EnvKey) || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseKey(%.8s…): %v, want an error naming %s and saying %q", value, err, codec.EnvKey, says)
			continue
		}
		if strings.Contains(err.Error(), b64(32, 'p')[4:]) || strings.Contains(err.Error(), b64(31, 'p')[4:]) {
			t.Errorf("error %q shows key material", err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte("f1 "+b64(32, 'f')+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := "e1:" + b64(32, 'e')

	if k, err := codec.Load("", ""); k != nil || err != nil {
		t.Errorf("nothing configured: %v, %v; want encryption off", k, err)
	}
	if k, err := codec.Load(path, ""); err != nil || k.ActiveKeyID() != "f1" || !strings.Contains(k.Source(), path) {
		t.Errorf("from the file: %v, %v", k, err)
	}
	if k, err := codec.Load("", env); err != nil || k.ActiveKeyID() != "e1" {
		t.Errorf("from the variable: %v, %v", k, err)
	}
	if _, err := codec.Load(path, env); err == nil || !strings.Contains(err.Error(), "--encryption-key-file") || !strings.Contains(err.Error(), codec.EnvKey) {
		t.Errorf("both: %v, want an error naming both", err)
	}
	missing := filepath.Join(dir, "absent")
	if _, err := codec.Load(missing, ""); err == nil || !strings.Contains(err.Error(), "--encryption-key-file "+missing) {
		t.Errorf("missing file: %v", err)
	}
}
