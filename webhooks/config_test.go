package webhooks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/webhooks"
)

const secret = "s3cr3t-value-of-thirty-two-bytes"

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Setenv("OUTPACE_TEST_SECRET", secret)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crm.secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "webhooks.yaml")
	if err := os.WriteFile(p, []byte(`webhooks:
  - name: crm
    url: https://crm.example.com/hooks/outpace
    secret_file: crm.secret
    events: [message.*, connection.accepted]
    accounts: [alice]
    campaigns: [spring-*]
  - name: n8n
    url: http://127.0.0.1:5678/webhook/outpace
    secret_env: OUTPACE_TEST_SECRET
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := webhooks.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Endpoints) != 2 {
		t.Fatalf("endpoints: %v", cfg)
	}
	crm, _ := cfg.Get("crm")
	if string(crm.Secret) != secret || string(cfg.Endpoints[1].Secret) != secret {
		t.Fatal("secrets not read")
	}
	for _, s := range []string{fmt.Sprint(crm), fmt.Sprintf("%#v %+v %x %s", crm, crm, crm, crm)} {
		if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Fatalf("printing an endpoint shows its secret: %s", s)
		}
	}
	for _, c := range []struct {
		e    webhooks.Event
		want []string
	}{
		{webhooks.Event{Type: webhooks.MessageDelivered, Account: "alice", Campaign: "spring-launch"}, []string{"crm", "n8n"}},
		{webhooks.Event{Type: webhooks.MessageDelivered, Account: "bob", Campaign: "spring-launch"}, []string{"n8n"}},
		{webhooks.Event{Type: webhooks.MessageDelivered, Account: "alice"}, []string{"n8n"}},
		{webhooks.Event{Type: webhooks.CampaignStarted, Account: "alice", Campaign: "spring-launch"}, []string{"n8n"}},
	} {
		var got []string
		for _, ep := range cfg.For(c.e) {
			got = append(got, ep.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%+v goes to %v, want %v", c.e, got, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Setenv("OUTPACE_TEST_SECRET", secret)
	t.Setenv("OUTPACE_TEST_SHORT", "short")
	for _, c := range []struct{ name, yaml, want string }{
		{"empty", ``, "webhooks: the file must be a mapping with a webhooks: list"},
		{"unknown top field", "hooks: []\n", "1: hooks: unknown field"},
		{"empty list", "webhooks: []\n", "webhooks: must be a list of at least one endpoint"},
		{"no name", "webhooks:\n  - url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n", "webhooks[0].name: is required"},
		{"bad name", "webhooks:\n  - name: My CRM\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n", `webhooks[0].name: "My CRM": want lower-case`},
		{"duplicate name", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n  - name: a\n    url: https://y.example\n    secret_env: OUTPACE_TEST_SECRET\n", `webhooks[1].name: "a" is already the name of the endpoint on line 2`},
		{"no url", "webhooks:\n  - name: a\n    secret_env: OUTPACE_TEST_SECRET\n", "webhooks[0].url: is required"},
		{"bad url", "webhooks:\n  - name: a\n    url: ftp://x.example\n    secret_env: OUTPACE_TEST_SECRET\n", "3: webhooks[0].url: want an absolute http:// or https:// URL"},
		{"url with credentials", "webhooks:\n  - name: a\n    url: https://u:p@x.example\n    secret_env: OUTPACE_TEST_SECRET\n", "webhooks[0].url: must not carry credentials"},
		{"inline secret", "webhooks:\n  - name: a\n    url: https://x.example\n    secret: abcdefghijklmnopqrstu\n", "4: webhooks[0].secret: a secret is never written in the file"},
		{"no secret", "webhooks:\n  - name: a\n    url: https://x.example\n", "webhooks[0]: a secret is required"},
		{"both secrets", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n    secret_file: s\n", "webhooks[0].secret_file: give secret_env or secret_file, not both"},
		{"unset variable", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_UNSET\n", "webhooks[0].secret_env: the variable OUTPACE_TEST_UNSET is not set or empty"},
		{"short secret", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SHORT\n", "webhooks[0].secret_env: the secret is 5 bytes: want at least 16"},
		{"missing file", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_file: nowhere.secret\n", "webhooks[0].secret_file: cannot read"},
		{"unknown event", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n    events: [message.sent]\n", `webhooks[0].events[0]: "message.sent" matches no event type`},
		{"bad glob", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n    campaigns: [\"[\"]\n", `webhooks[0].campaigns[0]: "[" is not a name or a glob`},
		{"unknown field", "webhooks:\n  - name: a\n    url: https://x.example\n    secret_env: OUTPACE_TEST_SECRET\n    retries: 3\n", "field retries not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := webhooks.Load(writeFile(t, "webhooks.yaml", c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "abcdefghijklmnopqrstu") {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}
