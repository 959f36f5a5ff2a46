package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/outpacehq/outpace/contacts"
)

// contactsOpenTimeout bounds opening the store and running its migrations
// at start-up (a PostgreSQL server that does not answer).
const contactsOpenTimeout = time.Minute

// openContacts opens the contacts store, running its migrations. Its error
// names the flag and the store, never a password.
func openContacts(dsn string) (contacts.Store, error) {
	if dsn == "" {
		dsn = contacts.DefaultDB
	}
	ctx, cancel := context.WithTimeout(context.Background(), contactsOpenTimeout)
	defer cancel()
	store, err := contacts.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--contacts-db %s: cannot open the contacts store: %w (set --contacts-db or %s to a writable SQLite file path or a reachable postgres:// URL)",
			redactDSN(dsn), redactErr(err, dsn), contacts.EnvDB)
	}
	return store, nil
}

// redactDSN hides the password of a postgres:// URL.
func redactDSN(dsn string) string { return contacts.Redact(dsn) }

// redactErr scrubs the DSN's password from an error's text, should a
// driver's error quote the URL (the store scrubs its own errors too).
func redactErr(err error, dsn string) error {
	if err == nil || !strings.Contains(dsn, "://") {
		return err
	}
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, dsn, u.Redacted())
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	} else {
		msg = strings.ReplaceAll(msg, dsn, "(the contacts store's URL)")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
