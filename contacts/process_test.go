package contacts_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpacehq/outpace/contacts"
)

// The environment of a child process of TestRaceAcrossProcesses.
const (
	envChildDSN      = "OUTPACE_CONTACTS_TEST_CHILD_DSN"
	envChildCampaign = "OUTPACE_CONTACTS_TEST_CHILD_CAMPAIGN"
	envChildPeople   = "OUTPACE_CONTACTS_TEST_CHILD_PEOPLE"
	envChildStart    = "OUTPACE_CONTACTS_TEST_CHILD_START"
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
			// Both claim from the same instant, once both have opened.
			start := time.Now().Add(2 * time.Second).UnixNano()
			var wg sync.WaitGroup
			outs := make([]map[string]bool, 2)
			errs := make([]error, 2)
			for i, campaign := range []string{"spring", "summer"} {
				wg.Go(func() {
					cmd := exec.Command(os.Args[0], "-test.run=^TestRaceAcrossProcesses$")
					cmd.Env = append(os.Environ(), envChildDSN+"="+dsn, envChildCampaign+"="+campaign, envChildPeople+"="+strconv.Itoa(people), envChildStart+"="+strconv.FormatInt(start, 10))
					out, err := cmd.Output()
					if err != nil {
						errs[i] = fmt.Errorf("%s: %v\n%s", campaign, err, out)
						return
					}
					outs[i] = map[string]bool{}
					sc := bufio.NewScanner(strings.NewReader(string(out)))
					for sc.Scan() {
						var r struct {
							URN string
							OK  bool
						}
						if json.Unmarshal(sc.Bytes(), &r) == nil && r.URN != "" {
							outs[i][r.URN] = r.OK
						}
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
	start, _ := strconv.ParseInt(os.Getenv(envChildStart), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	for p := range people {
		urn := fmt.Sprintf("urn:li:person:proc%d", p)
		v, err := s.Claim(ctx, message("sales", campaign, urn))
		if err != nil {
			fmt.Println("claim:", err)
			os.Exit(1)
		}
		line, _ := json.Marshal(struct {
			URN string
			OK  bool
		}{urn, v.OK})
		fmt.Println(string(line))
	}
}
