package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/contacts"
)

// TestMigrate: worker migrate opens the store named by --contacts-db (or
// OUTPACE_CONTACTS_DB), which runs its migrations, and exits; it needs no
// OutX key and no Temporal.
func TestMigrate(t *testing.T) {
	t.Setenv("OUTX_API_KEY", "")
	dir := t.TempDir()
	db := filepath.Join(dir, "contacts.db")
	var out, errOut bytes.Buffer
	if code := run([]string{"migrate", "--contacts-db", db}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), db) {
		t.Errorf("output %q does not name the store", out.String())
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("no store file: %v", err)
	}
	store, err := contacts.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	_ = store.Close()

	envDB := filepath.Join(dir, "from-env.db")
	t.Setenv(contacts.EnvDB, envDB)
	out.Reset()
	if code := run([]string{"migrate"}, &out, &errOut); code != 0 {
		t.Fatalf("from %s: exit %d: %s", contacts.EnvDB, code, errOut.String())
	}
	if _, err := os.Stat(envDB); err != nil {
		t.Fatalf("%s not used: %v", contacts.EnvDB, err)
	}
}

// TestContactsStoreRefused: a store that cannot be opened stops the worker
// before it takes work, with an error that names the flag, and never the
// password of a postgres:// URL.
func TestContactsStoreRefused(t *testing.T) {
	for name, dsn := range map[string]string{
		"a directory that does not exist": filepath.Join(t.TempDir(), "no", "such", "dir", "c.db"),
		"postgres refusing connections":   "postgres://outpace:Sup3rSecretPw@127.0.0.1:1/outpace?sslmode=disable&connect_timeout=2",
	} {
		var out, errOut bytes.Buffer
		code := run([]string{"migrate", "--contacts-db", dsn}, &out, &errOut)
		msg := errOut.String()
		if code == 0 || !strings.Contains(msg, "--contacts-db") {
			t.Errorf("%s: exit %d, stderr %q: want a failure naming --contacts-db", name, code, msg)
		}
		if strings.Contains(msg, "Sup3rSecretPw") {
			t.Errorf("%s: the password shows: %s", name, msg)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(msg))
	}

	// The worker itself refuses to start the same way (before it dials
	// Temporal).
	t.Setenv("OUTX_API_KEY", "k")
	var out, errOut bytes.Buffer
	code := run([]string{"--skip-key-check", "--contacts-db", filepath.Join(t.TempDir(), "missing", "c.db")}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "--contacts-db") {
		t.Errorf("worker: exit %d, stderr %q", code, errOut.String())
	}
}
