// Package contacts is outpace's ledger of people: every LinkedIn action it
// takes, with whom, from which account and campaign, and how it ended; the
// do-not-contact list; and the claim that keeps one person out of two
// campaigns. It outlives Temporal's retention.
//
// The store is a real database: SQLite in a file (a pure-Go driver, the
// embedded default) or PostgreSQL (pgx), for several workers. Open runs the
// versioned migrations, safely when several workers start at once.
//
// Workflows never touch it: the activities that already run write it (the
// claim before the POST, the outcome when the task's status is final), so a
// message costs no extra Temporal action.
package contacts

import (
	"context"
	"errors"
	"io"
	"time"
)

// EnvDB names the store for the worker and the starter: a file path
// (SQLite) or a postgres:// URL. DefaultDB is used when it is empty.
const (
	EnvDB     = "OUTPACE_CONTACTS_DB"
	DefaultDB = "outpace-contacts.db"
)

// Action is the kind of LinkedIn action a ledger row records (the pacer's
// action names: message, connect, lookup; and check for connection checks).
type Action string

const (
	ActionMessage Action = "message"
	ActionConnect Action = "connect"
	ActionLookup  Action = "lookup"
	ActionCheck   Action = "check"
)

// Contacting says whether an action reaches the person (a message or a
// connection request): only those are checked against the do-not-contact
// list and claimed; reads are only recorded.
func (a Action) Contacting() bool { return a == ActionMessage || a == ActionConnect }

// Scope of a contact policy.
const (
	// ScopeAccount: a person contacted by another campaign of the same
	// account within the window is skipped (the default).
	ScopeAccount = "account"
	// ScopeAll: ... by another campaign of any account.
	ScopeAll = "all"
	// ScopeAllow: no cross-campaign check (the do-not-contact list still
	// holds).
	ScopeAllow = "allow"
)

// DefaultWindow is the default policy's window.
const DefaultWindow = 90 * 24 * time.Hour

// Policy says which earlier contacts by other campaigns make a campaign
// skip a person. The zero value is the default: same account, 90 days.
type Policy struct {
	Scope  string        `json:"scope,omitempty"`  // ScopeAccount (""), ScopeAll, ScopeAllow
	Window time.Duration `json:"window,omitempty"` // 0: DefaultWindow
}

// Claim is one action about to be taken: written before the POST.
type Claim struct {
	Account      string // the sender account ("" is senders.Default)
	RecipientURN string
	ProfileSlug  string // when known
	Action       Action
	CampaignID   string // "" for a single send
	Step         string // a sequence step's name, "" otherwise
	// WorkflowID and RunID are the run taking the action: a claim already
	// held by the same workflow id and action (and step) is that run's own
	// (a retry after a crash between the claim and the POST) and is granted
	// again.
	WorkflowID string
	RunID      string
	Policy     Policy
	At         time.Time
}

// Verdict is the store's answer to a Claim.
type Verdict struct {
	// OK: the action may be taken; the claim is recorded (ledger row ID).
	OK bool
	ID int64
	// Excluded: the person is on the do-not-contact list (Reason says why
	// they were added, and the entry's key).
	Excluded bool
	// Skipped: another campaign contacted the person within the policy's
	// scope and window (Earlier names it).
	Skipped bool
	Reason  string
	Earlier *Entry
	// DNC is the do-not-contact entry that excluded the person.
	DNC *DNCEntry
}

// Result is how a claimed action ended. NoTask says OutX certainly created
// no task: the claim then no longer counts as a contact, so a later attempt
// is not refused.
type Result struct {
	WorkflowID string
	Action     Action
	Step       string
	TaskID     string
	Outcome    string // the workflow's outcome: delivered, failed, unknown...
	Reason     string
	NoTask     bool
	At         time.Time
}

