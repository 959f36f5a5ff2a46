package senders_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"

	"github.com/outpacehq/outpace/senders"
)

const secret = "sk-live-DO-NOT-LEAK-1234567890"

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodFile = `senders:
  - name: alice
    api_key_env: OUTX_API_KEY_ALICE
    base_url: http://127.0.0.1:8080/
    time_zone: Europe/Berlin
    days: mon-fri
    hours: "09:00-18:00"
    min_gap: 45s
    max_gap: 3m
    hourly_cap: 30
    daily_cap: 120
    message: {hourly_cap: 20, daily_cap: 40}
    connect: {hourly_cap: 10, daily_cap: 20, weekly_cap: 100}
    lookup:  {hourly_cap: 20, daily_cap: 80}
  - name: bob
    api_key_file: bob.key
    min_gap: 10m
    connect: {weekly_cap: 0}
  - name: carol
    api_key: "  ` + secret + `  "
`

func TestLoadGoodFile(t *testing.T) {
	t.Setenv("OUTX_API_KEY_ALICE", "alice-key\n")
	path := writeFile(t, "senders.yaml", goodFile)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "bob.key"), []byte("bob-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := senders.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Names(), ","); got != "alice,bob,carol" {
		t.Fatalf("names = %s", got)
	}
	alice, _ := cfg.Get("alice")
	if alice.APIKey != "alice-key" || alice.BaseURL != "http://127.0.0.1:8080" || alice.KeySource != "$OUTX_API_KEY_ALICE" {
		t.Errorf("alice = key %q, base %q, source %q", alice.APIKey, alice.BaseURL, alice.KeySource)
	}
	if l := alice.Limits; l.TimeZone != "Europe/Berlin" || senders.Value(l.Connect.WeeklyCap) != 100 || senders.Value(l.Lookup.DailyCap) != 80 {
		t.Errorf("alice's limits = %s", l)
	}
	bob, _ := cfg.Get("bob")
	if bob.APIKey != "bob-key" || bob.BaseURL != "" {
		t.Errorf("bob: key %q (want bob-key, read next to the senders file), base %q (want unset)", bob.APIKey, bob.BaseURL)
	}
	// min_gap above the default max_gap, without max_gap, raises the max.
	if bob.Limits.MinGap != "10m" || bob.Limits.MaxGap != "10m" {
		t.Errorf("bob's gap = %s-%s, want 10m-10m", bob.Limits.MinGap, bob.Limits.MaxGap)
	}
	// An explicit 0 is no cap, not the default; unset fields take defaults.
	if bob.Limits.Connect.WeeklyCap == nil || *bob.Limits.Connect.WeeklyCap != 0 || senders.Value(bob.Limits.Connect.DailyCap) != 20 {
		t.Errorf("bob's connect caps = %+v", bob.Limits.Connect)
	}
	carol, _ := cfg.Get("carol")
	if carol.APIKey != secret || carol.KeySource != path+":20" {
		t.Errorf("carol: key read right: %v, source %q", carol.APIKey == secret, carol.KeySource)
	}
	if _, ok := cfg.Get(""); ok {
		t.Error(`Get("") found an account, but the file has no "default"`)
	}

	withBase := cfg.WithBaseURL("http://sandbox:8080")
	if b, _ := withBase.Get("bob"); b.BaseURL != "http://sandbox:8080" {
		t.Errorf("bob's base URL after WithBaseURL = %q", b.BaseURL)
	}
	if a, _ := withBase.Get("alice"); a.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("WithBaseURL replaced alice's own base URL: %q", a.BaseURL)
	}
}

func TestLoadReadsJSON(t *testing.T) {
	t.Setenv("K", "k")
	path := writeFile(t, "senders.json", `{"senders": [{"name": "default", "api_key_env": "K", "daily_cap": 10}]}`)
	cfg, err := senders.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := cfg.Get(""); !ok || senders.Value(a.Limits.DailyCap) != 10 {
		t.Fatalf("default = %v, %v", a, ok)
	}
}

