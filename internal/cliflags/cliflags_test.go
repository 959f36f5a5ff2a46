package cliflags_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/outpacehq/outpace/internal/cliflags"
)

func flags() (*pflag.FlagSet, *string, *time.Duration) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	url := fs.String("base-url", "https://default", "base URL")
	every := fs.Duration("every", time.Second, "interval")
	cliflags.Env(fs, "base-url", "T_BASE_URL")
	cliflags.Env(fs, "every", "T_EVERY")
	return fs, url, every
}

func TestEnvironmentFillsFlagsNotGiven(t *testing.T) {
	t.Setenv("T_BASE_URL", "https://from-env")
	t.Setenv("T_EVERY", "3s")
	fs, url, every := flags()
	if err := cliflags.Parse(fs, []string{"--every", "5s"}); err != nil {
		t.Fatal(err)
	}
	if *url != "https://from-env" {
		t.Errorf("base-url = %q, want the environment's value", *url)
	}
	if *every != 5*time.Second {
		t.Errorf("every = %s, want the command line's 5s over the environment's 3s", *every)
	}
}

func TestDefaultsWhenNeitherIsGiven(t *testing.T) {
	t.Setenv("T_BASE_URL", "")
	fs, url, _ := flags()
	if err := cliflags.Parse(fs, nil); err != nil || *url != "https://default" {
		t.Fatalf("base-url = %q, %v; an empty variable must leave the default", *url, err)
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	t.Setenv("T_EVERY", "soon")
	fs, _, _ := flags()
	err := cliflags.Parse(fs, nil)
	if err == nil || !strings.Contains(err.Error(), `T_EVERY="soon"`) {
		t.Fatalf("err = %v, want it to name T_EVERY and its value", err)
	}
}

func TestHelpNamesTheVariable(t *testing.T) {
	fs, _, _ := flags()
	if !strings.Contains(fs.FlagUsages(), "(env T_BASE_URL)") {
		t.Fatalf("usage lacks the variable:\n%s", fs.FlagUsages())
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		ok     bool
		stderr string
	}{
		{[]string{"--every", "2s"}, 0, true, ""},
		{[]string{"--help"}, 0, false, ""},
		{[]string{"--every"}, 2, false, "t: flag needs an argument"},
		{[]string{"extra"}, 2, false, `t: unexpected arguments ["extra"]`},
	} {
		fs, _, _ := flags()
		fs.Usage = func() {}
		var stderr strings.Builder
		code, ok := cliflags.ParseCommand(fs, tc.args, &stderr)
		if code != tc.code || ok != tc.ok || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%v: got %d %v %q, want %d %v %q", tc.args, code, ok, stderr.String(), tc.code, tc.ok, tc.stderr)
		}
	}
}

func TestHelpPrintsToTheWriterGiven(t *testing.T) {
	fs, _, _ := flags()
	var stdout, stderr strings.Builder
	cliflags.Help(fs, "t does things.\n\nFlags:\n", &stdout)
	code, ok := cliflags.ParseCommand(fs, []string{"--help"}, &stderr)
	if code != 0 || ok || !strings.HasPrefix(stdout.String(), "t does things.\n\nFlags:\n") ||
		!strings.Contains(stdout.String(), "(env T_BASE_URL)") || stderr.Len() != 0 {
		t.Errorf("--help: %d %v, stdout %q, stderr %q", code, ok, stdout.String(), stderr.String())
	}
}
