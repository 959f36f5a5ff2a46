package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

func parse(t *testing.T, args ...string) (config, int, bool, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	cfg, code, ok := parseConfig(args, &stdout, &stderr)
	return cfg, code, ok, stdout.String() + stderr.String()
}

func names(teams []outxtest.Team) string {
	var out []string
	for _, t := range teams {
		out = append(out, t.Name+"="+t.APIKey)
	}
	return strings.Join(out, " ")
}

func TestTeamsFromFlagsAndEnvironment(t *testing.T) {
	t.Setenv("SANDBOX_TEAMS", "")
	cfg, _, ok, out := parse(t, "--api-key", "k0", "--team", "bob=key-b", "--team", "carol=key-c")
	if want := "sandbox=k0 no-admin=sandbox-no-admin bob=key-b carol=key-c"; !ok || names(cfg.opts.Teams) != want {
		t.Fatalf("teams = %q (%s), want %q", names(cfg.opts.Teams), out, want)
	}

	t.Setenv("SANDBOX_TEAMS", "bob=key-b, carol=key-c")
	cfg, _, ok, out = parse(t)
	if want := "sandbox=sandbox-key no-admin=sandbox-no-admin bob=key-b carol=key-c"; !ok || names(cfg.opts.Teams) != want {
		t.Fatalf("teams from SANDBOX_TEAMS = %q (%s), want %q", names(cfg.opts.Teams), out, want)
	}
}

func TestBadConfigurationIsAUsageErrorWithoutKeys(t *testing.T) {
	t.Setenv("SANDBOX_TEAMS", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--team", "bob"}, `--team: want name=key, got "bob"`},
		{[]string{"--team", "bob="}, `--team: want name=key, got "bob=…"`},
		{[]string{"--team", "=secret-1"}, `--team: want name=key, got "=…"`},
		{[]string{"--team", "sandbox=secret-2"}, "--team sandbox: the name is already taken"},
		{[]string{"--team", "bob=secret-3", "--team", "carol=secret-3"}, "--team carol: its key is already team bob's"},
		{[]string{"--team", "bob=sandbox-key"}, "--team bob: its key is already team sandbox's"},
		{[]string{"--api-key", " "}, "--api-key must not be empty"},
		{[]string{"--accept-delay", "0s"}, "--accept-delay must be positive"},
		{[]string{"--accept-delay", "soon"}, "invalid argument"},
	} {
		_, code, ok, out := parse(t, tc.args...)
		if ok || code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%q: ok %v code %d, output %q; want a usage error containing %q", tc.args, ok, code, out, tc.want)
		}
		if strings.Contains(out, "secret-") {
			t.Errorf("%q: the output shows a key: %q", tc.args, out)
		}
	}
}

func TestHelpNamesTheConnectionFlags(t *testing.T) {
	_, code, ok, out := parse(t, "--help")
	if ok || code != 0 {
		t.Fatalf("--help: ok %v code %d", ok, code)
	}
	for _, want := range []string{"--accept-delay duration", "SANDBOX_ACCEPT_DELAY", "--team name=key", "SANDBOX_TEAMS", "urn:li:person:accepts", "urn:li:person:ignores", "/_sandbox/connections"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestConfiguredSandboxServesEveryTeam serves the configured sandbox, as run
// does, and uses it with the second team's key.
func TestConfiguredSandboxServesEveryTeam(t *testing.T) {
	t.Setenv("SANDBOX_TEAMS", "")
	cfg, _, ok, out := parse(t, "--team", "bob=key-b", "--task-delay", "1ms", "--accept-delay", "1ms")
	if !ok {
		t.Fatal(out)
	}
	sb := outxtest.New(cfg.opts)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c, err := outx.New(srv.URL, "key-b")
	if err != nil {
		t.Fatal(err)
	}
	urn := outxtest.Accepts + "-1"
	if _, err := c.SendConnectionRequest(context.Background(), outx.SendConnectionRequestBody{ProfileURN: urn}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sb.Connections("bob")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := sb.Connections("bob"); len(got) != 1 || got[0] != urn {
		t.Fatalf("bob's connections = %q, want %s after --accept-delay", got, urn)
	}
	if got := sb.Connections(outxtest.DefaultTeam); len(got) != 0 {
		t.Fatalf("the default team's connections = %q, want none", got)
	}
}
