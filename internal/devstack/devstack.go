// Package devstack starts what outpace's integration tests (e2e) and
// benchmarks (bench) run on: a Temporal dev server from the pinned CLI, with
// outpace's search attributes; the OutX sandbox over real HTTP; the real
// worker, starter and sandbox binaries, built once; and worker processes. It
// stops all of it again, a dev server that never answered included.
//
// One package, so that the tests and the benchmarks start the same stack the
// same way: a fix to how a server is started or stopped reaches both.
package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/workflows"
)

// EnvTemporalCLI names the temporal CLI to run, as `make` sets it.
const EnvTemporalCLI = "OUTPACE_TEMPORAL_CLI"

// TemporalCLI finds the temporal CLI: path when given, else
// $OUTPACE_TEMPORAL_CLI, else .tools/bin/temporal in the repository at root,
// where the Makefile builds the pinned version. A CLI that is not there is an
// error that says how to get it: the tests fail, never skip, without it.
func TemporalCLI(root, path string) (string, error) {
	if path == "" {
		path = os.Getenv(EnvTemporalCLI)
	}
	if path == "" {
		path = filepath.Join(root, ".tools", "bin", "temporal")
	}
	if _, err := os.Stat(path); err != nil {
		return path, &MissingCLIError{Path: path}
	}
	return path, nil
}

// MissingCLIError says that the temporal CLI is not where it was looked for,
// and how to get it.
type MissingCLIError struct{ Path string }

func (e *MissingCLIError) Error() string {
	return fmt.Sprintf("the temporal CLI is not at %s: `make temporal` builds the pinned version there "+
		"(`make test` and the bench targets do it first), or set %s", e.Path, EnvTemporalCLI)
}

// Build builds the main packages (e.g. "./worker", "./starter") of the
// repository at root into dir, each binary named after its folder.
func Build(ctx context.Context, root, dir string, pkgs ...string) error {
	if len(pkgs) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SearchAttributes are every search attribute outpace's workflows set, as the
// demo and the compose stack register them.
func SearchAttributes() temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	for _, sa := range workflows.SearchAttributes {
		updates = append(updates, sa.ValueSet(""))
	}
	return temporal.NewSearchAttributes(updates...)
}

// CleanEnv is this process's environment without the settings that would
// point a binary elsewhere than the stack's server and sandbox (TEMPORAL_*,
// OUTX_*, OUTPACE_*): a developer's shell must not change what a test or a
// benchmark talks to. Callers add the stack's own on top.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "OUTX_") || strings.HasPrefix(kv, "OUTPACE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// UnlimitedSenders is a senders file with one account, "default", whose key
// is $OUTX_API_KEY, open every day and hour, with no gap and no cap of its
// own: tests and benchmarks about something else than pacing run at their
// own pace. The account's pacer still lets one task through at a time.
const UnlimitedSenders = `senders:
  - name: default
    api_key_env: OUTX_API_KEY
    time_zone: UTC
    days: mon-sun
    hours: "00:00-24:00"
    min_gap: 0s
    max_gap: 0s
    hourly_cap: 0
    daily_cap: 0
    message: {hourly_cap: 0, daily_cap: 0}
    connect: {hourly_cap: 0, daily_cap: 0, weekly_cap: 0}
    lookup: {hourly_cap: 0, daily_cap: 0}
`
