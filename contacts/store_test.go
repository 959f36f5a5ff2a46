package contacts_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
)

// backend is one kind of store the same tests run against.
type backend struct {
	name string
	// fresh returns the DSN of a new, empty store.
	fresh func(t *testing.T) string
}

// backends are SQLite in a temporary directory, and PostgreSQL (a
// database per test, on the package's one server) when it is installed.
func backends(t *testing.T) []backend {
	bs := []backend{{name: "sqlite", fresh: func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "contacts.db")
	}}}
	if pg := postgres(t); pg != nil {
		bs = append(bs, backend{name: "postgres", fresh: func(t *testing.T) string { return pg.NewDatabase(t) }})
	}
	return bs
}

// eachStore runs test on every backend with a fresh, open store.
func eachStore(t *testing.T, test func(t *testing.T, s contacts.Store, dsn string)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.fresh(t)
			test(t, open(t, dsn), dsn)
		})
	}
}

func open(t *testing.T, dsn string) contacts.Store {
	t.Helper()
	s, err := contacts.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	jane = "urn:li:person:ACoAAJane"
	john = "urn:li:person:ACoAAJohn"
)

var day0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// message is a campaign's message claim on urn.
func message(account, campaign, urn string) contacts.Claim {
	return contacts.Claim{
		Account: account, RecipientURN: urn, Action: contacts.ActionMessage, CampaignID: campaign,
		WorkflowID: campaign + "/" + urn, RunID: "run-1", At: day0,
	}
}

func claim(t *testing.T, s contacts.Store, c contacts.Claim) contacts.Verdict {
	t.Helper()
	v, err := s.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("Claim(%+v): %v", c, err)
	}
	// Check must agree with what Claim decided (its own claim now
	// granted again).
	got, err := s.Check(context.Background(), c)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got.OK != v.OK || got.Skipped != v.Skipped || got.Excluded != v.Excluded || (v.OK && got.ID != v.ID) {
		t.Fatalf("Check after Claim = %+v, Claim was %+v", got, v)
	}
	return v
}

func history(t *testing.T, s contacts.Store, person string) []contacts.Entry {
	t.Helper()
	es, err := s.History(context.Background(), person)
	if err != nil {
		t.Fatalf("History(%s): %v", person, err)
	}
	return es
}

func TestMigrateConcurrently(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.fresh(t)
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			stores := make([]contacts.Store, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					if i%2 == 0 {
						errs[i] = contacts.Migrate(context.Background(), dsn)
						return
					}
					stores[i], errs[i] = contacts.Open(context.Background(), dsn)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("opener %d: %v", i, err)
				}
				if stores[i] != nil {
					stores[i].Close()
				}
			}
			// The schema works for everyone.
			s := open(t, dsn)
			if v := claim(t, s, message("", "spring", jane)); !v.OK {
				t.Fatalf("claim on a fresh store: %+v", v)
			}
		})
	}
}

func TestClaimFinishAndRetry(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		c := message("sales", "spring", jane)
		c.Step = "hello"
		v := claim(t, s, c)
		if !v.OK || v.ID == 0 {
			t.Fatalf("first claim: %+v", v)
		}
		// The worker crashed between the claim and the POST: the retry
		// (a new run of the same workflow) is granted the same row.
		c.RunID = "run-2"
		c.At = day0.Add(time.Hour)
		again := claim(t, s, c)
		if !again.OK || again.ID != v.ID {
			t.Fatalf("retry: %+v, want OK with ID %d", again, v.ID)
		}
		res := contacts.Result{WorkflowID: c.WorkflowID, Action: c.Action, Step: "hello", TaskID: "task-1", Outcome: "delivered", At: day0.Add(2 * time.Hour)}
		for range 2 { // idempotent
			if err := s.Finish(ctx, res); err != nil {
				t.Fatal(err)
			}
		}
		// A result without a claim changes nothing.
		if err := s.Finish(ctx, contacts.Result{WorkflowID: "nobody", Action: contacts.ActionMessage, Outcome: "delivered"}); err != nil {
			t.Fatal(err)
		}
		es := history(t, s, jane)
		if len(es) != 1 {
			t.Fatalf("history: %+v", es)
		}
		e := es[0]
		want := contacts.Entry{ID: v.ID, Account: "sales", RecipientURN: jane, Action: contacts.ActionMessage, CampaignID: "spring", Step: "hello",
			WorkflowID: c.WorkflowID, RunID: "run-2", TaskID: "task-1", Outcome: "delivered", ClaimedAt: day0, FinishedAt: day0.Add(2 * time.Hour)}
		if e != want {
			t.Fatalf("entry:\n got %+v\nwant %+v", e, want)
		}
		// The default account is named.
		v = claim(t, s, message("", "autumn", john))
		if es := history(t, s, john); len(es) != 1 || es[0].Account != "default" || es[0].ID != v.ID {
			t.Fatalf("john's history: %+v", es)
		}
	})
}

