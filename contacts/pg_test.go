package contacts_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/pgtest"
)

// postgres returns the package's PostgreSQL server (pgtest.Shared),
// started on first use; each test takes a database of its own. A -short
// run without PostgreSQL installed skips its stores; any other run fails,
// naming `make test`, which installs it.
func postgres(t *testing.T) *pgtest.Server {
	t.Helper()
	pg, err := pgtest.Shared()
	if err != nil {
		if testing.Short() {
			t.Logf("PostgreSQL stores skipped in -short: %v", err)
			return nil
		}
		t.Fatalf("the PostgreSQL store's tests: %v", err)
	}
	return pg
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.CloseShared()
	os.Exit(code)
}

// TestUnavailableWhilePostgresIsDown: with the server stopped, every
// operation fails with ErrUnavailable (nothing is granted without the
// check); once it is back, the same Store works again.
func TestUnavailableWhilePostgresIsDown(t *testing.T) {
	pg := postgres(t)
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	ctx := t.Context()
	dsn := pg.NewDatabase(t)
	s := open(t, dsn)
	if v := claim(t, s, message("sales", "spring", jane)); !v.OK {
		t.Fatal(v)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			pg.Restart()
		}
	}()
	ops := map[string]func() error{
		"Claim": func() error { _, err := s.Claim(ctx, message("sales", "spring", john)); return err },
		"Check": func() error { _, err := s.Check(ctx, message("sales", "spring", john)); return err },
		"Finish": func() error {
			return s.Finish(ctx, contacts.Result{WorkflowID: "spring/" + jane, Action: contacts.ActionMessage, Outcome: "delivered"})
		},
		"History":   func() error { _, err := s.History(ctx, jane); return err },
		"AddDNC":    func() error { return s.AddDNC(ctx, contacts.DNCEntry{RecipientURN: john}) },
		"RemoveDNC": func() error { _, err := s.RemoveDNC(ctx, john); return err },
		"ListDNC":   func() error { return s.ListDNC(ctx, func(contacts.DNCEntry) error { return nil }) },
		"ImportDNC": func() error {
			_, err := s.ImportDNC(ctx, strings.NewReader(john+"\n"), contacts.ImportOptions{})
			return err
		},
		"Open": func() error {
			// A password never shows in an error.
			s, err := contacts.Open(ctx, strings.Replace(dsn, "postgres@", "postgres:hunter2@", 1))
			if err == nil {
				s.Close()
			}
			return err
		},
	}
	for name, op := range ops {
		err := op()
		if !errors.Is(err, contacts.ErrUnavailable) {
			t.Errorf("%s with the server down = %v, want ErrUnavailable", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the password shows: %v", name, err)
		}
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	// The same Store value, as a worker keeps it.
	v, err := s.Claim(ctx, message("sales", "summer", jane))
	if err != nil {
		t.Fatalf("Claim after the restart: %v", err)
	}
	if !v.Skipped {
		t.Fatalf("after the restart, jane's claim by spring is kept: %+v", v)
	}
}
