package temporalclient_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// TestDialErrorsNameTheCause: a failure to reach Temporal names the address
// and what to check: nothing listening, the UI's port, a name that does not
// resolve, a URL for an address.
func TestDialErrorsNameTheCause(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_NAMESPACE", "")
	t.Setenv(codec.EnvKey, "")
	t.Setenv(codec.EnvKeyFile, "")
	closed := func() string { // a port nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>Temporal UI</html>")) }))
	defer ui.Close()
	for _, c := range []struct{ address, want string }{
		{closed, "nothing is listening there: is the Temporal server running? `make demo` starts one"},
		{strings.TrimPrefix(ui.URL, "http://"), "it answers HTTP, not Temporal's gRPC: is this the Temporal UI's port (8233 by default)? Temporal's frontend listens on 7233"},
		{"temporall.invalid:7233", `host "temporall.invalid" cannot be found: is its name spelled right?`},
		{"http://localhost:7233", "give the address as host:port, without a scheme"},
	} {
		var f temporalclient.Flags
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse([]string{"--address", c.address}); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.Dial(nil)
		var de *temporalclient.DialError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "connecting to Temporal at "+c.address+" (namespace default): ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant the address and %q", c.address, err, c.want)
		}
	}
}

func TestDialHintForTheUIPort(t *testing.T) {
	for _, c := range []struct{ address, failure, want string }{
		{"localhost:8233", `connection error: desc = "error reading server preface: http2: frame too large, note that the frame header looked like an HTTP/1.1 header"`,
			"port 8233 is the Temporal UI's (HTTP); Temporal's gRPC frontend listens on 7233: use localhost:7233"},
		{"localhost:8233", `dial tcp 127.0.0.1:8233: connect: connection refused`, "nothing is listening there"},
		{"localhost:8233", `dial tcp 127.0.0.1:8233: connect: connection refused`, "8233 is the Temporal UI's port"},
		{"127.0.0.1:7233", "tls: first record does not look like a TLS handshake", "the server does not speak TLS"},
		{"127.0.0.1:7233", "context deadline exceeded", "no answer in time"},
	} {
		if got := temporalclient.DialHint(c.address, errors.New(c.failure)); !strings.Contains(got, c.want) {
			t.Errorf("%s, %q: hint %q, want %q", c.address, c.failure, got, c.want)
		}
	}
}

func TestWorkerIdentityListsSenders(t *testing.T) {
	id := temporalclient.WorkerIdentity([]string{"default", "alice"}, false)
	if !strings.HasPrefix(id, strconv.Itoa(os.Getpid())+"@") || !strings.HasSuffix(id, " outpace senders=default,alice") {
		t.Errorf("identity %q", id)
	}
	if got, ok := temporalclient.IdentitySenders(id); !ok || !slices.Equal(got, []string{"default", "alice"}) || temporalclient.IdentityEncrypted(id) {
		t.Errorf("senders of %q: %v, %v", id, got, ok)
	}
	enc := temporalclient.WorkerIdentity([]string{"default"}, true)
	if got, ok := temporalclient.IdentitySenders(enc); !ok || !slices.Equal(got, []string{"default"}) || !temporalclient.IdentityEncrypted(enc) {
		t.Errorf("an encrypting worker's identity %q: senders %v, %v; encrypted %v", enc, got, ok, temporalclient.IdentityEncrypted(enc))
	}
	if _, ok := temporalclient.IdentitySenders("4242@host@"); ok {
		t.Error("an identity without senders (an older worker) read as listing them")
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("account-with-a-long-name-%03d", i)
	}
	if id := temporalclient.WorkerIdentity(many, true); len(id) > 1000 || strings.Contains(id, "senders=") {
		t.Errorf("an identity past the server's limit: %d characters", len(id))
	}
}