func TestNoTaskReleasesThePerson(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		a := message("sales", "spring", jane)
		if v := claim(t, s, a); !v.OK {
			t.Fatal(v)
		}
		b := message("sales", "summer", jane)
		b.At = day0.Add(time.Hour)
		if v := claim(t, s, b); !v.Skipped {
			t.Fatalf("summer while spring's claim is live: %+v", v)
		}
		// OutX certainly created no task for spring: jane is free again.
		if err := s.Finish(ctx, contacts.Result{WorkflowID: a.WorkflowID, Action: a.Action, Outcome: "failed", Reason: "400", NoTask: true}); err != nil {
			t.Fatal(err)
		}
		v := claim(t, s, b)
		if !v.OK {
			t.Fatalf("summer after spring's NoTask: %+v", v)
		}
		// Spring's own row, released, is no longer its claim: summer holds
		// jane now.
		a.At = day0.Add(2 * time.Hour)
		if v := claim(t, s, a); !v.Skipped || v.Earlier.CampaignID != "summer" {
			t.Fatalf("spring again after summer's claim: %+v", v)
		}
		if err := s.Finish(ctx, contacts.Result{WorkflowID: b.WorkflowID, Action: b.Action, NoTask: true}); err != nil {
			t.Fatal(err)
		}
		// With both released, spring's own row is claimed afresh.
		again := claim(t, s, a)
		if !again.OK {
			t.Fatalf("spring once both released: %+v", again)
		}
		es := history(t, s, jane)
		if len(es) != 2 {
			t.Fatalf("history: %+v", es)
		}
		for _, e := range es {
			if e.CampaignID == "spring" && (e.NoTask || e.Outcome != "" || !e.ClaimedAt.Equal(a.At) || e.ID != again.ID) {
				t.Fatalf("spring's row taken again: %+v", e)
			}
		}
	})
}