// TestLoadErrors: each mistake is reported with its line and field path,
// and none with the key.
func TestLoadErrors(t *testing.T) {
	t.Setenv("SET_KEY", secret)
	t.Setenv("EMPTY_KEY", "  ")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "empty.key"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	item := "  - name: ok\n    api_key_env: SET_KEY\n"
	ok := "senders:\n" + item
	for name, tc := range map[string]struct {
		text string
		want string // "line: field: rule" prefix
	}{
		"negative weekly cap": {ok + "  - name: b\n    api_key_env: SET_KEY\n    connect:\n      weekly_cap: -1\n",
			"7: senders[1].connect.weekly_cap: must not be negative"},
		"hourly cap too high":   {ok + "    hourly_cap: 1001\n", "4: senders[0].hourly_cap: 1001 is more than 1000"},
		"action hourly cap":     {ok + "    lookup: {hourly_cap: 5000}\n", "4: senders[0].lookup.hourly_cap: 5000 is more than 1000"},
		"cap not a number":      {ok + "    daily_cap: lots\n", "4: senders[0].daily_cap: must be a whole number"},
		"unknown field":         {ok + "    weekly_cap: 5\n", "4: senders[0].weekly_cap: unknown field"},
		"unknown caps field":    {ok + "    message: {monthly_cap: 5}\n", "4: senders[0].message.monthly_cap: unknown field"},
		"unknown top field":     {"sender:\n" + item, "1: sender: unknown field"},
		"no senders":            {"senders: []\n", "1: senders: lists no sender account"},
		"missing name":          {"senders:\n  - api_key_env: SET_KEY\n", "2: senders[0].name: is required"},
		"invalid name":          {"senders:\n  - name: Alice Smith\n    api_key_env: SET_KEY\n", `2: senders[0].name: "Alice Smith": must be`},
		"duplicate name":        {ok + item, `4: senders[1].name: "ok" is already the name of the sender on line 2`},
		"no key":                {"senders:\n  - name: a\n", "2: senders[0]: has no API key"},
		"two keys":              {ok + "    api_key_file: x.key\n", "4: senders[0].api_key_file: only one of api_key_env, api_key_file and api_key may be set (api_key_env is set on line 3)"},
		"env not set":           {"senders:\n  - name: a\n    api_key_env: NOT_SET_ANYWHERE\n", "3: senders[0].api_key_env: environment variable NOT_SET_ANYWHERE is not set"},
		"env empty":             {"senders:\n  - name: a\n    api_key_env: EMPTY_KEY\n", "3: senders[0].api_key_env: environment variable EMPTY_KEY is empty"},
		"key pasted as env":     {"senders:\n  - name: a\n    api_key_env: " + secret + "\n", "3: senders[0].api_key_env: must name an environment variable"},
		"key file missing":      {"senders:\n  - name: a\n    api_key_file: nope.key\n", "3: senders[0].api_key_file: cannot read " + filepath.Join(dir, "nope.key") + ": no such file"},
		"key file empty":        {"senders:\n  - name: a\n    api_key_file: empty.key\n", "3: senders[0].api_key_file: " + filepath.Join(dir, "empty.key") + " is empty"},
		"inline key not text":   {"senders:\n  - name: a\n    api_key: [" + secret + "]\n", "3: senders[0].api_key: must be a single text value"},
		"bad time zone":         {ok + "    time_zone: Europe/Berln\n", `4: senders[0].time_zone: "Europe/Berln": unknown time zone`},
		"bad days":              {ok + "    days: mon-fry\n", `4: senders[0].days: "mon-fry": unknown day "fry"`},
		"bad hours":             {ok + "    hours: 18:00-09:00\n", `4: senders[0].hours: "18:00-09:00": the end must be after the start`},
		"bad gap":               {ok + "    min_gap: 45\n", `4: senders[0].min_gap: "45": want a duration`},
		"min above max":         {ok + "    min_gap: 5m\n    max_gap: 1m\n", "4: senders[0].min_gap: min_gap 5m is longer than max_gap 1m"},
		"max below default min": {ok + "    max_gap: 10s\n", "4: senders[0].max_gap: min_gap 45s is longer than max_gap 10s"},
		"empty text":            {ok + "    days: \"\"\n", "4: senders[0].days: must not be empty"},
		"credentials in URL":    {ok + "    base_url: https://user:" + secret + "@api.outx.ai\n", "4: senders[0].base_url: must not contain credentials"},
		"relative URL":          {ok + "    base_url: api.outx.ai\n", `4: senders[0].base_url: "api.outx.ai": must be an absolute http(s) URL`},
		"repeated field":        {ok + "    days: mon\n    days: tue\n", "5: senders[0].days: is given twice (first on line 4)"},
		"sender not a mapping":  {"senders:\n  - alice\n", "2: senders[0]: must be a mapping"},
	} {
		path := filepath.Join(dir, "senders.yaml")
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := senders.Load(path)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if want := path + ":" + tc.want; !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", name, err, want)
		}
		var fe *senders.FieldError
		if !errors.As(err, &fe) || fe.File != path || fe.Line == 0 {
			t.Errorf("%s: %v is not a *FieldError with a line", name, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the key is in the error: %v", name, err)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	path := writeFile(t, "senders.yaml", "senders:\n  - name: a\n    api_key: k\n    days: someday\n    hours: 9-5\n    daily_cap: -3\n")
	_, err := senders.Load(path)
	for _, field := range []string{":4: senders[0].days", ":5: senders[0].hours", ":6: senders[0].daily_cap"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not report %s", err, field)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	neg := -1
	err := senders.Limits{MinGap: "2m", MaxGap: "1m", Connect: senders.Caps{WeeklyCap: &neg}}.Validate()
	for _, want := range []string{"min_gap: min_gap 2m is longer than max_gap 1m", "connect.weekly_cap: must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
	if err := (senders.Limits{}).Validate(); err != nil {
		t.Errorf("empty limits (all defaults): %v", err)
	}
	if err := senders.DefaultLimits().Validate(); err != nil {
		t.Errorf("DefaultLimits: %v", err)
	}
}

func TestFromEnvAndAdd(t *testing.T) {
	env := senders.FromEnv(secret, "")
	a, ok := env.Get("")
	if !ok || a.Name != senders.Default || a.BaseURL != "https://api.outx.ai" || senders.Value(a.Limits.Message.DailyCap) != 40 {
		t.Fatalf("FromEnv = %v, %v", a, ok)
	}
	file := senders.Config{Accounts: []senders.Account{{Name: "alice", APIKey: "a"}}}
	merged, added := file.Add(a)
	if !added || strings.Join(merged.Names(), ",") != "alice,default" || len(file.Accounts) != 1 {
		t.Fatalf("Add to a file without default: %v, %v (file now %v)", merged.Names(), added, file.Names())
	}
	own := senders.Config{Accounts: []senders.Account{{Name: senders.Default, APIKey: "file-key"}}}
	kept, added := own.Add(a)
	if d, _ := kept.Get(""); added || d.APIKey != "file-key" {
		t.Fatalf("Add replaced the file's own default (added %v)", added)
	}
}

// TestAccountNeverPrintsKey: the usual ways of logging an account or a
// whole configuration leave the key out.
func TestAccountNeverPrintsKey(t *testing.T) {
	a := senders.FromEnv(secret, "http://127.0.0.1:1").Accounts[0]
	a.KeySource = "$OUTX_API_KEY"
	cfg := senders.Config{Accounts: []senders.Account{a}}

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, verb+"\n", a)
		fmt.Fprintf(&out, verb+"\n", cfg)
		fmt.Fprintf(&out, verb+"\n", &a)
		fmt.Fprintf(&out, verb+"\n", []senders.Account{a})
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(y)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("start", "sender", a, "config", cfg)
	slog.New(slog.NewTextHandler(&out, nil)).Info("start", "sender", a)
	for _, enc := range []zapcore.Encoder{
		zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
	} {
		log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&out), zap.DebugLevel))
		log.Info("start", zap.Any("sender", a), zap.Any("config", cfg), zap.Reflect("r", a), zap.Stringer("s", a), zap.Any("list", cfg.Accounts))
	}
	if strings.Contains(out.String(), secret) {
		t.Fatalf("the key was printed:\n%s", out.String())
	}
	for _, want := range []string{"sender default at http://127.0.0.1:1", `"name":"default"`, "key from $OUTX_API_KEY", "connect 10/h 20/day 100/week"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not show %q:\n%s", want, out.String())
		}
	}
}
