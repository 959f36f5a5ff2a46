package contacts

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// dsnRule is what a person is told when the store's setting is wrong.
const dsnRule = "the contacts store is a file path (SQLite) or a postgres:// or postgresql:// URL"

// SettingName names where the DSN comes from, for errors.
const SettingName = EnvDB + " (--contacts-db)"

// ErrBadDSN is wrapped by the error of a DSN that names no store outpace can
// open (a malformed URL, another database's URL).
var ErrBadDSN = errors.New("bad contacts store setting")

// target is a parsed DSN: which dialect, the driver's data source name,
// and how to name it for a person.
type target struct {
	postgres bool
	source   string // the driver's DSN
	display  string // the DSN with the password hidden
	password string // to scrub from drivers' errors
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

func parseDSN(dsn string) (target, error) {
	if dsn == "" {
		dsn = DefaultDB
	}
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url's error quotes the whole URL, password and all.
			return target{}, fmt.Errorf("%w: %s: not a valid URL (%s): %s", ErrBadDSN, SettingName, Redact(dsn), dsnRule)
		}
		t := target{postgres: true, source: dsn, display: u.Redacted()}
		if p, ok := u.User.Password(); ok {
			t.password = p
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return target{}, fmt.Errorf("%w: %s: %s names no host: %s", ErrBadDSN, SettingName, t.display, dsnRule)
		}
		return t, nil
	}
	if schemeRE.MatchString(dsn) {
		return target{}, fmt.Errorf("%w: %s: %s is a URL of a database outpace does not support: %s", ErrBadDSN, SettingName, Redact(dsn), dsnRule)
	}
	if strings.ContainsAny(dsn, "?#") || strings.ContainsRune(dsn, 0) {
		return target{}, fmt.Errorf("%w: %s: the SQLite file path %q must not contain '?', '#' or NUL: %s", ErrBadDSN, SettingName, dsn, dsnRule)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	return target{source: dsn + "?" + q.Encode(), display: "sqlite:" + dsn}, nil
}

// Redact hides the password of a postgres:// URL, for logs and errors;
// any other DSN is returned as it is.
func Redact(dsn string) string {
	lower := strings.ToLower(dsn)
	if !schemeRE.MatchString(dsn) {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	// Unparseable: hide everything between :// and the last @.
	i := strings.Index(lower, "://") + 3
	if at := strings.LastIndex(dsn, "@"); at > i {
		return dsn[:i] + "xxxxx" + dsn[at:]
	}
	return dsn
}

// unavailable is an error from the database: it wraps ErrUnavailable and
// the driver's error, with the operation and the store named.
type unavailable struct {
	op, store, password string
	err                 error
}

func (e *unavailable) Error() string {
	msg := fmt.Sprintf("%s (%s): %s: %v", ErrUnavailable, e.store, e.op, e.err)
	if e.password != "" {
		msg = strings.ReplaceAll(msg, e.password, "xxxxx")
	}
	return msg
}

func (e *unavailable) Unwrap() []error { return []error{ErrUnavailable, e.err} }