func TestPolicy(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		first := message("sales", "spring", jane)
		if v := claim(t, s, first); !v.OK {
			t.Fatal(v)
		}
		later := func(account, campaign string, p contacts.Policy, after time.Duration) contacts.Claim {
			c := message(account, campaign, jane)
			c.Policy, c.At = p, day0.Add(after)
			return c
		}
		cases := []struct {
			name string
			c    contacts.Claim
			ok   bool
		}{
			{"same account, other campaign", later("sales", "summer", contacts.Policy{}, time.Hour), false},
			{"same account, other campaign, scope account", later("sales", "summer", contacts.Policy{Scope: contacts.ScopeAccount}, time.Hour), false},
			{"other account, scope account", later("ops", "summer", contacts.Policy{}, time.Hour), true},
			{"other account, scope all", later("ceo", "winter", contacts.Policy{Scope: contacts.ScopeAll}, time.Hour), false},
			{"allow", later("sales", "autumn", contacts.Policy{Scope: contacts.ScopeAllow}, time.Hour), true},
			{"after the default window", later("sales", "next-year", contacts.Policy{}, 91*24*time.Hour), true},
			{"within the default window", later("sales", "late", contacts.Policy{}, 89*24*time.Hour), false},
			{"after a short window", later("sales", "soon", contacts.Policy{Window: time.Hour}, 2*time.Hour), true},
			{"a single send is never refused", later("sales", "", contacts.Policy{}, time.Hour), true},
		}
		for _, tc := range cases {
			// Check only: each case on the store as the first claim left it.
			v, err := s.Check(context.Background(), tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK != tc.ok || v.Skipped == tc.ok {
				t.Errorf("%s: %+v, want OK %v", tc.name, v, tc.ok)
				continue
			}
			if v.Skipped {
				if v.Earlier == nil || v.Earlier.ID == 0 || v.Earlier.CampaignID != "spring" ||
					!strings.Contains(v.Reason, `campaign "spring"`) || !strings.Contains(v.Reason, `account "sales"`) || !strings.Contains(v.Reason, "2026-12-01") {
					t.Errorf("%s: %+v, Earlier %+v", tc.name, v, v.Earlier)
				}
			}
		}
		// Same campaign, another workflow (a sequence's connect, then its
		// message; a campaign started again) is never another campaign.
		connect := first
		connect.Action, connect.WorkflowID, connect.At = contacts.ActionConnect, "spring/rerun/"+jane, day0.Add(time.Hour)
		if v := claim(t, s, connect); !v.OK {
			t.Fatalf("spring's own connect: %+v", v)
		}
		// A single send counts for campaigns afterwards, and is named.
		single := contacts.Claim{Account: "ops", RecipientURN: john, Action: contacts.ActionMessage, WorkflowID: "send-1", At: day0}
		if v := claim(t, s, single); !v.OK {
			t.Fatal(v)
		}
		v := claim(t, s, later("ops", "summer", contacts.Policy{}, time.Hour))
		if !v.OK {
			t.Fatalf("ops/summer on jane: %+v", v)
		}
		c := message("ops", "summer", john)
		c.At = day0.Add(time.Hour)
		v = claim(t, s, c)
		if !v.Skipped || v.Earlier.WorkflowID != "send-1" || !strings.Contains(v.Reason, "a single send") {
			t.Fatalf("a campaign after a single send: %+v", v)
		}
		// Reads are only recorded, never refused.
		lookup := contacts.Claim{Account: "sales", RecipientURN: jane, Action: contacts.ActionLookup, CampaignID: "other", WorkflowID: "other/" + jane, At: day0.Add(time.Hour)}
		if v := claim(t, s, lookup); !v.OK || v.ID == 0 {
			t.Fatalf("lookup: %+v", v)
		}
	})
}

