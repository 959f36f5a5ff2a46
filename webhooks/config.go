package webhooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvFile names the endpoints file when --webhooks-file is not given.
const EnvFile = "OUTPACE_WEBHOOKS_FILE"

// Endpoint is one receiver of events. Its secret is only in memory: every
// way of printing an Endpoint leaves it out.
type Endpoint struct {
	Name string
	URL  string
	// Secret signs every delivery; SecretSource says where it was read
	// from ("$OUTPACE_WEBHOOK_SECRET", "file /run/secrets/crm").
	Secret       []byte
	SecretSource string
	// Events, Accounts and Campaigns are names or globs (path.Match); an
	// empty list matches everything.
	Events    []string
	Accounts  []string
	Campaigns []string
}

// Matches says whether e goes to the endpoint. A campaigns filter selects
// campaigns: an event of no campaign (a single send, an account's wait)
// does not pass it.
func (ep Endpoint) Matches(e Event) bool {
	if !anyMatch(ep.Events, e.Type) || !anyMatch(ep.Accounts, e.Account) {
		return false
	}
	return len(ep.Campaigns) == 0 || (e.Campaign != "" && anyMatch(ep.Campaigns, e.Campaign))
}

func anyMatch(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// String names the endpoint, its URL and filters, not its secret.
func (ep Endpoint) String() string {
	s := "webhook " + ep.Name + " to " + ep.URL
	if ep.SecretSource != "" {
		s += ", secret from " + ep.SecretSource
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"events", ep.Events}, {"accounts", ep.Accounts}, {"campaigns", ep.Campaigns}} {
		if len(f.list) > 0 {
			s += ", " + f.name + " " + strings.Join(f.list, " ")
		}
	}
	return s
}

// GoString is String: %#v must not print the secret either.
func (ep Endpoint) GoString() string { return "webhooks.Endpoint{" + ep.String() + "}" }

// Format makes every fmt verb print String.
func (ep Endpoint) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, ep.String()) }

// LogValue is what slog logs of an endpoint.
func (ep Endpoint) LogValue() slog.Value { return slog.StringValue(ep.String()) }

// MarshalJSON leaves the secret out.
func (ep Endpoint) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", ep.String())), nil
}

// Config is the worker's endpoints; empty when it has no webhooks file,
// and then no event is written at all.
type Config struct {
	Endpoints []Endpoint
}

// Enabled says whether any endpoint is configured.
func (c Config) Enabled() bool { return len(c.Endpoints) > 0 }

// For lists the endpoints e goes to.
func (c Config) For(e Event) []Endpoint {
	var out []Endpoint
	for _, ep := range c.Endpoints {
		if ep.Matches(e) {
			out = append(out, ep)
		}
	}
	return out
}

// Get returns the named endpoint.
func (c Config) Get(name string) (Endpoint, bool) {
	for _, ep := range c.Endpoints {
		if ep.Name == name {
			return ep, true
		}
	}
	return Endpoint{}, false
}

// FieldError is a setting of the webhooks file that breaks a rule.
type FieldError struct {
	File  string
	Line  int
	Field string
	Rule  string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Rule)
}

// MinSecret is the shortest secret accepted: a short one can be guessed
// from signed bodies.
const MinSecret = 16

var nameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Load reads the endpoints from a YAML (or JSON) file:
//
//	webhooks:
//	  - name: crm
//	    url: https://hooks.example.com/outpace
//	    secret_env: OUTPACE_WEBHOOK_SECRET_CRM   # or secret_file: /run/secrets/crm
//	    events: [message.*, connection.accepted] # optional, default all
//	    accounts: [alice]                        # optional, default all
//	    campaigns: [spring-*]                    # optional, default all
//
// The secret is read now (a relative secret_file from the file's folder),
// so a missing one stops the worker at start-up. Errors are *FieldErrors,
// joined, each naming the line, the field and the rule; none contains a
// secret.
func Load(file string) (Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Config{}, fmt.Errorf("webhooks file: %w", err)
	}
	l := loader{file: file, dir: filepath.Dir(file)}
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

// rawEndpoint is one list item as written.
type rawEndpoint struct {
	Name       string   `yaml:"name"`
	URL        string   `yaml:"url"`
	Secret     string   `yaml:"secret"`
	SecretEnv  string   `yaml:"secret_env"`
	SecretFile string   `yaml:"secret_file"`
	Events     []string `yaml:"events"`
	Accounts   []string `yaml:"accounts"`
	Campaigns  []string `yaml:"campaigns"`
}

