package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery. The signature's format is Stripe's, so that a
// receiver written for Stripe's needs only the header's name changed.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
	HeaderSignature = "Outpace-Signature"
	// HeaderEventID is the event's id: a receiver deduplicates on it.
	HeaderEventID = "Outpace-Event-Id"
	// HeaderEventType is the event's type, for routing without parsing.
	HeaderEventType = "Outpace-Event-Type"
)

// Tolerance is how old a signature's timestamp a receiver accepts: older
// ones are refused, so a captured request cannot be replayed later.
const Tolerance = 5 * time.Minute

// Errors of Verify, for errors.Is.
var (
	ErrNoSignature  = errors.New("webhook signature: missing or malformed " + HeaderSignature + " header")
	ErrTooOld       = errors.New("webhook signature: timestamp outside the tolerance")
	ErrBadSignature = errors.New("webhook signature: no v1 signature matches the body")
)

// Sign returns the signature header's value for body, sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver must: header is the
// Outpace-Signature header, body the raw request body (before any JSON
// decoding), now the receiver's clock. It refuses a timestamp more than
// tolerance away from now (Tolerance when 0) and accepts any v1 signature
// that matches, compared in constant time (several during a secret's
// rotation).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = Tolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrTooOld, time.Unix(sec, 0).UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrBadSignature
}