func TestDoNotContact(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		if err := s.AddDNC(ctx, contacts.DNCEntry{RecipientURN: jane, Reason: "customer"}); err != nil {
			t.Fatal(err)
		}
		v := claim(t, s, message("sales", "spring", jane))
		if !v.Excluded || v.OK || !strings.Contains(v.Reason, "customer") || !strings.Contains(v.Reason, jane) || v.DNC == nil {
			t.Fatalf("jane on the list: %+v", v)
		}
		if es := history(t, s, jane); len(es) != 0 {
			t.Fatalf("an excluded claim is recorded: %+v", es)
		}
		// Single sends and reads: a send is refused, a lookup is not.
		single := contacts.Claim{RecipientURN: jane, Action: contacts.ActionConnect, WorkflowID: "connect-1"}
		if v := claim(t, s, single); !v.Excluded {
			t.Fatalf("single connect: %+v", v)
		}
		if v := claim(t, s, contacts.Claim{RecipientURN: jane, Action: contacts.ActionCheck, WorkflowID: "check-1"}); !v.OK {
			t.Fatalf("connection check: %+v", v)
		}
		// The reason changes on a second add.
		if err := s.AddDNC(ctx, contacts.DNCEntry{RecipientURN: jane, Reason: "asked us to stop"}); err != nil {
			t.Fatal(err)
		}
		if v := claim(t, s, message("sales", "spring", jane)); !strings.Contains(v.Reason, "asked us to stop") {
			t.Fatalf("new reason: %+v", v)
		}

		// By slug: the claim carries the slug; the entry learns the URN.
		if err := s.AddDNC(ctx, contacts.DNCEntry{ProfileSlug: "https://www.linkedin.com/in/John-Doe-1/", Reason: "competitor"}); err != nil {
			t.Fatal(err)
		}
		c := message("sales", "spring", john)
		c.ProfileSlug = "john-doe-1"
		if v := claim(t, s, c); !v.Excluded || !strings.Contains(v.Reason, "competitor") {
			t.Fatalf("john by slug: %+v", v)
		}
		// Now the URN alone finds the entry.
		if v := claim(t, s, message("ops", "summer", john)); !v.Excluded {
			t.Fatalf("john by URN after his slug was seen: %+v", v)
		}
		list := dncList(t, s)
		if len(list) != 2 || list[1].RecipientURN != john || list[1].ProfileSlug != "john-doe-1" {
			t.Fatalf("list: %+v", list)
		}

		// A slug learnt from a lookup, then a claim by URN only.
		const ann = "urn:li:person:ACoAAAnn"
		if err := s.AddDNC(ctx, contacts.DNCEntry{ProfileSlug: "ann-lee", Reason: "partner"}); err != nil {
			t.Fatal(err)
		}
		if v := claim(t, s, message("sales", "spring", ann)); !v.OK {
			t.Fatalf("ann before her slug is known: %+v", v)
		}
		lookup := contacts.Claim{Account: "sales", RecipientURN: ann, ProfileSlug: "Ann-Lee", Action: contacts.ActionLookup, CampaignID: "summer", WorkflowID: "summer/ann-lee"}
		if v := claim(t, s, lookup); !v.OK {
			t.Fatalf("lookup: %+v", v)
		}
		if v := claim(t, s, message("sales", "summer", ann)); !v.Excluded || !strings.Contains(v.Reason, "partner") {
			t.Fatalf("ann by URN after a lookup: %+v", v)
		}
		// History by slug and by URL finds her actions by URN.
		for _, who := range []string{ann, "ann-lee", "https://linkedin.com/in/ann-lee"} {
			if es := history(t, s, who); len(es) != 2 {
				t.Fatalf("history of %s: %+v", who, es)
			}
		}

		// Removing by URN removes the entries by her slugs too.
		for _, who := range []string{ann, john, jane} {
			ok, err := s.RemoveDNC(ctx, who)
			if err != nil || !ok {
				t.Fatalf("RemoveDNC(%s) = %v, %v", who, ok, err)
			}
		}
		if ok, err := s.RemoveDNC(ctx, jane); ok || err != nil {
			t.Fatalf("RemoveDNC twice = %v, %v", ok, err)
		}
		if list := dncList(t, s); len(list) != 0 {
			t.Fatalf("list after removals: %+v", list)
		}
		if v := claim(t, s, message("sales", "summer", ann)); !v.Skipped {
			t.Fatalf("ann off the list, but spring contacted her: %+v", v)
		}
		// Bad entries.
		for _, e := range []contacts.DNCEntry{{}, {RecipientURN: "urn:li:company:1"}, {ProfileSlug: "a b"}, {ProfileSlug: "https://example.com/in/x"}} {
			if err := s.AddDNC(ctx, e); err == nil || errors.Is(err, contacts.ErrUnavailable) {
				t.Errorf("AddDNC(%+v) = %v", e, err)
			}
		}
	})
}