func (l *loader) parse(data []byte) Config {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %v", l.file, err))
		return Config{}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.errs = append(l.errs, &FieldError{File: l.file, Line: 1, Field: "webhooks", Rule: "the file must be a mapping with a webhooks: list"})
		return Config{}
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value != "webhooks" {
			l.fail(k, k.Value, "unknown field (the file has one field, webhooks)")
			continue
		}
		list = root.Content[i+1]
	}
	switch {
	case list == nil:
		l.fail(root, "webhooks", "is required: a list of endpoints")
		return Config{}
	case list.Kind != yaml.SequenceNode || len(list.Content) == 0:
		l.fail(list, "webhooks", "must be a list of at least one endpoint")
		return Config{}
	}
	var cfg Config
	names := map[string]int{}
	for i, item := range list.Content {
		ep, ok := l.endpoint(item, fmt.Sprintf("webhooks[%d]", i))
		if !ok {
			continue
		}
		if line, dup := names[ep.Name]; dup {
			l.fail(item, fmt.Sprintf("webhooks[%d].name", i), "%q is already the name of the endpoint on line %d", ep.Name, line)
			continue
		}
		names[ep.Name] = item.Line
		cfg.Endpoints = append(cfg.Endpoints, ep)
	}
	return cfg
}

func (l *loader) endpoint(n *yaml.Node, at string) (Endpoint, bool) {
	if n.Kind != yaml.MappingNode {
		l.fail(n, at, "must be a mapping with name, url and secret_env or secret_file")
		return Endpoint{}, false
	}
	var raw rawEndpoint
	var buf bytes.Buffer
	_ = yaml.NewEncoder(&buf).Encode(n)
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		// The library's message names the field and its line within
		// this item, never a value of another field.
		l.fail(n, at, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return Endpoint{}, false
	}
	before := len(l.errs)
	line := func(key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i]
			}
		}
		return n
	}
	ep := Endpoint{Name: raw.Name, URL: strings.TrimSpace(raw.URL), Events: raw.Events, Accounts: raw.Accounts, Campaigns: raw.Campaigns}
	switch {
	case raw.Name == "":
		l.fail(n, at+".name", "is required")
	case !nameRule.MatchString(raw.Name):
		l.fail(line("name"), at+".name", "%q: want lower-case letters, digits, - and _ (at most 63), as it names a workflow", raw.Name)
	}
	if ep.URL == "" {
		l.fail(n, at+".url", "is required")
	} else if u, err := url.Parse(ep.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.fail(line("url"), at+".url", "want an absolute http:// or https:// URL")
	} else if u.User != nil {
		l.fail(line("url"), at+".url", "must not carry credentials: the signature authenticates outpace")
	}
	switch {
	case raw.Secret != "":
		l.fail(line("secret"), at+".secret", "a secret is never written in the file: use secret_env or secret_file")
	case raw.SecretEnv != "" && raw.SecretFile != "":
		l.fail(line("secret_file"), at+".secret_file", "give secret_env or secret_file, not both")
	case raw.SecretEnv != "":
		v := os.Getenv(raw.SecretEnv)
		if v == "" {
			l.fail(line("secret_env"), at+".secret_env", "the variable %s is not set or empty", raw.SecretEnv)
		}
		ep.Secret, ep.SecretSource = []byte(v), "$"+raw.SecretEnv
	case raw.SecretFile != "":
		p := raw.SecretFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(l.dir, p)
		}
		b, err := os.ReadFile(p)
		v := strings.TrimRight(string(b), "\r\n")
		switch {
		case err != nil:
			l.fail(line("secret_file"), at+".secret_file", "cannot read %s: %v", p, errors.Unwrap(err))
		case strings.TrimSpace(v) == "":
			l.fail(line("secret_file"), at+".secret_file", "%s is empty", p)
		}
		ep.Secret, ep.SecretSource = []byte(v), "file "+p
	default:
		l.fail(n, at, "a secret is required: secret_env (a variable's name) or secret_file (a path)")
	}
	if len(ep.Secret) > 0 && len(ep.Secret) < MinSecret {
		field := "secret_file"
		if raw.SecretEnv != "" {
			field = "secret_env"
		}
		l.fail(line(field), at+"."+field, "the secret is %d bytes: want at least %d", len(ep.Secret), MinSecret)
	}
	for i, g := range raw.Events {
		if _, err := path.Match(g, ""); err != nil || !slices.ContainsFunc(Types, func(t string) bool { ok, _ := path.Match(g, t); return ok }) {
			l.fail(line("events"), fmt.Sprintf("%s.events[%d]", at, i), "%q matches no event type (known: %s)", g, strings.Join(Types, ", "))
		}
	}
	for _, f := range []struct {
		name  string
		globs []string
	}{{"accounts", raw.Accounts}, {"campaigns", raw.Campaigns}} {
		for i, g := range f.globs {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				l.fail(line(f.name), fmt.Sprintf("%s.%s[%d]", at, f.name, i), "%q is not a name or a glob such as spring-*", g)
			}
		}
	}
	return ep, len(l.errs) == before
}
