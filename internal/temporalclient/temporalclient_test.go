package temporalclient_test

import (
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

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