func dncList(t *testing.T, s contacts.Store) []contacts.DNCEntry {
	t.Helper()
	var es []contacts.DNCEntry
	if err := s.ListDNC(context.Background(), func(e contacts.DNCEntry) error { es = append(es, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

// TestRace: two workers (each its own connection pool) claim one person
// at once, for two campaigns of one account, and for two accounts with
// scope all; exactly one wins, every time.
func TestRace(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.fresh(t)
			workers := []contacts.Store{open(t, dsn), open(t, dsn)}
			const rounds = 40
			for round := range rounds {
				person := fmt.Sprintf("urn:li:person:race%d", round)
				claims := []contacts.Claim{message("sales", "spring", person), message("sales", "summer", person)}
				if round%2 == 1 {
					claims[1] = message("ops", "summer", person)
					for i := range claims {
						claims[i].Policy.Scope = contacts.ScopeAll
					}
				}
				var wg sync.WaitGroup
				verdicts := make([]contacts.Verdict, 2)
				errs := make([]error, 2)
				start := make(chan struct{})
				for i := range 2 {
					wg.Go(func() {
						<-start
						verdicts[i], errs[i] = workers[i].Claim(context.Background(), claims[i])
					})
				}
				close(start)
				wg.Wait()
				ok := 0
				for i, v := range verdicts {
					if errs[i] != nil {
						t.Fatalf("round %d: %v", round, errs[i])
					}
					if v.OK {
						ok++
					} else if !v.Skipped {
						t.Fatalf("round %d: %+v", round, v)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d claims won: %+v", round, ok, verdicts)
				}
			}
		})
	}
}

func TestImportDNC(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		// Lines: a BOM, CRLF, blank lines, a duplicate, a URL and a slug.
		lines := "\ufeffurn:li:person:A1\r\n\r\nurn:li:person:A2\r\nhttps://www.linkedin.com/in/Bob-B/\r\n  bob-b  \r\nurn:li:person:A1\r\ncarol\r\n"
		got, err := s.ImportDNC(ctx, strings.NewReader(lines), contacts.ImportOptions{Reason: "imported"})
		if err != nil {
			t.Fatal(err)
		}
		if want := (contacts.ImportResult{Entries: 6, Added: 4, Duplicates: 2}); got != want {
			t.Fatalf("lines: %+v, want %+v", got, want)
		}
		// CSV with a header (and other columns), reasons, quoting, one
		// already on the list.
		csv := "\ufeffName,recipient_urn,profile_url,Reason\r\nAnn,urn:li:person:A3,,\"customer, since 2020\"\r\nBo,,linkedin.com/in/dan,\r\nCy,urn:li:person:A1,,again\r\n"
		got, err = s.ImportDNC(ctx, strings.NewReader(csv), contacts.ImportOptions{Reason: "default reason"})
		if err != nil {
			t.Fatal(err)
		}
		if want := (contacts.ImportResult{Entries: 3, Added: 2, Duplicates: 1}); got != want {
			t.Fatalf("csv: %+v, want %+v", got, want)
		}
		reasons := map[string]string{}
		for _, e := range dncList(t, s) {
			reasons[e.RecipientURN+e.ProfileSlug] = e.Reason
		}
		want := map[string]string{"urn:li:person:A1": "imported", "urn:li:person:A2": "imported", "bob-b": "imported", "carol": "imported",
			"urn:li:person:A3": "customer, since 2020", "dan": "default reason"}
		if fmt.Sprint(reasons) != fmt.Sprint(want) {
			t.Fatalf("list:\n got %v\nwant %v", reasons, want)
		}

		// Bad lines: each named; nothing imported.
		bad := "person,reason\nurn:li:person:OK1,x\nurn:li:person:bad id,x\nhttps://example.com/in/x,\n,no one\nurn:li:person:OK2,\"unterminated\n"
		_, err = s.ImportDNC(ctx, strings.NewReader(bad), contacts.ImportOptions{})
		var ie *contacts.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("bad file: %v", err)
		}
		msg := err.Error()
		for _, w := range []string{"line 3: recipient_urn", "line 4: profile_url", "line 5: names no person", "line 6:", "nothing imported"} {
			if !strings.Contains(msg, w) {
				t.Errorf("error lacks %q:\n%s", w, msg)
			}
		}
		if len(dncList(t, s)) != 6 {
			t.Fatalf("a bad file imported something: %+v", dncList(t, s))
		}
		// Many bad lines: the first 20, then a count.
		var many strings.Builder
		for i := range 25 {
			fmt.Fprintf(&many, "urn:li:person:good%d\nnot a person %d\n", i, i)
		}
		_, err = s.ImportDNC(ctx, strings.NewReader(many.String()), contacts.ImportOptions{})
		if !errors.As(err, &ie) || len(ie.Problems) != 20 || ie.More != 5 || !strings.Contains(err.Error(), "line 2: profile_slug") ||
			!strings.Contains(err.Error(), "and 5 more") {
			t.Fatalf("25 bad lines: %v", err)
		}
		// A CSV first line without a person column.
		_, err = s.ImportDNC(ctx, strings.NewReader("name,email\nx,y\n"), contacts.ImportOptions{})
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "line 1: a CSV needs a header") {
			t.Fatalf("no person column: %v", err)
		}
		if len(dncList(t, s)) != 6 {
			t.Fatal("a bad file imported something")
		}

		// Export, then import into another store: the same list.
		var out bytes.Buffer
		if err := s.ExportDNC(ctx, &out); err != nil {
			t.Fatal(err)
		}
		other := open(t, filepath.Join(t.TempDir(), "other.db"))
		got, err = other.ImportDNC(ctx, &out, contacts.ImportOptions{})
		if err != nil || got.Added != 6 {
			t.Fatalf("re-import of the export: %+v, %v", got, err)
		}
		if a, b := fmt.Sprint(reasonsOf(dncList(t, s))), fmt.Sprint(reasonsOf(dncList(t, other))); a != b {
			t.Fatalf("export round trip:\n%s\n%s", a, b)
		}
	})
}

