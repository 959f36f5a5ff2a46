package webhooks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/outpacehq/outpace/webhooks"
)

func TestSignatureRoundTrip(t *testing.T) {
	secret := []byte("whsec_0123456789abcdef")
	body := []byte(`{"id":"evt_1","type":"message.delivered"}`)
	at := time.Unix(1_800_000_000, 0)
	h := webhooks.Sign(secret, at, body)
	if want := "t=1800000000,v1="; h[:len(want)] != want {
		t.Fatalf("header %q does not start with %q", h, want)
	}
	if err := webhooks.Verify(secret, h, body, at.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("a fresh, untouched delivery: %v", err)
	}
	// A second v1 (a secret's rotation) is accepted alongside.
	if err := webhooks.Verify(secret, "t=1800000000,v1=00ff,"+h[len("t=1800000000,"):], body, at, 0); err != nil {
		t.Fatalf("with a second v1: %v", err)
	}

	for _, c := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"older than 5 minutes", secret, h, body, at.Add(5*time.Minute + time.Second), webhooks.ErrTooOld},
		{"from the future", secret, h, body, at.Add(-6 * time.Minute), webhooks.ErrTooOld},
		{"tampered body", secret, h, []byte(`{"id":"evt_1","type":"message.failed"}`), at, webhooks.ErrBadSignature},
		{"wrong secret", []byte("whsec_another_secret!"), h, body, at, webhooks.ErrBadSignature},
		{"timestamp changed", secret, "t=1800000001" + h[len("t=1800000000"):], body, at, webhooks.ErrBadSignature},
		{"no header", secret, "", body, at, webhooks.ErrNoSignature},
		{"no v1", secret, "t=1800000000", body, at, webhooks.ErrNoSignature},
		{"no t", secret, h[len("t=1800000000,"):], body, at, webhooks.ErrNoSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := webhooks.Verify(c.secret, c.header, c.body, c.now, 0)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestIDIsStable(t *testing.T) {
	a := webhooks.ID("campaign/spring/urn:li:person:A", webhooks.MessageDelivered, "")
	if b := webhooks.ID("campaign/spring/urn:li:person:A", webhooks.MessageDelivered, ""); a != b {
		t.Fatalf("same event, two ids: %s, %s", a, b)
	}
	for _, other := range []string{
		webhooks.ID("campaign/spring/urn:li:person:B", webhooks.MessageDelivered, ""),
		webhooks.ID("campaign/spring/urn:li:person:A", webhooks.MessageFailed, ""),
		webhooks.ID("campaign/spring/urn:li:person:A", webhooks.MessageDelivered, "2"),
		webhooks.ID("campaign/spring/urn:li:person:", "A"+webhooks.MessageDelivered, ""),
	} {
		if other == a {
			t.Fatalf("two events share the id %s", a)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	for i, w := range want {
		if got := webhooks.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := webhooks.Backoff(30); got != time.Hour {
		t.Errorf("Backoff(30) = %s, want 1h", got)
	}
	created := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := webhooks.Row{CreatedAt: created, GiveUpAt: created.Add(webhooks.GiveUpAfter)}
	if s, next := webhooks.AfterFailure(r, 25, created.Add(23*time.Hour+59*time.Minute)); s != webhooks.StatusPending || !next.Equal(r.GiveUpAt) {
		t.Errorf("a minute before the 24 h: %s at %s, want a last attempt at %s", s, next, r.GiveUpAt)
	}
	if s, _ := webhooks.AfterFailure(r, 26, r.GiveUpAt); s != webhooks.StatusFailed {
		t.Errorf("at 24 h: %s, want failed", s)
	}
}
