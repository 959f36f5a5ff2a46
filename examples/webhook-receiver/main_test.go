package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/webhooks"
)

// TestReceiver sends real deliveries (webhooks.Poster, as the worker does)
// to the example over HTTP.
func TestReceiver(t *testing.T) {
	secret := []byte("example-secret-0123456789")
	var out bytes.Buffer
	rc := &Receiver{Secret: secret, Out: &out}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	e := webhooks.Event{ID: webhooks.ID("campaign/spring/urn:li:person:A", webhooks.MessageDelivered, ""),
		Type: webhooks.MessageDelivered, Time: time.Now().UTC(), Account: "alice", Campaign: "spring",
		RecipientURN: "urn:li:person:A", Outcome: "delivered", TaskID: "task-1"}
	body, _ := e.Body()
	row := webhooks.Row{EventID: e.ID, Type: e.Type, Body: body}
	ep := webhooks.Endpoint{Name: "example", URL: srv.URL, Secret: secret}

	if err := (&webhooks.Poster{}).Post(t.Context(), ep, row); err != nil {
		t.Fatalf("a signed delivery: %v", err)
	}
	if err := (&webhooks.Poster{}).Post(t.Context(), ep, row); err != nil {
		t.Fatalf("the same event again: %v", err)
	}
	if got := strings.Count(out.String(), "message.delivered"); got != 1 {
		t.Fatalf("acted %d times on one event:\n%s", got, out.String())
	}

	old := &webhooks.Poster{Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }}
	if err := old.Post(t.Context(), ep, row); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a delivery signed 6 minutes ago: %v, want 401", err)
	}
	wrong := ep
	wrong.Secret = []byte("not-the-secret-0123456789")
	if err := (&webhooks.Poster{}).Post(t.Context(), wrong, row); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a delivery signed with another secret: %v, want 401", err)
	}
	// A body changed after signing.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(strings.Replace(string(body), "delivered", "failed", 1)))
	req.Header.Set(webhooks.HeaderSignature, webhooks.Sign(secret, time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a tampered body: %s, want 401", resp.Status)
	}
}