func reasonsOf(es []contacts.DNCEntry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		m[e.RecipientURN+"|"+e.ProfileSlug] = e.Reason
	}
	return m
}

func TestCheckManyWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		claim(t, s, message("sales", "spring", jane))
		if err := s.AddDNC(ctx, contacts.DNCEntry{RecipientURN: john, Reason: "customer"}); err != nil {
			t.Fatal(err)
		}
		const ann = "urn:li:person:ACoAAAnn"
		vs, err := s.CheckMany(ctx, []contacts.Claim{message("sales", "summer", jane), message("sales", "summer", john), message("sales", "summer", ann)})
		if err != nil {
			t.Fatal(err)
		}
		if !vs[0].Skipped || !vs[1].Excluded || !vs[2].OK || vs[2].ID != 0 {
			t.Fatalf("verdicts: %+v", vs)
		}
		if es := history(t, s, ann); len(es) != 0 {
			t.Fatalf("CheckMany wrote: %+v", es)
		}
	})
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"mysql://root:hunter2@db/outpace", "postgres://u:hunter2@[::1/outpace", "postgres:///outpace", "contacts.db?mode=ro"} {
		_, err := contacts.Open(ctx, dsn)
		if err == nil || !errors.Is(err, contacts.ErrBadDSN) || !strings.Contains(err.Error(), contacts.EnvDB) ||
			!strings.Contains(err.Error(), "--contacts-db") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%s) = %v", dsn, err)
		}
	}
	// A store that cannot be opened is a nil Store and ErrUnavailable.
	s, err := contacts.Open(ctx, filepath.Join(t.TempDir(), "no", "such", "folder", "contacts.db"))
	if s != nil || !errors.Is(err, contacts.ErrUnavailable) || !strings.Contains(err.Error(), "does its folder exist") {
		t.Errorf("Open in a missing folder = %v, %v", s, err)
	}
	if got := contacts.Redact("postgres://u:hunter2@db:5432/outpace?sslmode=disable"); strings.Contains(got, "hunter2") {
		t.Errorf("Redact = %s", got)
	}
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		for _, c := range []contacts.Claim{
			{Action: contacts.ActionMessage, WorkflowID: "w"},                      // no URN
			{RecipientURN: jane, WorkflowID: "w"},                                  // no action
			{RecipientURN: jane, Action: contacts.ActionMessage},                   // no workflow
			{ProfileSlug: "jane", Action: contacts.ActionConnect, WorkflowID: "w"}, // a contact needs the URN
			{RecipientURN: jane, Action: contacts.ActionMessage, WorkflowID: "w", Policy: contacts.Policy{Scope: "galaxy"}},
		} {
			if _, err := s.Claim(ctx, c); err == nil || errors.Is(err, contacts.ErrUnavailable) {
				t.Errorf("Claim(%+v) = %v", c, err)
			}
		}
		if _, err := s.History(ctx, "urn:li:fsd_profile:x y"); err == nil {
			t.Error("History of a bad URN")
		}
		if !strings.Contains(s.Describe(), "contacts") && !strings.Contains(s.Describe(), "postgres") {
			t.Errorf("Describe = %s", s.Describe())
		}
	})
}

