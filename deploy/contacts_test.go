package deploy

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeContactsStore: the worker's contacts store is the "outpace"
// database of the stack's PostgreSQL, which the temporal-schema job creates;
// its password is the one .env gives PostgreSQL, passed as PGPASSWORD and
// never written in the URL; the starter (tools profile) uses the same store.
func TestComposeContactsStore(t *testing.T) {
	const password = "s3cret-from-env"
	dotenv := strings.Replace(envExample(t), "POSTGRES_PASSWORD=temporal", "POSTGRES_PASSWORD="+password, 1)
	if dotenv == envExample(t) {
		t.Fatal(".env.example does not set POSTGRES_PASSWORD=temporal")
	}
	p := load(t, dotenv, "tools")
	pg := service(t, p, "postgresql")
	w := service(t, p, "worker")

	dsn := env(w, "OUTPACE_CONTACTS_DB")
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("worker OUTPACE_CONTACTS_DB = %q: want a postgres:// URL (%v)", dsn, err)
	}
	if u.Hostname() != pg.Name || u.Port() != "5432" {
		t.Errorf("worker OUTPACE_CONTACTS_DB names %s, want the %s service at port 5432", u.Host, pg.Name)
	}
	if got := strings.TrimPrefix(u.Path, "/"); got != "outpace" {
		t.Errorf("worker OUTPACE_CONTACTS_DB names database %q, want outpace", got)
	}
	if u.User.Username() != env(pg, "POSTGRES_USER") {
		t.Errorf("worker OUTPACE_CONTACTS_DB user %q, PostgreSQL's is %q", u.User.Username(), env(pg, "POSTGRES_USER"))
	}
	if _, set := u.User.Password(); set || strings.Contains(dsn, password) {
		t.Errorf("worker OUTPACE_CONTACTS_DB = %q carries the password: it belongs in PGPASSWORD, where no URL shows it", dsn)
	}
	if got := env(w, "PGPASSWORD"); got != password || env(pg, "POSTGRES_PASSWORD") != password {
		t.Errorf("worker PGPASSWORD = %q, PostgreSQL's POSTGRES_PASSWORD = %q; want both from .env (%q)", got, env(pg, "POSTGRES_PASSWORD"), password)
	}

	starter, err := p.GetService("starter")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"OUTPACE_CONTACTS_DB", "PGPASSWORD"} {
		if env(starter, key) != env(w, key) {
			t.Errorf("starter %s = %q, the worker's is %q: `starter dnc` and `contacts show` must use the worker's store", key, env(starter, key), env(w, key))
		}
	}

	// The temporal-schema job creates the database, as it runs in the
	// admin-tools image: deploy/temporal/schema.sh with the job's
	// environment, temporal-sql-tool and nc stubbed to record their calls.
	job := service(t, p, "temporal-schema")
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	stub := "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> " + calls + "\n"
	for _, name := range []string{"temporal-sql-tool", "nc"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", filepath.Join(root(t), "deploy", "temporal", "schema.sh"))
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	for k, v := range job.Environment {
		if v != nil {
			cmd.Env = append(cmd.Env, k+"="+*v)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("schema.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := "--endpoint " + pg.Name + " --port 5432 --user " + env(pg, "POSTGRES_USER") + " --database outpace create"
	if !strings.Contains(string(b), want) {
		t.Errorf("schema.sh does not create the contacts store's database (want a call with %q); it ran:\n%s", want, b)
	}
	if strings.Contains(string(b), password) {
		t.Errorf("schema.sh passes the password on a command line:\n%s", b)
	}
}
