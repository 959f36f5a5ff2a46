package senders

import (
	"github.com/outpacehq/outpace/pacer"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/pacing"
)

// Account is one OutX account (one API key, so one LinkedIn account) the
// worker acts for. Only the worker holds it: workflows name the account,
// never its key.
//
// Every way of printing an Account (fmt's verbs, slog, zap, JSON, YAML)
// leaves the key out, so that logging one cannot leak it.
type Account struct {
	Name    string
	APIKey  string
	BaseURL string
	Limits  Limits
	// KeySource says where the key was read from ("$OUTX_API_KEY_ALICE",
	// "file /run/secrets/alice", "senders.yaml:5"), for the start-up log.
	KeySource string
}

// publicAccount is what an Account shows of itself.
type publicAccount struct {
	Name      string `json:"name" yaml:"name"`
	BaseURL   string `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	KeySource string `json:"api_key_from,omitempty" yaml:"api_key_from,omitempty"`
	Limits    Limits `json:"limits" yaml:"limits"`
}

func (a Account) public() publicAccount {
	return publicAccount{Name: a.Name, BaseURL: a.BaseURL, KeySource: a.KeySource, Limits: a.Limits}
}

// String names the account, its API address and its limits, not its key.
func (a Account) String() string {
	s := "sender " + a.Name
	if a.BaseURL != "" {
		s += " at " + a.BaseURL
	}
	if a.KeySource != "" {
		s += ", key from " + a.KeySource
	}
	return s + ", limits: " + a.Limits.String()
}

// GoString is String: %#v must not print the key either.
func (a Account) GoString() string { return "senders.Account{" + a.String() + "}" }

// Format makes every fmt verb (%d and %x included, which would otherwise
// print the fields) print String.
func (a Account) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, a.GoString())
		return
	}
	_, _ = io.WriteString(f, a.String())
}

// LogValue is what slog logs of an account.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", a.Name),
		slog.String("base_url", a.BaseURL),
		slog.String("api_key_from", a.KeySource),
		slog.String("limits", a.Limits.String()),
	)
}

// MarshalJSON leaves the key out; zap's reflected fields go through it too.
func (a Account) MarshalJSON() ([]byte, error) { return json.Marshal(a.public()) }

// MarshalYAML leaves the key out.
func (a Account) MarshalYAML() (any, error) { return a.public(), nil }

// String summarises the limits in one line, for logs.
func (l Limits) String() string {
	d := l.WithDefaults()
	caps := func(c Caps) string {
		var parts []string
		for _, p := range []struct {
			n    *int
			unit string
		}{{c.HourlyCap, "/h"}, {c.DailyCap, "/day"}, {c.WeeklyCap, "/week"}} {
			if v := Value(p.n); v > 0 {
				parts = append(parts, fmt.Sprint(v, p.unit))
			}
		}
		if len(parts) == 0 {
			return "no cap"
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("%s %s %s, gap %s-%s, all actions %s, message %s, connect %s, lookup %s",
		d.Days, d.Hours, d.TimeZone, d.MinGap, d.MaxGap,
		caps(Caps{HourlyCap: d.HourlyCap, DailyCap: d.DailyCap}), caps(d.Message), caps(d.Connect), caps(d.Lookup))
}

// Config is the worker's sender accounts.
type Config struct {
	Accounts []Account
}

// Get returns the named account; an empty name is Default.
func (c Config) Get(name string) (Account, bool) {
	name = Or(name)
	for _, a := range c.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Names lists the accounts' names, sorted.
func (c Config) Names() []string {
	names := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}

// Add returns c with a added, unless c already has an account of that name
// (a file's own "default" wins over OUTX_API_KEY); added says which.
func (c Config) Add(a Account) (_ Config, added bool) {
	if _, ok := c.Get(a.Name); ok {
		return c, false
	}
	return Config{Accounts: append(slices.Clone(c.Accounts), a)}, true
}

// WithBaseURL fills the base URL of the accounts that have none: the
// worker's --outx-base-url, or OutX's production API when that is empty.
func (c Config) WithBaseURL(baseURL string) Config {
	if baseURL == "" {
		baseURL = outx.DefaultBaseURL
	}
	out := Config{Accounts: slices.Clone(c.Accounts)}
	for i := range out.Accounts {
		if out.Accounts[i].BaseURL == "" {
			out.Accounts[i].BaseURL = baseURL
		}
	}
	return out
}

// String lists the accounts, without their keys.
func (c Config) String() string {
	parts := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		parts[i] = a.String()
	}
	return "senders [" + strings.Join(parts, "; ") + "]"
}

// Format prints String for every verb, as Account does.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// FromEnv is the worker's configuration without a senders file: the one
// Default account, whose key is OUTX_API_KEY (or --outx-api-key-file), at
// baseURL (OutX's production API when empty), with the default limits.
func FromEnv(apiKey, baseURL string) Config {
	if baseURL == "" {
		baseURL = outx.DefaultBaseURL
	}
	return Config{Accounts: []Account{{Name: Default, APIKey: apiKey, BaseURL: baseURL, Limits: DefaultLimits()}}}
}

// MaxHourlyCap bounds every hourly cap: a value above it is a typo (OutX
// advises about 50 actions an hour).
const MaxHourlyCap = 1000

// FieldError is a setting that breaks a rule. Field is its path in the
// senders file ("senders[1].connect.weekly_cap"), or in Limits
// ("connect.weekly_cap"); File and Line are set when it comes from a file.
type FieldError struct {
	File  string
	Line  int
	Field string
	Rule  string
}

func (e *FieldError) Error() string {
	if e.File == "" {
		return e.Field + ": " + e.Rule
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Rule)
}

// Validate checks the limits that are set, naming each field as the senders
// file does ("min_gap", "connect.weekly_cap"). Unset fields take valid
// defaults.
func (l Limits) Validate() error {
	var errs []error
	for _, p := range l.problems() {
		errs = append(errs, &FieldError{Field: p.field, Rule: p.rule})
	}
	return errors.Join(errs...)
}

type problem struct{ field, rule string }

func (l Limits) problems() []problem {
	var ps []problem
	// Each window setting is checked on its own, so that every bad one is
	// reported, not only the first.
	for _, w := range []struct{ tz, days, hours, set string }{
		{l.TimeZone, "mon", "09:00-18:00", l.TimeZone},
		{"UTC", l.Days, "09:00-18:00", l.Days},
		{"UTC", "mon", l.Hours, l.Hours},
	} {
		if w.set == "" {
			continue
		}
		if _, err := pacing.ParseWindow(w.tz, w.days, w.hours); err != nil {
			var fe *pacing.FieldError
			if errors.As(err, &fe) {
				ps = append(ps, problem{fe.Field, fe.Rule})
			} else {
				ps = append(ps, problem{"time_zone", err.Error()})
			}
		}
	}
	d := l.WithDefaults()
	minGap, minOK := gap(&ps, "min_gap", l.MinGap)
	maxGap, maxOK := gap(&ps, "max_gap", l.MaxGap)
	if l.MinGap == "" {
		minGap, minOK = parseGap(d.MinGap)
	}
	if l.MaxGap == "" {
		maxGap, maxOK = parseGap(d.MaxGap)
	}
	if minOK && maxOK && minGap > maxGap {
		field := "min_gap"
		if l.MinGap == "" {
			field = "max_gap"
		}
		ps = append(ps, problem{field, fmt.Sprintf("min_gap %s is longer than max_gap %s", d.MinGap, d.MaxGap)})
	}
	capRule := func(field string, n *int, hourly bool) {
		switch {
		case n == nil:
		case *n < 0:
			ps = append(ps, problem{field, "must not be negative (0 means no cap)"})
		case hourly && *n > MaxHourlyCap:
			ps = append(ps, problem{field, fmt.Sprintf("%d is more than %d actions an hour: OutX advises about 50", *n, MaxHourlyCap)})
		}
	}
	capRule("hourly_cap", l.HourlyCap, true)
	capRule("daily_cap", l.DailyCap, false)
	capRule("pending_ceiling", l.PendingCeiling, false)
	if l.InvitationLimitPause != "" && l.InvitationLimitPause != "next_week" {
		if d, err := time.ParseDuration(l.InvitationLimitPause); err != nil || d <= 0 {
			ps = append(ps, problem{"invitation_limit_pause", fmt.Sprintf("%s: want next_week or a positive duration such as 24h", short(l.InvitationLimitPause))})
		}
	}
	if l.OfflinePause != "" {
		if d, err := time.ParseDuration(l.OfflinePause); err != nil || d <= 0 {
			ps = append(ps, problem{"offline_pause", fmt.Sprintf("%s: want a positive duration such as 30m", short(l.OfflinePause))})
		}
	}
	for _, a := range pacer.Actions {
		c := l.For(a)
		capRule(string(a)+".hourly_cap", c.HourlyCap, true)
		capRule(string(a)+".daily_cap", c.DailyCap, false)
		capRule(string(a)+".weekly_cap", c.WeeklyCap, false)
	}
	return ps
}

func parseGap(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// gap checks one gap setting, adding its problem to ps.
func gap(ps *[]problem, field, s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		*ps = append(*ps, problem{field, fmt.Sprintf("%q: want a duration such as 45s or 3m", s)})
		return 0, false
	case d < 0:
		*ps = append(*ps, problem{field, "must not be negative"})
		return 0, false
	}
	return d, true
}

// Load reads the worker's sender accounts from a YAML (or JSON) file:
//
//	senders:
//	  - name: alice
//	    api_key_env: OUTX_API_KEY_ALICE   # or api_key_file, or api_key
//	    base_url: https://api.outx.ai     # optional
//	    time_zone: Europe/Berlin
//	    days: mon-fri
//	    hours: "09:00-18:00"
//	    min_gap: 45s
//	    max_gap: 3m
//	    hourly_cap: 30
//	    daily_cap: 120
//	    message: {hourly_cap: 20, daily_cap: 40}
//	    connect: {hourly_cap: 10, daily_cap: 20, weekly_cap: 100}
//	    lookup:  {hourly_cap: 20, daily_cap: 80}
//
// It reads every key (from the environment variable or file named, which
// is resolved from the senders file's folder when relative), so that a
// missing one stops the worker at start-up, not at the account's first
// action. Errors are *FieldErrors naming the line and the field, joined;
// none contains a key. Accounts without base_url get it from WithBaseURL.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("senders file: %w", err)
	}
	l := loader{file: path, dir: filepath.Dir(path)}
	cfg := l.parse(data)
	if err := errors.Join(l.errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

type loader struct {
	file, dir string
	errs      []error
}

func (l *loader) fail(n *yaml.Node, field, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{File: l.file, Line: n.Line, Field: field, Rule: fmt.Sprintf(format, args...)})
}

func (l *loader) parse(data []byte) Config {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The YAML library's messages name a line, never a value.
		l.errs = append(l.errs, fmt.Errorf("%s: %v", l.file, err))
		return Config{}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errs = append(l.errs, &FieldError{File: l.file, Line: 1, Field: "senders", Rule: "the file is empty: want a senders: list"})
		return Config{}
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.fail(root, "senders", "the file must be a mapping with a senders: list")
		return Config{}
	}
	var list *yaml.Node
	l.fields(root, "", func(key, value *yaml.Node, field string) {
		if key.Value != "senders" {
			l.fail(key, field, "unknown field (the file has one field, senders)")
			return
		}
		list = value
	})
	switch {
	case list == nil:
		l.fail(root, "senders", "is required: a list of sender accounts")
		return Config{}
	case list.Kind != yaml.SequenceNode:
		l.fail(list, "senders", "must be a list of sender accounts")
		return Config{}
	case len(list.Content) == 0:
		l.fail(list, "senders", "lists no sender account")
		return Config{}
	}
	var cfg Config
	names := map[string]int{} // name -> line
	for i, item := range list.Content {
		a, ok := l.account(deref(item), fmt.Sprintf("senders[%d]", i))
		if !ok {
			continue
		}
		if line, dup := names[a.Name]; dup {
			l.fail(item, fmt.Sprintf("senders[%d].name", i), "%q is already the name of the sender on line %d", a.Name, line)
			continue
		}
		names[a.Name] = item.Line
		cfg.Accounts = append(cfg.Accounts, a)
	}
	return cfg
}

// fields calls f for each key of a mapping, refusing a key given twice.
func (l *loader) fields(m *yaml.Node, prefix string, f func(key, value *yaml.Node, field string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], deref(m.Content[i+1])
		field := key.Value
		if prefix != "" {
			field = prefix + "." + key.Value
		}
		if line, dup := seen[key.Value]; dup {
			l.fail(key, field, "is given twice (first on line %d)", line)
			continue
		}
		seen[key.Value] = key.Line
		f(key, value, field)
	}
}

var accountFields = []string{"name", "api_key_env", "api_key_file", "api_key", "base_url",
	"time_zone", "days", "hours", "min_gap", "max_gap", "hourly_cap", "daily_cap", "message", "connect", "lookup",
	"pending_ceiling", "invitation_limit_pause", "offline_pause"}

var capsFields = []string{"hourly_cap", "daily_cap", "weekly_cap", "warmup"}

// envName is an environment variable's name. A value that is not one may
// be a key pasted in the wrong field, so it is never quoted in an error.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) account(m *yaml.Node, prefix string) (Account, bool) {
	if m.Kind != yaml.MappingNode {
		l.fail(m, prefix, "must be a mapping with name, api_key_env (or api_key_file, api_key) and limits")
		return Account{}, false
	}
	before := len(l.errs)
	var a Account
	var keyNodes []*yaml.Node
	lines := map[string]int{} // limits field -> line, for Limits.problems
	var nameNode *yaml.Node
	l.fields(m, prefix, func(key, v *yaml.Node, field string) {
		switch k := key.Value; k {
		case "name":
			nameNode = v
			a.Name, _ = l.str(v, field)
		case "api_key_env", "api_key_file", "api_key":
			keyNodes = append(keyNodes, key)
		case "base_url":
			if s, ok := l.str(v, field); ok {
				a.BaseURL = l.baseURL(v, field, s)
			}
		case "time_zone", "days", "hours", "min_gap", "max_gap":
			lines[k] = v.Line
			s, _ := l.str(v, field)
			*map[string]*string{"time_zone": &a.Limits.TimeZone, "days": &a.Limits.Days, "hours": &a.Limits.Hours,
				"min_gap": &a.Limits.MinGap, "max_gap": &a.Limits.MaxGap}[k] = s
		case "hourly_cap":
			lines[k] = v.Line
			a.Limits.HourlyCap = l.cap(v, field)
		case "daily_cap":
			lines[k] = v.Line
			a.Limits.DailyCap = l.cap(v, field)
		case "message", "connect", "lookup":
			c := l.caps(v, field, k, lines)
			*map[string]*Caps{"message": &a.Limits.Message, "connect": &a.Limits.Connect, "lookup": &a.Limits.Lookup}[k] = c
		case "pending_ceiling":
			lines[k] = v.Line
			a.Limits.PendingCeiling = l.cap(v, field)
		case "invitation_limit_pause", "offline_pause":
			lines[k] = v.Line
			s, _ := l.str(v, field)
			*map[string]*string{"invitation_limit_pause": &a.Limits.InvitationLimitPause, "offline_pause": &a.Limits.OfflinePause}[k] = s
		default:
			l.fail(key, field, "unknown field (want %s)", strings.Join(accountFields, ", "))
		}
	})
	switch {
	case nameNode == nil:
		l.fail(m, prefix+".name", "is required")
	case a.Name != "" && !ValidName(a.Name):
		l.fail(nameNode, prefix+".name", "%s: must be 1 to 63 lowercase letters, digits, '_' or '-', starting with a letter or digit", short(a.Name))
	}
	a.APIKey, a.KeySource = l.key(m, prefix, keyNodes)
	if len(l.errs) == before { // limits of a sender already in error may be half read
		for _, p := range a.Limits.problems() {
			line, ok := lines[p.field]
			if !ok {
				line = m.Line
			}
			l.errs = append(l.errs, &FieldError{File: l.file, Line: line, Field: prefix + "." + p.field, Rule: p.rule})
		}
	}
	a.Limits = a.Limits.WithDefaults()
	return a, len(l.errs) == before
}

// key reads the account's API key from the one source given.
func (l *loader) key(m *yaml.Node, prefix string, keyNodes []*yaml.Node) (key, source string) {
	if len(keyNodes) == 0 {
		l.fail(m, prefix, "has no API key: set one of api_key_env, api_key_file or api_key")
		return "", ""
	}
	if len(keyNodes) > 1 {
		l.fail(keyNodes[1], prefix+"."+keyNodes[1].Value, "only one of api_key_env, api_key_file and api_key may be set (%s is set on line %d)", keyNodes[0].Value, keyNodes[0].Line)
		return "", ""
	}
	k := keyNodes[0]
	field := prefix + "." + k.Value
	v := deref(valueOf(m, k))
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		l.fail(v, field, "must be a single text value")
		return "", ""
	}
	switch k.Value {
	case "api_key_env":
		if !envName.MatchString(v.Value) {
			l.fail(v, field, "must name an environment variable (letters, digits and '_'), not hold the key")
			return "", ""
		}
		val, set := os.LookupEnv(v.Value)
		key = strings.TrimSpace(val)
		switch {
		case !set:
			l.fail(v, field, "environment variable %s is not set", v.Value)
		case key == "":
			l.fail(v, field, "environment variable %s is empty", v.Value)
		}
		return key, "$" + v.Value
	case "api_key_file":
		path := v.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(l.dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			l.fail(v, field, "cannot read %s: %v", path, err)
			return "", ""
		}
		key = strings.TrimSpace(string(b))
		if key == "" {
			l.fail(v, field, "%s is empty", path)
		}
		return key, "file " + path
	default: // api_key
		key = strings.TrimSpace(v.Value)
		if key == "" {
			l.fail(v, field, "is empty")
		}
		return key, fmt.Sprintf("%s:%d", l.file, v.Line)
	}
}

func valueOf(m, key *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i] == key {
			return m.Content[i+1]
		}
	}
	return key
}

func (l *loader) baseURL(v *yaml.Node, field, s string) string {
	u, err := url.Parse(s)
	switch {
	case err == nil && u.User != nil, err != nil && strings.Contains(s, "@"):
		l.fail(v, field, "must not contain credentials: the key goes in api_key_env, api_key_file or api_key")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		l.fail(v, field, "%s: must be an absolute http(s) URL such as %s", short(s), outx.DefaultBaseURL)
	default:
		return strings.TrimRight(s, "/")
	}
	return ""
}

// str reads a text setting. An empty one is refused: leaving the field
// out is how to take the default.
func (l *loader) str(v *yaml.Node, field string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		l.fail(v, field, "must be a single text value")
		return "", false
	}
	if strings.TrimSpace(v.Value) == "" {
		l.fail(v, field, "must not be empty (leave the field out to take the default)")
		return "", false
	}
	return v.Value, true
}

func (l *loader) cap(v *yaml.Node, field string) *int {
	var n int
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&n) != nil {
		l.fail(v, field, "must be a whole number (0 means no cap; leave the field out to take the default)")
		return nil
	}
	return &n
}

func (l *loader) caps(v *yaml.Node, field, action string, lines map[string]int) Caps {
	var c Caps
	if v.Kind != yaml.MappingNode {
		l.fail(v, field, "must be a mapping of %s", strings.Join(capsFields, ", "))
		return c
	}
	l.fields(v, field, func(key, v *yaml.Node, field string) {
		lines[action+"."+key.Value] = v.Line
		switch key.Value {
		case "hourly_cap":
			c.HourlyCap = l.cap(v, field)
		case "daily_cap":
			c.DailyCap = l.cap(v, field)
		case "weekly_cap":
			c.WeeklyCap = l.cap(v, field)
		case "warmup":
			c.Warmup = l.warmup(v, field)
		default:
			l.fail(key, field, "unknown field (want %s)", strings.Join(capsFields, ", "))
		}
	})
	return c
}

// warmup reads a daily cap's ramp: {start: N, step: M}.
func (l *loader) warmup(v *yaml.Node, field string) *Warmup {
	if v.Kind != yaml.MappingNode {
		l.fail(v, field, "must be a mapping of start (the daily cap on the first day) and step (added each sending day)")
		return nil
	}
	w := &Warmup{}
	seen := map[string]bool{}
	l.fields(v, field, func(key, v *yaml.Node, field string) {
		n := l.cap(v, field)
		switch key.Value {
		case "start":
			if n != nil {
				w.Start = *n
			}
		case "step":
			if n != nil {
				w.Step = *n
			}
		default:
			l.fail(key, field, "unknown field (want start, step)")
			return
		}
		seen[key.Value] = true
	})
	if !seen["start"] {
		l.fail(v, field+".start", "is required: the daily cap on the account's first sending day")
	} else if w.Start < 1 {
		l.fail(v, field+".start", "must be at least 1")
	}
	return w
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// short quotes a value for an error, cut so that a long one cannot flood it.
func short(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%q…", s[:60])
	}
	return fmt.Sprintf("%q", s)
}
