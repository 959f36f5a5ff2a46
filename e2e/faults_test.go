package e2e

// The fault suite: campaigns run through worker crashes, a Temporal server
// restart and a misbehaving OutX, and each ends with nobody messaged twice,
// nobody lost, the counts adding up, and every unknown outcome explained by
// a fault the suite injected. It prints a table of what it did and saw.
//
// `go test ./e2e` (and so `make test`) runs the short form; `make faults`
// (OUTPACE_FAULTS=full) runs the long one: 200 recipients a scenario, 10
// worker kills. OUTPACE_FAULTS_SEED repeats a run's random moments.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/internal/pgtest"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/workflows"
)

// faultForm sizes the suite.
type faultForm struct {
	name        string
	recipients  int
	kills       int
	killInSend  bool            // one more kill, while a send is in flight
	restarts    []time.Duration // how long the server stays down, per restart
	storeDowns  []time.Duration // how long the contacts store's PostgreSQL stays down, per stop
	outxFaults  func(r *faultRun, rng *rand.Rand) []faultStep
	offline     time.Duration // how long the extension is away
	waitTimeout time.Duration
}

const (
	shortOffline = 3 * time.Second
	fullOffline  = 30 * time.Second
)

var (
	shortFaults = faultForm{
		name: "short", recipients: 20, kills: 1, killInSend: true,
		restarts:   []time.Duration{5 * time.Second},
		storeDowns: []time.Duration{5 * time.Second},
		outxFaults: shortOutXFaults, offline: shortOffline,
		waitTimeout: 6 * time.Minute,
	}
	fullFaults = faultForm{
		name: "full", recipients: 200, kills: 10, killInSend: true,
		restarts:   []time.Duration{5 * time.Second, 30 * time.Second},
		storeDowns: []time.Duration{5 * time.Second, 30 * time.Second},
		outxFaults: fullOutXFaults, offline: fullOffline,
		waitTimeout: 30 * time.Minute,
	}
)

func TestFaults(t *testing.T) {
	s := up(t)
	t.Parallel()
	form := shortFaults
	if faultsFull() {
		form = fullFaults
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("OUTPACE_FAULTS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("OUTPACE_FAULTS_SEED: want a number, got %q", v)
		}
	}
	t.Logf("fault suite, %s form, OUTPACE_FAULTS_SEED=%d", form.name, seed)

	var table faultTable
	scenarios := []struct {
		name string
		run  func(*testing.T, *stack, faultForm, *rand.Rand) faultRow
	}{
		{"worker-kills", faultsWorkerKills},
		{"server-restart", faultsServerRestart},
		{"outx-faults", faultsOutX},
		{"store-down", faultsStoreDown},
	}
	t.Run("scenarios", func(t *testing.T) {
		for i, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				table.add(sc.run(t, s, form, rand.New(rand.NewPCG(seed, uint64(i)))))
			})
		}
	})
	t.Logf("fault suite, %s form (OUTPACE_FAULTS_SEED=%d):\n%s", form.name, seed, table.String())
}

// jitter is a random duration in [0, d).
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(d)))
}