// TestLookupLearnsTheSlug: a lookup by slug alone is recorded, never
// refused (even for a person on the list); once a lookup knows both, the
// person's history by URN, slug or URL holds every row.
func TestLookupLearnsTheSlug(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		if err := s.AddDNC(ctx, contacts.DNCEntry{ProfileSlug: "bo-k", Reason: "partner"}); err != nil {
			t.Fatal(err)
		}
		bySlug := contacts.Claim{ProfileSlug: "Bo-K", Action: contacts.ActionLookup, CampaignID: "spring", WorkflowID: "spring/bo-k/lookup", At: day0}
		if v := claim(t, s, bySlug); !v.OK || v.ID == 0 {
			t.Fatalf("lookup by slug: %+v", v)
		}
		const bo = "urn:li:person:ACoAABo"
		both := contacts.Claim{RecipientURN: bo, ProfileSlug: "bo-k", Action: contacts.ActionLookup, CampaignID: "summer", WorkflowID: "summer/bo-k/lookup", At: day0.Add(time.Hour)}
		if v := claim(t, s, both); !v.OK {
			t.Fatalf("lookup with both: %+v", v)
		}
		for _, who := range []string{bo, "bo-k", "https://www.linkedin.com/in/BO-K/"} {
			es := history(t, s, who)
			if len(es) != 2 || es[0].WorkflowID != bySlug.WorkflowID || es[1].WorkflowID != both.WorkflowID {
				t.Fatalf("history of %s: %+v", who, es)
			}
		}
		// The entry by slug now has the URN, and refuses a message by URN.
		if list := dncList(t, s); len(list) != 1 || list[0].RecipientURN != bo {
			t.Fatalf("list: %+v", list)
		}
		if v := claim(t, s, message("sales", "summer", bo)); !v.Excluded {
			t.Fatalf("message to bo: %+v", v)
		}
		// Removing by slug frees the URN.
		if ok, err := s.RemoveDNC(ctx, "linkedin.com/in/bo-k"); !ok || err != nil {
			t.Fatalf("RemoveDNC = %v, %v", ok, err)
		}
		if v := claim(t, s, message("sales", "summer", bo)); !v.OK {
			t.Fatalf("message to bo off the list: %+v", v)
		}
	})
}

