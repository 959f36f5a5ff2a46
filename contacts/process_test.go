package contacts_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/outpacehq/outpace/contacts"
)

// The environment of a child process of TestRaceAcrossProcesses.
const (
	envChildDSN      = "OUTPACE_CONTACTS_TEST_CHILD_DSN"
	envChildCampaign = "OUTPACE_CONTACTS_TEST_CHILD_CAMPAIGN"
	envChildPeople   = "OUTPACE_CONTACTS_TEST_CHILD_PEOPLE"
)

// TestRaceAcrossProcesses: two processes (this test binary run again, as
// a worker and a starter would share a SQLite file) open the store at once,
// migrating a fresh one, and claim the same people for two campaigns;
// each person is granted to exactly one of them.
func TestRaceAcrossProcesses(t *testing.T) {
	if dsn := os.Getenv(envChildDSN); dsn != "" {
		raceChild(dsn)
		return
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.fresh(t)
			const people = 200
			// Each child opens the store, says "ready" and waits; once both
			// are ready, both are told to go at once.
			children := make([]*exec.Cmd, 2)
			stdouts := make([]*bufio.Scanner, 2)
			stdins := make([]io.WriteCloser, 2)
			for i, campaign := range []string{"spring", "summer"} {
				cmd := exec.Command(os.Args[0], "-test.run=^TestRaceAcrossProcesses$")
				cmd.Env = append(os.Environ(), envChildDSN+"="+dsn, envChildCampaign+"="+campaign, envChildPeople+"="+strconv.Itoa(people))
				cmd.Stderr = os.Stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if stdins[i], err = cmd.StdinPipe(); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				children[i], stdouts[i] = cmd, bufio.NewScanner(out)
			}
			for i, sc := range stdouts {
				if !sc.Scan() || sc.Text() != "ready" {
					t.Fatalf("child %d: %q instead of ready", i, sc.Text())
				}
			}
			for _, in := range stdins {
				io.WriteString(in, "go\n")
			}
			var wg sync.WaitGroup
			outs := make([]map[string]bool, 2)
			errs := make([]error, 2)
			for i, sc := range stdouts {
				wg.Go(func() {
					outs[i] = map[string]bool{}
					var lines []string
					for sc.Scan() {
						lines = append(lines, sc.Text())
						var r struct {
							URN string
							OK  bool
						}
						if json.Unmarshal(sc.Bytes(), &r) == nil && r.URN != "" {
							outs[i][r.URN] = r.OK
						}
					}
					if err := children[i].Wait(); err != nil {
						errs[i] = fmt.Errorf("child %d: %v\n%s", i, err, strings.Join(lines, "\n"))
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			won := 0
			for p := range people {
				urn := fmt.Sprintf("urn:li:person:proc%d", p)
				a, okA := outs[0][urn]
				b, okB := outs[1][urn]
				if !okA || !okB || a == b {
					t.Errorf("%s: spring granted %v (answered %v), summer granted %v (answered %v)", urn, a, okA, b, okB)
				}
				if a {
					won++
				}
			}
			// Both winning some shows the processes claimed at once.
			t.Logf("%d people: spring won %d, summer %d", people, won, people-won)
		})
	}
}

// raceChild is one process of TestRaceAcrossProcesses: it prints one JSON
// line per claim.
func raceChild(dsn string) {
	ctx := context.Background()
	s, err := contacts.Open(ctx, dsn)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	defer s.Close()
	campaign := os.Getenv(envChildCampaign)
	people, _ := strconv.Atoi(os.Getenv(envChildPeople))
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	// Four workers' activities at once in each process.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for p := g; p < people; p += 4 {
				urn := fmt.Sprintf("urn:li:person:proc%d", p)
				v, err := s.Claim(ctx, message("sales", campaign, urn))
				mu.Lock()
				if err != nil {
					fmt.Println("claim:", err)
					os.Exit(1)
				}
				line, _ := json.Marshal(struct {
					URN string
					OK  bool
				}{urn, v.OK})
				fmt.Println(string(line))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
