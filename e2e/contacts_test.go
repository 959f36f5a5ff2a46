package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/internal/pgtest"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// The contacts store with the real binaries, on both of its databases: a
// SQLite file of the lane's own, and a database of its own on a real
// PostgreSQL server shared by the tests that do not stop it.

// sharedPostgres is the PostgreSQL server of this package's tests that
// do not stop it (pgtest.Shared, stopped by TestMain).
func sharedPostgres(t *testing.T) *pgtest.Server {
	t.Helper()
	pg, err := pgtest.Shared()
	if err != nil {
		t.Fatalf("PostgreSQL for the contacts store (make test installs it): %v", err)
	}
	return pg
}

// stores runs f once per database of the contacts store: "" (a SQLite
// file) and a fresh PostgreSQL database.
func stores(t *testing.T, f func(t *testing.T, name, store string)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			store := ""
			if name == "postgres" {
				store = sharedPostgres(t).NewDatabase(t)
			}
			f(t, name, store)
		})
	}
}

// TestDoNotContactAndOneCampaignPerPerson: a person on the do-not-contact
// list is never messaged and ends "excluded" with the list's reason; a
// person that one campaign messaged is skipped by the next campaign of the
// account, naming the first; contacts show lists what outpace did with
// them, after both.
func TestDoNotContactAndOneCampaignPerPerson(t *testing.T) {
	s := up(t)
	t.Parallel()
	stores(t, func(t *testing.T, name, store string) {
		l := s.laneWithStore(t, "e2e-dnc-"+name, sandboxOptions(), store)
		p := func(i int) string { return fmt.Sprintf("urn:li:person:ACoAAE2eDnc%s%d", name, i) }
		if r := l.run(t, "starter", "dnc", "add", p(1), "--reason", "a customer: never pitch"); r.code != 0 {
			t.Fatalf("dnc add: %s", r)
		}
		first, second := "e2e-dnc-first-"+name, "e2e-dnc-second-"+name
		csvA := writeCSV(t, "recipient_urn,first_name", p(1)+",Ann", p(2)+",Bo", p(3)+",Cy")
		if r := l.run(t, "starter", "campaign", "preview", "--id", first, "--csv", csvA, "--template", "Hi {{first_name}}", "--anytime"); r.code != 0 ||
			!strings.Contains(r.stdout+r.stderr, "exclude") {
			t.Errorf("preview: want it to say one row would be excluded\n%s", r)
		}
		if r := l.run(t, "starter", "campaign", "start", "--id", first, "--csv", csvA, "--template", "Hi {{first_name}}",
			"--anytime", "--min-gap", "0s", "--max-gap", "0s", "--watch"); r.code != 0 {
			t.Fatalf("campaign %s: %s", first, r)
		}
		rows := l.report(t, first, 3)
		if row := rows[p(1)]; row == nil || row[2] != "excluded" || !strings.Contains(row[3], "a customer: never pitch") {
			t.Errorf("%s in %s: %v; want excluded with the list's reason", p(1), first, row)
		}
		for _, u := range []string{p(2), p(3)} {
			if row := rows[u]; row == nil || row[2] != "delivered" {
				t.Errorf("%s in %s: %v; want delivered", u, first, row)
			}
		}

		// The second campaign of the account reaches p(2) again, and p(4).
		csvB := writeCSV(t, "recipient_urn,first_name", p(2)+",Bo", p(4)+",Di")
		if r := l.run(t, "starter", "campaign", "start", "--id", second, "--csv", csvB, "--template", "Hello {{first_name}}",
			"--anytime", "--min-gap", "0s", "--max-gap", "0s", "--watch"); r.code != 0 {
			t.Fatalf("campaign %s: %s", second, r)
		}
		rows = l.report(t, second, 2)
		if row := rows[p(2)]; row == nil || row[2] != "skipped" || !strings.Contains(row[3], first) {
			t.Errorf("%s in %s: %v; want skipped naming %s", p(2), second, row, first)
		}
		if row := rows[p(4)]; row == nil || row[2] != "delivered" {
			t.Errorf("%s in %s: %v; want delivered", p(4), second, row)
		}
		for u, want := range map[string]int{p(1): 0, p(2): 1, p(3): 1, p(4): 1} {
			if n := len(l.sandbox.TasksTo(u)); n != want {
				t.Errorf("%s got %d messages, want %d", u, n, want)
			}
		}
		r := l.run(t, "starter", "contacts", "show", p(2))
		if r.code != 0 || !strings.Contains(r.stdout, first) || !strings.Contains(r.stdout, "delivered") {
			t.Errorf("contacts show %s: want the message of %s, delivered\n%s", p(2), first, r)
		}
	})
}