// Entry is one ledger row.
type Entry struct {
	ID           int64     `json:"id"`
	Account      string    `json:"account"`
	RecipientURN string    `json:"recipient_urn"`
	ProfileSlug  string    `json:"profile_slug,omitempty"`
	Action       Action    `json:"action"`
	CampaignID   string    `json:"campaign_id,omitempty"`
	Step         string    `json:"step,omitempty"`
	WorkflowID   string    `json:"workflow_id"`
	RunID        string    `json:"run_id,omitempty"`
	TaskID       string    `json:"task_id,omitempty"`
	Outcome      string    `json:"outcome,omitempty"` // "" while the action is in flight
	Reason       string    `json:"reason,omitempty"`
	NoTask       bool      `json:"no_task,omitempty"`
	ClaimedAt    time.Time `json:"claimed_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
}

// DNCEntry is one do-not-contact entry: by URN, or by profile slug (from a
// profile URL) until an action on that person tells the store the URN.
type DNCEntry struct {
	RecipientURN string    `json:"recipient_urn,omitempty"`
	ProfileSlug  string    `json:"profile_slug,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	AddedAt      time.Time `json:"added_at"`
}

// ErrUnavailable wraps every error that comes from the database being
// unreachable or failing: the caller waits and tries again; no action is
// taken without the check.
var ErrUnavailable = errors.New("the contacts store is unavailable")

// Store is the contacts database.
type Store interface {
	// Claim checks the do-not-contact list and (for contacting actions)
	// the policy, and records the claim, in one transaction: two claims on
	// one person racing from two campaigns or accounts, exactly one wins.
	//
	// In order: a person on the list is Excluded (by URN, or by slug when
	// the claim carries it or the store has learnt it); a claim already
	// held by the same WorkflowID, Action and Step is granted again (the
	// same row, the new RunID); a campaign's claim on a person contacted
	// within the policy's window by another campaign (or a single send)
	// that did not end NoTask is Skipped; otherwise the row is written.
	// A claim without a campaign (a single send) is never Skipped, but
	// counts as an earlier contact for campaigns. Reads (lookup, check)
	// are only recorded, and a lookup that knows both the URN and the
	// slug teaches the store who the slug is. A contacting claim needs
	// RecipientURN.
	Claim(ctx context.Context, c Claim) (Verdict, error)
	// Finish records how a claimed action ended (idempotent). A result
	// without a claim (a run started before the store) changes nothing.
	Finish(ctx context.Context, r Result) error
	// Check answers what Claim would, without recording anything (for a
	// campaign's preview).
	Check(ctx context.Context, c Claim) (Verdict, error)
	// CheckMany is Check for many claims at once, on one connection: a
	// preview of a whole CSV. Verdicts are in the claims' order.
	CheckMany(ctx context.Context, cs []Claim) ([]Verdict, error)
	// History lists every action on a person (by URN, profile URL or
	// slug), oldest first.
	History(ctx context.Context, person string) ([]Entry, error)

	// AddDNC adds a person to the do-not-contact list by URN or slug (or
	// both), or changes the reason of their entry.
	AddDNC(ctx context.Context, e DNCEntry) error
	// RemoveDNC takes a person (URN, profile URL or slug) off the list,
	// with the entries the store knows are the same person's; false when
	// there was none.
	RemoveDNC(ctx context.Context, person string) (bool, error)
	// ListDNC calls fn for every entry, oldest first.
	ListDNC(ctx context.Context, fn func(DNCEntry) error) error
	// ImportDNC reads a file of entries (one person per line, or CSV with
	// a header), all or nothing: any bad line and nothing is imported,
	// and the error (an *ImportError) names the lines. The file is read
	// as a stream, never whole. On SQLite the import holds the write lock
	// while it runs (about 10 s for a million entries): claims meanwhile
	// wait, up to the busy timeout (10 s), then fail with ErrUnavailable
	// and are retried like any other.
	ImportDNC(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error)
	// ExportDNC writes the list as CSV (recipient_urn, profile_slug,
	// reason, added_at), which ImportDNC reads back.
	ExportDNC(ctx context.Context, w io.Writer) error

	// Describe names the store for a person (the kind and the file or
	// URL), with any password hidden.
	Describe() string
	Close() error
}

// Open opens (and migrates) the store that dsn names: a postgres:// or
// postgresql:// URL, or a file path for SQLite ("" is DefaultDB).
func Open(ctx context.Context, dsn string) (Store, error) {
	s, err := open(ctx, dsn)
	if err != nil {
		return nil, err // a nil Store, not a Store holding a nil *store
	}
	return s, nil
}

// Migrate brings the store's schema up to date (Open does it too), for
// `worker migrate`. Safe when several processes run it at once.
func Migrate(ctx context.Context, dsn string) error {
	s, err := open(ctx, dsn)
	if err != nil {
		return err
	}
	return s.Close()
}
