// Command contacts measures the contacts store (package contacts) on SQLite
// and on PostgreSQL, the figures issue 14 asks for:
//
//   - the do-not-contact import: a CSV of --entries people (URNs, profile
//     URLs, slugs, 1% repeated) into an empty store, its time, its rate and
//     the Go heap's peak while it runs (the file is never read whole);
//   - with that list and --ledger rows in the ledger (written in bulk, not
//     through the store: a year of a busy team's actions), the latency of
//     Claim (a first contact with a new person, and with a person who has
//     history, which the policy reads), Check and Finish, p50 and p99 over
//     --claims calls one after another, and CheckMany for a preview of
//     --preview rows;
//   - a big file, --big-mb MB (default 100) of URN lines with a BOM, CRLF
//     line ends and every 100th line a repeat, into another empty store:
//     first followed by one bad line (refused, nothing imported), then as
//     it is; the time, the entries, the Go heap's and the process's peak.
//
// PostgreSQL is a throwaway server (internal/pgtest) with its durable
// defaults (fsync, synchronous_commit on); SQLite is a file in a temporary
// directory, as the worker opens it (WAL, synchronous NORMAL).
//
//	go run ./bench/contacts                         # 1,000,000 entries and rows
//	go run ./bench/contacts --entries 100000 --ledger 100000 --claims 500 --big-mb 5
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/pgtest"
)

