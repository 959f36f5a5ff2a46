package contacts_test

import "testing"

// pgServer is the package's PostgreSQL (not wired yet).
type pgServer interface{ NewDatabase(t *testing.T) string }

func postgres(t *testing.T) pgServer { return nil }
