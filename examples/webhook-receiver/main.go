// Command webhook-receiver is the smallest useful receiver of outpace's
// webhooks: it verifies each delivery's signature, refuses old ones,
// answers a duplicate (an event delivered again) without acting twice, and
// prints each event on a line. Copy it as the start of your own.
//
//	OUTPACE_WEBHOOK_SECRET=... go run ./examples/webhook-receiver -addr 127.0.0.1:8088
//
// and point a webhooks file's url at http://127.0.0.1:8088/outpace.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/outpacehq/outpace/webhooks"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8088", "address to listen on")
	flag.Parse()
	secret := os.Getenv("OUTPACE_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set OUTPACE_WEBHOOK_SECRET to the endpoint's secret")
	}
	http.Handle("/outpace", &Receiver{Secret: []byte(secret), Out: os.Stdout})
	log.Printf("receiving outpace's events at http://%s/outpace", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}

// Receiver handles deliveries. A real one would store the ids it has seen
// in its database, beside what it does with the event, in one transaction.
type Receiver struct {
	Secret []byte
	Out    io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]bool
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	now := time.Now
	if rc.Now != nil {
		now = rc.Now
	}
	// Verify the raw body before decoding it.
	if err := webhooks.Verify(rc.Secret, r.Header.Get(webhooks.HeaderSignature), body, now(), webhooks.Tolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		http.Error(w, "not an outpace event", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	dup := rc.seen[e.ID]
	if rc.seen == nil {
		rc.seen = map[string]bool{}
	}
	rc.seen[e.ID] = true
	rc.mu.Unlock()
	if dup {
		// Delivered again (at least once): answer 2xx, act once.
		w.WriteHeader(http.StatusOK)
		return
	}
	fmt.Fprintf(rc.Out, "%s %-22s account=%s campaign=%s step=%s recipient=%s outcome=%s reason=%q task=%s\n",
		e.Time.Format(time.RFC3339), e.Type, e.Account, e.Campaign, e.Step, e.RecipientURN, e.Outcome, e.Reason, e.TaskID)
	w.WriteHeader(http.StatusNoContent)
}
