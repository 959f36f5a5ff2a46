package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokensFile(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	for name, c := range map[string]struct{ file, want string }{
		"fine":             {file: "\uFEFF# comment\n\nalice " + a + "\r\ncrm\t" + b + "\n"},
		"empty":            {file: "# nobody\n", want: "holds no token"},
		"one word":         {file: "alice\n", want: "line 1: want \"name token\""},
		"three words":      {file: "alice " + a + " extra\n", want: "line 1: want \"name token\" (two words), got 3"},
		"short token":      {file: "alice short-secret\n", want: "line 1: token alice is 12 characters long; at least 24"},
		"bad name":         {file: "al/ice " + a + "\n", want: `line 1: "al/ice" is not a token name`},
		"same name twice":  {file: "alice " + a + "\nalice " + b + "\n", want: "line 2: token name alice is already line 1's"},
		"same token twice": {file: "alice " + a + "\ncrm " + a + "\n", want: "line 2: token crm is the same as line 1's"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
				t.Fatal(err)
			}
			tk, err := LoadTokens(path)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for tok, want := range map[string]string{a: "alice", b: "crm"} {
					if got, ok, err := tk.Check(tok); !ok || got != want || err != nil {
						t.Errorf("Check(%s…) = %q %v %v", tok[:3], got, ok, err)
					}
				}
				for _, bad := range []string{"", a[:len(a)-1], a + "a", "alice"} {
					if _, ok, _ := tk.Check(bad); ok {
						t.Errorf("Check(%q) accepted", bad)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), a) {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}