// TestTwoAccountsRaceForOnePerson: two campaigns of two accounts, with the
// contact policy "all" (any account), started at the same moment over the
// same people: each person is contacted exactly once, by one of them, and
// the other campaign's row for them is skipped naming the winner.
func TestTwoAccountsRaceForOnePerson(t *testing.T) {
	s := up(t)
	t.Parallel()
	stores(t, func(t *testing.T, name, store string) {
		const people = 6
		opts := sandboxOptions()
		opts.TaskDelay = 100 * time.Millisecond
		r := newPaceRun(t, s, "e2e-race-"+name, opts, "senders:\n"+
			senderYAML("alice", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}")+
			senderYAML("bob", "api_key_env: OUTX_API_KEY", "0s", "0s", "{hourly_cap: 0, daily_cap: 0}"))
		if store != "" {
			r.restartWorker(contacts.EnvDB + "=" + store)
		}
		lines := []string{"recipient_urn,first_name"}
		var urns []string
		for i := range people {
			u := fmt.Sprintf("urn:li:person:ACoAAE2eRace%s%d", name, i)
			urns = append(urns, u)
			lines = append(lines, u+",P")
		}
		csvPath := writeCSV(t, lines...)
		ids := map[string]string{"alice": "e2e-race-alice-" + name, "bob": "e2e-race-bob-" + name}
		var wg sync.WaitGroup
		results := make(map[string]result, 2)
		var mu sync.Mutex
		for sender, id := range ids {
			wg.Go(func() {
				res := r.s.runWithEnv(t, "starter", r.env, "campaign", "start", "--task-queue", r.queue, "--sender", sender,
					"--id", id, "--csv", csvPath, "--template", "Hi from "+sender, "--contact-policy", "all",
					"--anytime", "--min-gap", "0s", "--max-gap", "0s", "--watch")
				mu.Lock()
				results[sender] = res
				mu.Unlock()
			})
		}
		wg.Wait()
		for sender, res := range results {
			if res.code != 0 {
				t.Fatalf("campaign of %s: %s", sender, res)
			}
		}
		report := func(id string) map[string][]string {
			return r.s.reportWithEnv(t, id, people, append(r.env, "OUTPACE_TASK_QUEUE="+r.queue))
		}
		a, b := report(ids["alice"]), report(ids["bob"])
		won := map[string]int{}
		for _, u := range urns {
			if n := len(r.sandbox.TasksTo(u)); n != 1 {
				t.Errorf("%s got %d messages, want exactly 1", u, n)
			}
			ra, rb := a[u], b[u]
			if ra == nil || rb == nil {
				t.Fatalf("%s missing from a report: alice %v, bob %v", u, ra, rb)
			}
			switch {
			case ra[2] == "delivered" && rb[2] == "skipped" && strings.Contains(rb[3], ids["alice"]):
				won["alice"]++
			case rb[2] == "delivered" && ra[2] == "skipped" && strings.Contains(ra[3], ids["bob"]):
				won["bob"]++
			default:
				t.Errorf("%s: alice's row %v, bob's %v; want one delivered and the other skipped naming it", u, ra, rb)
			}
		}
		t.Logf("%s: of %d people, alice's campaign reached %d and bob's %d", name, people, won["alice"], won["bob"])
	})
}

// TestSequenceStopsForANewDoNotContactEntry: a person added to the list
// after their connection request, while the sequence waits for the
// connection, is not messaged: the sequence ends excluded.
func TestSequenceStopsForANewDoNotContactEntry(t *testing.T) {
	s := up(t)
	t.Parallel()
	l := s.lane(t, "e2e-dnc-sequence", sandboxOptions())
	person := outxtest.Accepts + "-e2ednc"
	file := filepath.Join(t.TempDir(), "seq.yaml")
	writeFile(t, file, `name: DNC mid-sequence
id: e2e-dnc-sequence
`+anytime+`steps:
  - connect: "Hi {{first_name}}, shall we connect?"
  - wait_for_connection: {check_every: 10s, timeout: 5m}
  - message: "Thanks for connecting, {{first_name}}!"
`)
	if r := l.run(t, "starter", "campaign", "start", "--file", file, "--csv", writeCSV(t, "recipient_urn,first_name", person+",Ada")); r.code != 0 {
		t.Fatalf("campaign start: %s", r)
	}
	waitFor(t, time.Minute, func() bool { return len(l.sandbox.ConnectionRequestsTo(person)) == 1 },
		func() string {
			return fmt.Sprintf("connection requests: %d", len(l.sandbox.ConnectionRequestsTo(person)))
		})
	if r := l.run(t, "starter", "dnc", "add", person, "--reason", "asked us to stop"); r.code != 0 {
		t.Fatalf("dnc add: %s", r)
	}
	if _, err := l.finalProgress(t, "e2e-dnc-sequence", 90*time.Second); err != nil {
		t.Fatalf("campaign: %v", err)
	}
	if n := len(l.sandbox.TasksTo(person)); n != 0 {
		t.Errorf("%s got %d messages after being put on the list, want none", person, n)
	}
	r := l.run(t, "starter", "campaign", "report", "--id", "e2e-dnc-sequence")
	if r.code != 0 || !strings.Contains(r.stdout, "excluded") || !strings.Contains(r.stdout, "asked us to stop") {
		t.Errorf("report: want the sequence excluded with the list's reason\n%s", r)
	}
}