type config struct {
	entries, ledger, claims, preview int
	bigMB                            int
	stores                           []string
	keep                             bool
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	fs := flag.NewFlagSet("contacts", flag.ContinueOnError)
	fs.IntVar(&cfg.entries, "entries", 1_000_000, "do-not-contact entries to import")
	fs.IntVar(&cfg.ledger, "ledger", 1_000_000, "ledger rows before the claims are measured")
	fs.IntVar(&cfg.claims, "claims", 2000, "claims measured per kind (new person, person with history)")
	fs.IntVar(&cfg.preview, "preview", 10_000, "rows of the CheckMany preview")
	fs.IntVar(&cfg.bigMB, "big-mb", 100, "size of the big do-not-contact file, in MB (1,000,000 bytes); 0: not measured")
	stores := fs.String("stores", "sqlite,postgres", "the stores to measure, in order")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.stores = strings.Split(*stores, ",")
	if fs.NArg() > 0 || cfg.entries < 1 || cfg.ledger < 10 || cfg.claims < 10 || cfg.preview < 1 || cfg.bigMB < 0 {
		fmt.Fprintln(os.Stderr, "contacts: want positive --entries, --preview, at least 10 --ledger rows and --claims, --big-mb of 0 or more, and no arguments")
		return 2
	}
	for _, s := range cfg.stores {
		if s != "sqlite" && s != "postgres" {
			fmt.Fprintf(os.Stderr, "contacts: --stores: %q is not sqlite or postgres\n", s)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "contacts:", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	return 0
}

// result is one store's figures.
type result struct {
	store                         string
	importTime                    time.Duration
	imported                      contacts.ImportResult
	importHeap                    uint64
	fillTime                      time.Duration
	claimNew, claimKnown          []time.Duration
	skipped                       int
	check, finish                 []time.Duration
	previewTime                   time.Duration
	previewSkipped, previewDenied int
	big                           bigResult
}

// bigResult is the big file's import, with a bad last line and without.
type bigResult struct {
	badTime       time.Duration
	badErr        string // the error's text
	badLine       int    // the line it names
	badHeap       uint64
	badRSS        uint64
	badListed     int // entries on the list after the refused import
	goodTime      time.Duration
	good          contacts.ImportResult
	goodHeap      uint64
	goodRSS       uint64
	goodListed    int
	rssMeasurable bool
}

func bench(ctx context.Context, cfg config, out io.Writer) error {
	started := time.Now().UTC()
	dir, err := os.MkdirTemp("", "outpace-bench-contacts-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	file := filepath.Join(dir, "dnc.csv")
	size, err := writeDNCFile(file, cfg.entries)
	if err != nil {
		return err
	}
	var big bigFile
	if cfg.bigMB > 0 {
		big.path = filepath.Join(dir, "big-dnc.txt")
		if err := writeBigFile(&big, int64(cfg.bigMB)*1_000_000); err != nil {
			return err
		}
	}
	var results []result
	var pgVersion string
	for _, kind := range cfg.stores {
		fmt.Fprintf(os.Stderr, "%s: ", kind)
		var dsn, bigDSN string
		switch kind {
		case "sqlite":
			dsn = filepath.Join(dir, "contacts.db")
			bigDSN = filepath.Join(dir, "big.db")
		case "postgres":
			pg, err := pgtest.StartWith(ctx, pgtest.Options{Durable: true})
			if err != nil {
				return err
			}
			defer pg.Close()
			if dsn, err = pg.CreateDatabase(ctx, "outpace"); err != nil {
				return err
			}
			if cfg.bigMB > 0 {
				if bigDSN, err = pg.CreateDatabase(ctx, "outpace_big"); err != nil {
					return err
				}
			}
			pgVersion = serverVersion(ctx, dsn)
		}
		r, err := measure(ctx, cfg, kind, dsn, file)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		if cfg.bigMB > 0 {
			if r.big, err = measureBig(ctx, bigDSN, big); err != nil {
				return fmt.Errorf("%s: the big file: %w", kind, err)
			}
		}
		results = append(results, r)
		fmt.Fprintln(os.Stderr, "done")
	}
	report(out, cfg, started, size, big, pgVersion, results)
	return nil
}

func serverVersion(ctx context.Context, dsn string) string {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "?"
	}
	defer c.Close(ctx)
	var v string
	c.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v
}

// writeDNCFile writes a CSV of n people: 70% URNs, 20% profile URLs, 10%
// slugs, every 100th line repeating an earlier person; a reason on every
// third line.
func writeDNCFile(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, "person,reason\r\n")
	for i := range n {
		p := i
		if i%100 == 99 {
			p = i / 2
		}
		switch p % 10 {
		case 0, 1:
			fmt.Fprintf(w, "https://www.linkedin.com/in/person-%d/", p)
		case 2:
			fmt.Fprintf(w, "slug-%d", p)
		default:
			fmt.Fprintf(w, "urn:li:person:ACoAAdnc%08d", p)
		}
		if i%3 == 0 {
			fmt.Fprint(w, ",customer since 2024")
		}
		fmt.Fprint(w, "\r\n")
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

func measure(ctx context.Context, cfg config, kind, dsn, file string) (result, error) {
	r := result{store: kind}
	s, err := contacts.Open(ctx, dsn)
	if err != nil {
		return r, err
	}
	defer s.Close()

	// The import, with the Go heap's peak sampled while it runs.
	f, err := os.Open(file)
	if err != nil {
		return r, err
	}
	defer f.Close()
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	t0 := time.Now()
	r.imported, err = s.ImportDNC(ctx, f, contacts.ImportOptions{Reason: "imported"})
	r.importTime = time.Since(t0)
	close(done)
	wg.Wait()
	r.importHeap = peak.Load()
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "imported %d in %v; ", r.imported.Added, r.importTime.Round(time.Millisecond))

	// The ledger, in bulk.
	t0 = time.Now()
	if err := fillLedger(ctx, kind, dsn, cfg.ledger); err != nil {
		return r, fmt.Errorf("filling the ledger: %w", err)
	}
	r.fillTime = time.Since(t0)
	fmt.Fprintf(os.Stderr, "ledger of %d in %v; ", cfg.ledger, r.fillTime.Round(time.Millisecond))

	// Claims one after another, as one worker's activities make them:
	// alternately a new person and a person with history.
	people := cfg.ledger / rowsPerPerson
	now := time.Now().UTC()
	for j := range 2 * cfg.claims {
		c := contacts.Claim{Account: "acct-0", Action: contacts.ActionMessage, CampaignID: "bench", RunID: "r", At: now}
		known := j%2 == 1
		if known {
			c.RecipientURN = personURN((j * 7919) % people)
		} else {
			c.RecipientURN = fmt.Sprintf("urn:li:person:ACoAAnew%08d", j)
		}
		c.WorkflowID = "bench/" + c.RecipientURN
		t := time.Now()
		v, err := s.Claim(ctx, c)
		d := time.Since(t)
		if err != nil {
			return r, err
		}
		if known {
			r.claimKnown = append(r.claimKnown, d)
			if v.Skipped {
				r.skipped++
			}
		} else {
			r.claimNew = append(r.claimNew, d)
		}
		t = time.Now()
		if _, err := s.Check(ctx, c); err != nil {
			return r, err
		}
		r.check = append(r.check, time.Since(t))
		if v.OK {
			t = time.Now()
			if err := s.Finish(ctx, contacts.Result{WorkflowID: c.WorkflowID, Action: c.Action, TaskID: "task", Outcome: "delivered"}); err != nil {
				return r, err
			}
			r.finish = append(r.finish, time.Since(t))
		}
	}

	// A campaign's preview: half people with history, some on the list.
	cs := make([]contacts.Claim, cfg.preview)
	for j := range cs {
		urn := personURN((j * 104729) % people)
		switch j % 4 {
		case 1:
			urn = fmt.Sprintf("urn:li:person:ACoAAprev%08d", j)
		case 3:
			urn = fmt.Sprintf("urn:li:person:ACoAAdnc%08d", (j*31)%cfg.entries/10*10+3)
		}
		cs[j] = contacts.Claim{Account: "acct-1", RecipientURN: urn, Action: contacts.ActionMessage, CampaignID: "preview", WorkflowID: "preview/" + urn, At: now}
	}
	t0 = time.Now()
	vs, err := s.CheckMany(ctx, cs)
	r.previewTime = time.Since(t0)
	if err != nil {
		return r, err
	}
	for _, v := range vs {
		if v.Skipped {
			r.previewSkipped++
		}
		if v.Excluded {
			r.previewDenied++
		}
	}
	return r, nil
}

const rowsPerPerson = 4

func personURN(i int) string { return fmt.Sprintf("urn:li:person:ACoAAled%08d", i) }

// ledgerRow is the i-th bulk row: rowsPerPerson rows a person, 5
// accounts, 40 campaigns, a year of claims, mostly messages.
func ledgerRow(i, people int, now time.Time) (account, urn, action, campaign, wf string, claimed time.Time) {
	p := i % people
	account = fmt.Sprintf("acct-%d", (i/people)%5)
	campaign = fmt.Sprintf("camp-%d", (i*7)%40)
	action = "message"
	switch i % 10 {
	case 0:
		action = "connect"
	case 1:
		action = "lookup"
	}
	wf = fmt.Sprintf("%s/%d", campaign, i)
	claimed = now.Add(-time.Duration(i%365) * 24 * time.Hour).Add(-time.Duration(i%86400) * time.Second)
	return account, personURN(p), action, campaign, wf, claimed
}

// fillLedger writes n ledger rows beside the store (the store has no bulk
// write): SQLite by a prepared INSERT in one transaction, PostgreSQL by
// COPY; then statistics, as a long-lived database has them.
func fillLedger(ctx context.Context, kind, dsn string, n int) error {
	people := n / rowsPerPerson
	now := time.Now().UTC()
	if kind == "postgres" {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			account, urn, action, campaign, wf, claimed := ledgerRow(i, people, now)
			i++
			return []any{account, urn, action, campaign, wf, "run", "task", "delivered", false, claimed, claimed.Add(time.Minute)}, nil
		})
		cols := []string{"account", "recipient_urn", "action", "campaign_id", "workflow_id", "run_id", "task_id", "outcome", "no_task", "claimed_at", "finished_at"}
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"ledger"}, cols, src); err != nil {
			return err
		}
		_, err = c.Exec(ctx, "VACUUM ANALYZE")
		return err
	}
	db, err := sql.Open("sqlite", dsn+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO ledger (account, recipient_urn, action, campaign_id, workflow_id, run_id, task_id, outcome, no_task, claimed_at, finished_at)
		VALUES (?, ?, ?, ?, ?, 'run', 'task', 'delivered', 0, ?, ?)`)
	if err != nil {
		return err
	}
	for i := range n {
		account, urn, action, campaign, wf, claimed := ledgerRow(i, people, now)
		if _, err := stmt.ExecContext(ctx, account, urn, action, campaign, wf, claimed.UnixMicro(), claimed.Add(time.Minute).UnixMicro()); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "ANALYZE")
	return err
}

var _ = stdlib.GetDefaultDriver // the "pgx" driver for database/sql, as the store uses

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func lat(ds []time.Duration) string {
	return fmt.Sprintf("%s / %s", ms(percentile(ds, 0.5)), ms(percentile(ds, 0.99)))
}

// loadavg is the machine's load average over the last minute.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

var loadStart = loadavg()

func report(w io.Writer, cfg config, started time.Time, size int64, big bigFile, pgVersion string, rs []result) {
	fmt.Fprintf(w, "### Contacts store: %s\n\n", started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Command: `%s`\n\n", strings.TrimSpace("go run ./bench/contacts "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(w, "Machine: %d CPUs, %s/%s, %s. SQLite: modernc.org/sqlite (pure Go), a file in a temporary directory, WAL, synchronous NORMAL, as the worker opens it. PostgreSQL %s: a throwaway server (internal/pgtest) on 127.0.0.1 with its durable defaults (fsync and synchronous_commit on), through pgx's database/sql driver.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), pgVersion)
	fmt.Fprintf(w, "Do-not-contact file: a CSV (person,reason; CRLF) of %s people, %.1f MB: 70%% URNs, 20%% profile URLs, 10%% slugs, every 100th line a repeat. Ledger: %s rows written in bulk beside the store (%s people, 5 accounts, 40 campaigns, a year of claims), then ANALYZE. Claims: one after another, alternately a first contact with a new person (granted, then Finish) and one with a person who has history (the policy reads their rows; skipped when the same account reached them within 90 days); each followed by a Check of the same claim. Load average (1 min) at the start and the end: %s, %s.\n\n",
		thousands(cfg.entries), float64(size)/1e6, thousands(cfg.ledger), thousands(cfg.ledger/rowsPerPerson), loadStart, loadavg())
	if cfg.bigMB > 0 {
		fmt.Fprintf(w, "Big file (--big-mb %d), into another empty store: %.1f MB, a UTF-8 BOM then %s lines of one URN each with CRLF line ends, every 100th line a repeat of an earlier one (%s distinct people). It is imported first followed by one bad line (line %s, read as one stream with the file), which must be refused naming that line with nothing imported (the list is counted afterwards), then as it is. Peaks, sampled while each import runs: the Go heap's (HeapAlloc every 20 ms, garbage included) and the process's resident set (VmHWM, reset before each import; SQLite's page cache is in it, PostgreSQL's server is not).\n\n",
			cfg.bigMB, float64(big.size)/1e6, thousands(big.lines), thousands(big.distinct), thousands(big.lines+1))
	}
	fmt.Fprint(w, "| | "+strings.Join(names(rs), " | ")+" |\n|---|"+strings.Repeat("---|", len(rs))+"\n")
	row := func(name string, f func(r result) string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(w, " %s |", f(r))
		}
		fmt.Fprintln(w)
	}
	row(fmt.Sprintf("**DNC import, %s entries**", thousands(cfg.entries)), func(r result) string {
		return fmt.Sprintf("**%.1f s, %s entries/s**", r.importTime.Seconds(), thousands(int(float64(r.imported.Entries)/r.importTime.Seconds())))
	})
	row("… added / duplicates", func(r result) string {
		return fmt.Sprintf("%s / %s", thousands(r.imported.Added), thousands(r.imported.Duplicates))
	})
	row("… Go heap's peak during the import", func(r result) string { return fmt.Sprintf("%.0f MB", float64(r.importHeap)/1e6) })
	row(fmt.Sprintf("ledger fill, %s rows (bulk, not the store's path)", thousands(cfg.ledger)), func(r result) string { return fmt.Sprintf("%.1f s", r.fillTime.Seconds()) })
	row(fmt.Sprintf("**Claim, new person, p50 / p99** (n=%d)", cfg.claims), func(r result) string { return "**" + lat(r.claimNew) + "**" })
	row(fmt.Sprintf("**Claim, person with history, p50 / p99** (n=%d)", cfg.claims), func(r result) string {
		return fmt.Sprintf("**%s** (%d skipped)", lat(r.claimKnown), r.skipped)
	})
	row("Check, p50 / p99", func(r result) string { return lat(r.check) })
	row("Finish, p50 / p99", func(r result) string { return lat(r.finish) })
	row(fmt.Sprintf("CheckMany, a preview of %s rows", thousands(cfg.preview)), func(r result) string {
		return fmt.Sprintf("%.2f s (%.0f µs a row; %d skipped, %d excluded)", r.previewTime.Seconds(), float64(r.previewTime.Microseconds())/float64(cfg.preview), r.previewSkipped, r.previewDenied)
	})
	if cfg.bigMB > 0 {
		mb := func(v uint64) string { return fmt.Sprintf("%.0f MB", float64(v)/1e6) }
		rss := func(ok bool, v uint64) string {
			if !ok {
				return "?"
			}
			return mb(v)
		}
		row(fmt.Sprintf("**%d MB file, a bad last line** (%s lines)", cfg.bigMB, thousands(big.lines+1)), func(r result) string {
			b := r.big
			verdict := "**refused, nothing imported**"
			if b.badLine != big.lines+1 || b.badListed != 0 {
				verdict = fmt.Sprintf("**WRONG: line %d named, %d entries listed**", b.badLine, b.badListed)
			}
			return fmt.Sprintf("%s in %.1f s (line %s named; %d on the list after)", verdict, b.badTime.Seconds(), thousands(b.badLine), b.badListed)
		})
		row("… Go heap's / process's peak", func(r result) string { return mb(r.big.badHeap) + " / " + rss(r.big.rssMeasurable, r.big.badRSS) })
		row(fmt.Sprintf("**%d MB file, import**", cfg.bigMB), func(r result) string {
			return fmt.Sprintf("**%.1f s, %s entries/s**", r.big.goodTime.Seconds(), thousands(int(float64(r.big.good.Entries)/r.big.goodTime.Seconds())))
		})
		row("… entries / added / duplicates (listed after)", func(r result) string {
			g := r.big.good
			return fmt.Sprintf("%s / %s / %s (%s)", thousands(g.Entries), thousands(g.Added), thousands(g.Duplicates), thousands(r.big.goodListed))
		})
		row("… Go heap's / process's peak", func(r result) string { return mb(r.big.goodHeap) + " / " + rss(r.big.rssMeasurable, r.big.goodRSS) })
	}
	fmt.Fprintln(w)
}

// bigFile is the big do-not-contact file: lines URNs, distinct people.
type bigFile struct {
	path            string
	size            int64
	lines, distinct int
}

// badLine follows the big file in its bad variant.
const badLine = "urn:li:person:not one person\r\n"

// writeBigFile writes f.path: a BOM, then URN lines with CRLF until the
// file has at least size bytes, every 100th line repeating an earlier one.
func writeBigFile(f *bigFile, size int64) error {
	out, err := os.Create(f.path)
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	n, _ := w.WriteString("\ufeff")
	f.size = int64(n)
	for i := 0; f.size < size; i++ {
		p := i
		if i%100 == 99 {
			p = i - 50 // a line that is no repeat itself
		} else {
			f.distinct++
		}
		n, _ := fmt.Fprintf(w, "urn:li:person:ACoAAbig%08d\r\n", p)
		f.size += int64(n)
		f.lines++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Close()
}

// peaks samples the Go heap's peak every 20 ms until the returned func is
// called, which returns it and the process's peak resident set since the
// call (VmHWM, reset through /proc/self/clear_refs; ok false where that
// cannot be done).
func peaks() func() (heap, rss uint64, ok bool) {
	runtime.GC()
	ok := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return func() (uint64, uint64, bool) {
		close(done)
		wg.Wait()
		rss, err := vmHWM()
		return peak.Load(), rss, ok && err == nil
	}
}

// vmHWM is the process's peak resident set, in bytes.
func vmHWM() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// measureBig imports the big file into the empty store at dsn: first with
// a bad last line (refused: nothing may be imported), then as it is.
func measureBig(ctx context.Context, dsn string, big bigFile) (bigResult, error) {
	var r bigResult
	s, err := contacts.Open(ctx, dsn)
	if err != nil {
		return r, err
	}
	defer s.Close()
	listed := func() (int, error) {
		n := 0
		err := s.ListDNC(ctx, func(contacts.DNCEntry) error { n++; return nil })
		return n, err
	}

	f, err := os.Open(big.path)
	if err != nil {
		return r, err
	}
	defer f.Close()
	stop := peaks()
	t0 := time.Now()
	_, err = s.ImportDNC(ctx, io.MultiReader(f, strings.NewReader(badLine)), contacts.ImportOptions{Reason: "imported"})
	r.badTime = time.Since(t0)
	r.badHeap, r.badRSS, r.rssMeasurable = stop()
	var ie *contacts.ImportError
	if !errors.As(err, &ie) {
		return r, fmt.Errorf("the file with a bad last line: want an ImportError, got %v", err)
	}
	r.badErr = err.Error()
	r.badLine = ie.Problems[0].Line
	if r.badListed, err = listed(); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "big file with a bad line refused in %v; ", r.badTime.Round(time.Millisecond))

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return r, err
	}
	stop = peaks()
	t0 = time.Now()
	r.good, err = s.ImportDNC(ctx, f, contacts.ImportOptions{Reason: "imported"})
	r.goodTime = time.Since(t0)
	var ok bool
	r.goodHeap, r.goodRSS, ok = stop()
	r.rssMeasurable = r.rssMeasurable && ok
	if err != nil {
		return r, fmt.Errorf("the big file: %w", err)
	}
	if r.goodListed, err = listed(); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "big file imported (%d) in %v; ", r.good.Added, r.goodTime.Round(time.Millisecond))
	return r, nil
}

// thousands writes n as 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func names(rs []result) []string {
	var ns []string
	for _, r := range rs {
		n := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[r.store]
		ns = append(ns, n)
	}
	return ns
}
