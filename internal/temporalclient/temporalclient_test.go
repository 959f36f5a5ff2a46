package temporalclient_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
	"github.com/outpacehq/outpace/internal/temporalclient"
)

func options(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var f temporalclient.Flags
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	opts, err := f.Options(nil)
	if err != nil {
		t.Fatal(err)
	}
	return opts.HostPort, opts.Namespace
}

func TestConnectionSettings(t *testing.T) {
	// No temporal.toml: only the environment and the flags count.
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_ADDRESS", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	if addr, ns := options(t); addr != "localhost:7233" || ns != "default" {
		t.Errorf("defaults: %s %s", addr, ns)
	}
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "outreach")
	if addr, ns := options(t); addr != "temporal.example:7233" || ns != "outreach" {
		t.Errorf("from the environment: %s %s", addr, ns)
	}
	if addr, ns := options(t, "--address", "127.0.0.1:9999", "--namespace", "other"); addr != "127.0.0.1:9999" || ns != "other" {
		t.Errorf("flags over the environment: %s %s", addr, ns)
	}
}

func TestPayloadEncryption(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv(codec.EnvKey, "")
	t.Setenv(codec.EnvKeyFile, "")
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte("# rotated in June\nk-june "+secret+"\nk-jan "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// resolve parses args as the binaries do (flags, then their variables).
	resolve := func(args ...string) (client.Options, string, error) {
		var f temporalclient.Flags
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f.Register(fs)
		if err := cliflags.Parse(fs, args); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		z, err := logging.New(&logs, "console", "info")
		if err != nil {
			t.Fatal(err)
		}
		opts, err := f.Options(logging.Temporal(z))
		return opts, logs.String(), err
	}
	encryptedWith := func(opts client.Options) string {
		t.Helper()
		if opts.DataConverter == nil {
			return ""
		}
		p, err := opts.DataConverter.ToPayload("Hi Ada")
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Metadata[converter.MetadataEncoding]) != codec.EncodingEncrypted || bytes.Contains(p.Data, []byte("Hi Ada")) {
			t.Fatalf("payload not encrypted: %v", p)
		}
		f := opts.FailureConverter.ErrorToFailure(errors.New("message to urn:li:person:x failed"))
		if strings.Contains(f.String(), "urn:li:person:x") {
			t.Errorf("error messages are not encrypted: %v", f)
		}
		return string(p.Metadata[codec.MetadataKeyID])
	}

	opts, logs, err := resolve()
	if err != nil || opts.DataConverter != nil || opts.FailureConverter != nil || strings.Contains(logs, "encryption") {
		t.Errorf("without keys: %v, %v, %q; want no encryption", opts.DataConverter, err, logs)
	}

	opts, logs, err = resolve("--encryption-key-file", keyFile)
	if err != nil || encryptedWith(opts) != "k-june" {
		t.Fatalf("--encryption-key-file: %v", err)
	}
	if !strings.Contains(logs, "payload encryption: on") || !strings.Contains(logs, "k-june") || strings.Contains(logs, secret) {
		t.Errorf("start-up log: %q; want the active key id and never the key", logs)
	}

	t.Setenv(codec.EnvKeyFile, keyFile)
	if opts, _, err = resolve(); err != nil || encryptedWith(opts) != "k-june" {
		t.Fatalf("%s: %v", codec.EnvKeyFile, err)
	}
	t.Setenv(codec.EnvKeyFile, "")

	t.Setenv(codec.EnvKey, "k-env:"+secret)
	if opts, _, err = resolve(); err != nil || encryptedWith(opts) != "k-env" {
		t.Fatalf("%s: %v", codec.EnvKey, err)
	}

	t.Setenv(codec.EnvKey, "k-env:"+secret[:20])
	if _, _, err = resolve(); err == nil || !strings.Contains(err.Error(), codec.EnvKey) || strings.Contains(err.Error(), secret[:20]) {
		t.Errorf("a bad %s: %v; want an error naming it, without the key", codec.EnvKey, err)
	}
}