func TestImportNamesTheColumnsRule(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		file := "recipient_urn,reason\r\nhttps://www.linkedin.com/in/ann/,x\r\nurn:li:fsd_profile:ACoAAx,y\r\nurn:li:person:ACoAAok,z\r\n"
		_, err := s.ImportDNC(context.Background(), strings.NewReader(file), contacts.ImportOptions{})
		var ie *contacts.ImportError
		if !errors.As(err, &ie) || len(ie.Problems) != 2 || ie.Problems[0].Line != 2 || ie.Problems[1].Line != 3 ||
			!strings.Contains(err.Error(), "profile URL") || !strings.Contains(err.Error(), "urn:li:person:<id>") {
			t.Fatalf("bad URNs: %v", err)
		}
		if len(dncList(t, s)) != 0 {
			t.Fatal("something was imported")
		}
		// A line too long for a person (a binary file, a file without line
		// breaks) is named, not read whole.
		long := "urn:li:person:ok1\n" + strings.Repeat("x", 1<<20) + "\nurn:li:person:ok2\n"
		_, err = s.ImportDNC(context.Background(), strings.NewReader(long), contacts.ImportOptions{})
		if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Line != 2 || !strings.Contains(err.Error(), "longer than") {
			t.Fatalf("a long line: %v", err)
		}
		// In a CSV too, where a quoted cell could run on.
		_, err = s.ImportDNC(context.Background(), strings.NewReader("person\n"+long), contacts.ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), "line 3: longer than") {
			t.Fatalf("a long line in a CSV: %v", err)
		}
		// An empty file, and one of blank lines: nothing, no error.
		for _, f := range []string{"", "\ufeff\r\n\r\n", "person\r\n"} {
			got, err := s.ImportDNC(context.Background(), strings.NewReader(f), contacts.ImportOptions{})
			if err != nil || got != (contacts.ImportResult{}) {
				t.Fatalf("import of %q: %+v, %v", f, got, err)
			}
		}
	})
}

// blockingReader yields its text, then blocks until release is closed.
type blockingReader struct {
	text    *strings.Reader
	release chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.text.Len() > 0 {
		return r.text.Read(p)
	}
	<-r.release
	return 0, io.EOF
}

// TestClaimDuringAnImport: a claim while an import holds the store (the
// same process's Store, or another's) ends by its deadline, granted or
// ErrUnavailable: it never hangs past it. Once the import is done, claims
// are granted.
func TestClaimDuringAnImport(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		ctx := context.Background()
		r := &blockingReader{text: strings.NewReader("urn:li:person:I1\nurn:li:person:I2\n"), release: make(chan struct{})}
		imported := make(chan error, 1)
		go func() { _, err := s.ImportDNC(ctx, r, contacts.ImportOptions{}); imported <- err }()
		time.Sleep(100 * time.Millisecond) // the import has begun
		other := open(t, dsn)
		for i, st := range []contacts.Store{s, other} {
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			t0 := time.Now()
			v, err := st.Claim(cctx, message("sales", "spring", fmt.Sprintf("urn:li:person:during%d", i)))
			cancel()
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("store %d: a claim during an import took %v", i, d)
			}
			if err != nil && !errors.Is(err, contacts.ErrUnavailable) || err == nil && !v.OK {
				t.Errorf("store %d: a claim during an import: %+v, %v", i, v, err)
			}
			t.Logf("store %d: %+v, %v", i, v, err)
		}
		close(r.release)
		if err := <-imported; err != nil {
			t.Fatal(err)
		}
		for i, st := range []contacts.Store{s, other} {
			if v := claim(t, st, message("sales", "spring", fmt.Sprintf("urn:li:person:after%d", i))); !v.OK {
				t.Fatalf("store %d after the import: %+v", i, v)
			}
		}
		if len(dncList(t, s)) != 2 {
			t.Fatalf("list: %+v", dncList(t, s))
		}
	})
}

// TestSchemaNewerThanThisOutpace: a store migrated by a newer outpace is
// refused, saying so, rather than used with a schema this one does not know.
func TestSchemaNewerThanThisOutpace(t *testing.T) {
	eachStore(t, func(t *testing.T, s contacts.Store, dsn string) {
		driver := "sqlite"
		if strings.HasPrefix(dsn, "postgres://") {
			driver = "pgx"
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (999, '0999_future.sql', 'later')`); err != nil {
			t.Fatal(err)
		}
		_, err = contacts.Open(context.Background(), dsn)
		if err == nil || !strings.Contains(err.Error(), "version 999") || !strings.Contains(err.Error(), "upgrade outpace") {
			t.Fatalf("Open of a newer schema: %v", err)
		}
	})
}
