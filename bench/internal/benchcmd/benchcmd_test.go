package benchcmd

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/bench/internal/stack"
)

// --help prints the intro, then every flag: the shared ones with their usual
// texts unless the command gives its own, and no --server-arg when asked.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		help    Help
		want    []string
		wantNot []string
	}{
		{
			name: "usual texts",
			want: []string{"intro text\n", HelpTemporal, HelpWorkerBin, HelpKeep, "an extra argument for temporal server start-dev (repeatable)"},
		},
		{
			name:    "own texts, no --server-arg",
			help:    Help{Temporal: "my CLI", WorkerBin: "my worker", Keep: "my keep", NoServerArg: true},
			want:    []string{"my CLI", "my worker", "my keep"},
			wantNot: []string{"-server-arg", HelpTemporal, HelpWorkerBin, HelpKeep},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New("demo", "intro text\n", tc.help)
			var out bytes.Buffer
			p.FlagSet.SetOutput(&out)
			if code, ok := p.Parse([]string{"--help"}); ok || code != 0 {
				t.Fatalf("--help: code %d, ok %v; want 0, false", code, ok)
			}
			got := out.String()
			if !strings.HasPrefix(got, "intro text\n") {
				t.Errorf("help does not start with the intro:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("help lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("help has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	p := New("demo", "", Help{})
	p.FlagSet.SetOutput(io.Discard)
	n := p.FlagSet.Int("n", 1, "a command's own flag")
	code, ok := p.Parse([]string{"--temporal", "/t", "--worker-bin", "w", "--keep", "--server-arg=--a", "--server-arg", "b", "-n", "7", "rest"})
	if !ok || code != 0 {
		t.Fatalf("Parse: code %d, ok %v", code, ok)
	}
	want := Flags{TemporalCLI: "/t", WorkerBin: "w", Keep: true, ServerArgs: Strings{"--a", "b"}}
	if p.Flags.TemporalCLI != want.TemporalCLI || p.Flags.WorkerBin != want.WorkerBin || !p.Flags.Keep ||
		p.Flags.ServerArgs.String() != want.ServerArgs.String() {
		t.Errorf("flags %+v, want %+v", p.Flags, want)
	}
	if *n != 7 || p.FlagSet.NArg() != 1 {
		t.Errorf("-n %d, %d arguments; want 7 and 1", *n, p.FlagSet.NArg())
	}

	q := New("demo", "", Help{NoServerArg: true})
	q.FlagSet.SetOutput(io.Discard)
	if code, ok := q.Parse([]string{"--server-arg", "x"}); ok || code != 2 {
		t.Errorf("an unknown flag: code %d, ok %v; want 2, false", code, ok)
	}
}

// A stack that cannot start (no temporal CLI there) fails the command with
// code 1, before the measurement runs.
func TestRunStartFails(t *testing.T) {
	p := New("demo", "", Help{})
	p.Flags.TemporalCLI = filepath.Join(t.TempDir(), "no-temporal")
	ran := false
	code := p.Run(stack.Options{}, func(context.Context, *stack.Stack) (func(io.Writer), error) {
		ran = true
		return func(io.Writer) {}, nil
	})
	if code != 1 || ran {
		t.Errorf("code %d, measurement ran: %v; want 1, false", code, ran)
	}
	if p.Started.IsZero() {
		t.Error("Started not set")
	}
}