// faultsWorkerKills kills the worker with SIGKILL at random moments spread
// over the campaign, and starts a new one each time.
func faultsWorkerKills(t *testing.T, s *stack, form faultForm, rng *rand.Rand) faultRow {
	r := newFaultRun(t, s, "worker-kills", false)
	r.startWorker()
	started := time.Now()
	r.startCampaign(form.recipients)
	for i := range form.kills {
		// Spread the kills over the campaign; within a recipient's cycle
		// (spacing, send, polls) the moment is random.
		r.waitDone((i+1)*form.recipients/(form.kills+2), form.waitTimeout)
		time.Sleep(jitter(rng, 1500*time.Millisecond))
		r.killWorker()
		time.Sleep(jitter(rng, time.Second))
		r.startWorker()
	}
	faults := fmt.Sprintf("%d× SIGKILL of the worker at random moments, each restarted", form.kills)
	inSend := ""
	if form.killInSend {
		// One more kill, certainly while a send is in flight: OutX answers
		// it after 3s, by when the worker is gone. That recipient must end
		// unknown (a task may exist), never sent again.
		r.waitDone((form.kills+1)*form.recipients/(form.kills+2), form.waitTimeout)
		r.sandbox.Inject(outxtest.Fault{Path: outx.PathSendMessage, LatencyMS: 3000, Times: 1})
		deadline := time.Now().Add(form.waitTimeout)
		for inSend = r.wire.sendInFlight(); inSend == ""; inSend = r.wire.sendInFlight() {
			if time.Now().After(deadline) {
				t.Fatal("worker-kills: no send came to kill the worker during")
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		r.killWorker()
		r.startWorker()
		faults += ", and 1× during a send"
	}
	row := r.verify(faults, started, form.waitTimeout)
	if inSend != "" && (r.outcomes[inSend] != string(workflows.Unknown) || len(r.sandbox.TasksTo(inSend)) != 1) {
		t.Errorf("worker-kills: %s, whose send was in flight when the worker was killed: outcome %q and %d tasks; want unknown, and the one task never sent again",
			inSend, r.outcomes[inSend], len(r.sandbox.TasksTo(inSend)))
	}
	return row
}

// faultsServerRestart stops the Temporal server (a dev server persisting to
// a file, on a fixed port) mid-campaign and starts it again. The worker is
// not restarted: it must reconnect by itself.
func faultsServerRestart(t *testing.T, s *stack, form faultForm, rng *rand.Rand) faultRow {
	r := newFaultRun(t, s, "server-restart", true)
	r.startWorker()
	worker, started := r.worker, time.Now()
	r.startCampaign(form.recipients)
	r.downs = r.outages("the server", form.restarts, form, rng, r.stopServer, r.startServer)
	return r.verifyOutages("stop and restart of the Temporal server", r.downs, worker, started, form)
}

// faultsStoreDown stops the contacts store's PostgreSQL server mid-campaign
// and starts it again: no message is sent without its check, so the
// campaign waits and then goes on, and the worker is not restarted.
func faultsStoreDown(t *testing.T, s *stack, form faultForm, rng *rand.Rand) faultRow {
	pg := pgtest.New(t) // its own server: the scenario stops it
	r := newFaultRun(t, s, "store-down", false)
	r.store = pg.NewDatabase(t)
	r.startWorker()
	worker, started := r.worker, time.Now()
	r.startCampaign(form.recipients)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// While it is down, the campaign says why it waits, and OutX gets no
	// new task (one send may have passed its check just before the stop).
	var before int
	stop := func() {
		must(pg.Stop())
		before = len(r.sandbox.Tasks())
		var st result
		waitFor(t, 30*time.Second, func() bool {
			st = r.starter("campaign", "status", "--id", r.id)
			return strings.Contains(st.stdout, "contacts store is unavailable")
		}, func() string { return st.String() })
	}
	start := func() {
		if n := len(r.sandbox.Tasks()); n > before+1 {
			t.Errorf("store-down: %d tasks created while the store was down", n-before)
		}
		must(pg.Restart())
	}
	downs := r.outages("PostgreSQL", form.storeDowns, form, rng, stop, start)
	return r.verifyOutages("stop and restart of the contacts store's PostgreSQL", downs, worker, started, form)
}

// outages stops something (the Temporal server, the store's database) at
// moments spread over the campaign and starts it again after each of
// downs; it returns the periods it was down.
func (r *faultRun) outages(what string, downs []time.Duration, form faultForm, rng *rand.Rand, stop, start func()) [][2]time.Time {
	var periods [][2]time.Time
	for i, down := range downs {
		r.waitDone((i+1)*form.recipients/(len(downs)+1), form.waitTimeout)
		time.Sleep(jitter(rng, 1500*time.Millisecond))
		stopped := time.Now()
		stop()
		time.Sleep(down)
		start()
		periods = append(periods, [2]time.Time{stopped, time.Now()})
		r.t.Logf("%s: %s was down %s", r.name, what, time.Since(stopped).Round(100*time.Millisecond))
	}
	return periods
}

// verifyOutages verifies the campaign that went through outages of
// something, with the worker that was never restarted still running.
func (r *faultRun) verifyOutages(what string, periods [][2]time.Time, worker *process, started time.Time, form faultForm) faultRow {
	var total time.Duration
	for _, p := range periods {
		total += p[1].Sub(p[0])
	}
	row := r.verify(fmt.Sprintf("%d× %s (down %s in all); worker not restarted", len(periods), what, total.Round(time.Second)), started, form.waitTimeout)
	select {
	case <-worker.Exited():
		r.t.Errorf("the worker exited in an outage: %v\n%s", worker.Err(), worker.Output())
	default:
	}
	return row
}

// faultStep is a fault the OutX sandbox starts applying once the campaign
// has handled at least `at` recipients.
type faultStep struct {
	at int
	do func()
}

func inject(r *faultRun, f outxtest.Fault) func() { return func() { r.sandbox.Inject(f) } }

func offline(r *faultRun, d time.Duration) func() {
	return func() {
		r.sandbox.SetExtensionOffline(true)
		time.Sleep(d)
		r.sandbox.SetExtensionOffline(false)
	}
}

// burst answers every request with status for d, as a rate limit that
// holds for a while does (a count of requests would be no burst: a refused
// send waits 15s, then twice as long each time).
func burst(r *faultRun, status int, d time.Duration) func() {
	return func() {
		r.sandbox.Inject(outxtest.Fault{Status: status})
		time.Sleep(d)
		r.sandbox.ClearFaults()
	}
}

// latency beyond the client's 30s timeout and the Send activity's 1m.
const lateMS = 65_000

func shortOutXFaults(r *faultRun, _ *rand.Rand) []faultStep {
	send, status := outx.PathSendMessage, outx.PathGetTaskStatus
	return []faultStep{
		{2, inject(r, outxtest.Fault{Path: status, Status: 429, Times: 3})},
		{2, inject(r, outxtest.Fault{Path: send, Status: 429, Times: 1})},
		{4, inject(r, outxtest.Fault{Path: status, Status: 500, Times: 1})},
		{4, inject(r, outxtest.Fault{Path: status, Status: 502, Times: 1})},
		{4, inject(r, outxtest.Fault{Path: status, Status: 504, Times: 1})},
		{6, inject(r, outxtest.Fault{Path: send, LoseAnswer: true, Times: 1})},
		{8, inject(r, outxtest.Fault{Path: status, LoseAnswer: true, Times: 1})},
		{10, inject(r, outxtest.Fault{Path: send, LatencyMS: lateMS, Times: 1})},
		{13, offline(r, shortOffline)},
	}
}

func fullOutXFaults(r *faultRun, rng *rand.Rand) []faultStep {
	send, status := outx.PathSendMessage, outx.PathGetTaskStatus
	steps := []faultStep{
		{10, inject(r, outxtest.Fault{Path: status, Status: 429, Times: 6})},
		{10, inject(r, outxtest.Fault{Path: send, Status: 429, Times: 3})},
		{30, inject(r, outxtest.Fault{Path: send, Status: 503, Times: 2})},
		{30, inject(r, outxtest.Fault{Path: status, Status: 500, Times: 2})},
		{30, inject(r, outxtest.Fault{Path: status, Status: 502, Times: 2})},
		{30, inject(r, outxtest.Fault{Path: status, Status: 503, Times: 2})},
		{30, inject(r, outxtest.Fault{Path: status, Status: 504, Times: 2})},
		{80, inject(r, outxtest.Fault{Path: send, LatencyMS: lateMS, Times: 1})},
		{100, inject(r, outxtest.Fault{Path: status, LatencyMS: lateMS, Times: 1})},
		{120, offline(r, fullOffline)},
		{150, burst(r, 429, 20*time.Second)},
	}
	// Lost answers at random points before the burst (which clears every
	// fault when it ends): three sends, three status reads.
	for range 3 {
		steps = append(steps,
			faultStep{40 + rng.IntN(100), inject(r, outxtest.Fault{Path: send, LoseAnswer: true, Times: 1})},
			faultStep{40 + rng.IntN(100), inject(r, outxtest.Fault{Path: status, LoseAnswer: true, Times: 1})})
	}
	return steps
}

// faultsOutX runs a campaign while the sandbox answers 429 in bursts, 5xx,
// answers later than the timeouts, drops answers, and the browser extension
// goes offline for a while and comes back.
func faultsOutX(t *testing.T, s *stack, form faultForm, rng *rand.Rand) faultRow {
	r := newFaultRun(t, s, "outx-faults", false)
	r.startWorker()
	started := time.Now()
	r.startCampaign(form.recipients)
	steps := form.outxFaults(r, rng)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, st := range steps {
		r.waitDone(st.at, form.waitTimeout)
		st.do()
	}
	row := r.verify("", started, form.waitTimeout)
	row.faults = r.wire.tally() + ", extension offline " + form.offline.String()
	// The faults reached the workers: the suite cannot pass by injecting
	// nothing.
	for what, seen := range map[string]func(wireCall) bool{
		"a 429":                        func(c wireCall) bool { return c.status == 429 },
		"a 5xx":                        func(c wireCall) bool { return c.status >= 500 },
		"a 403 (extension offline)":    func(c wireCall) bool { return c.status == 403 },
		"a send whose answer was lost": func(c wireCall) bool { return c.path == outx.PathSendMessage && c.dropped },
		"a status read whose answer was lost": func(c wireCall) bool {
			return c.path == outx.PathGetTaskStatus && c.dropped
		},
		"a send answered past the client's timeout": func(c wireCall) bool { return c.path == outx.PathSendMessage && c.gaveUp },
	} {
		if r.wire.count(seen) == 0 {
			t.Errorf("outx-faults: the workers never saw %s", what)
		}
	}
	return row
}
