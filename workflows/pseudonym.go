package workflows

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
)

// Recipient pseudonyms. Payload encryption hides what a run's inputs,
// results and memos say, but the Temporal server must read workflow ids and
// search attributes to deduplicate and filter runs: those name a recipient by
// a keyed pseudonym instead of the URN when encryption is on. The same key
// and URN always give the same pseudonym, so deduplication by workflow id
// keeps working; without the key, a pseudonym says nothing about the person
// (not even to someone who guesses URNs and hashes them).
const (
	// PseudonymPrefix starts every pseudonym: "r-" and 20 hex digits.
	PseudonymPrefix = "r-"
	// pseudonymHexLen is 80 bits of HMAC-SHA256: collisions among a
	// namespace's recipients are out of reach (about 2^40 recipients for an
	// even chance of one).
	pseudonymHexLen = 20
	// RecipientKeySize is the length of a campaign's recipient_key.
	RecipientKeySize = 32
)

var pseudonymPattern = regexp.MustCompile(`^r-[0-9a-f]{20}$`)

// RecipientPseudonym is the recipient's name in workflow ids and the
// RecipientUrn search attribute under secret: "r-" and the first 80 bits of
// HMAC-SHA256(secret, urn) in hex. It is a pure function, safe in workflow
// code.
func RecipientPseudonym(secret []byte, urn string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(urn))
	return PseudonymPrefix + hex.EncodeToString(mac.Sum(nil))[:pseudonymHexLen]
}

// IsPseudonym says whether s has the form of a RecipientPseudonym.
func IsPseudonym(s string) bool { return pseudonymPattern.MatchString(s) }

// ParseRecipientKey decodes a campaign's recipient_key: the base64 of
// RecipientKeySize bytes. Errors name the field and the rule, never the
// value, which is a secret.
func ParseRecipientKey(b64 string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case err != nil:
		return nil, fmt.Errorf("recipient_key: must be standard base64 of %d random bytes (the starter sets it when payloads are encrypted)", RecipientKeySize)
	case len(key) != RecipientKeySize:
		return nil, fmt.Errorf("recipient_key: must be %d bytes once base64-decoded, not %d", RecipientKeySize, len(key))
	}
	return key, nil
}

// recipientSecret is the campaign's pseudonym key; nil when the campaign
// names recipients by their URNs.
func (in CampaignInput) recipientSecret() ([]byte, error) {
	if in.RecipientKey == "" {
		return nil, nil
	}
	return ParseRecipientKey(in.RecipientKey)
}

// CampaignRecipientID is what a campaign started with in names the
// recipient urn by in its child workflow ids ("<campaign id>/<name>") and in
// their RecipientUrn search attribute: the URN itself, or its pseudonym when
// the campaign has a recipient_key.
func (in CampaignInput) CampaignRecipientID(urn string) (string, error) {
	secret, err := in.recipientSecret()
	if err != nil || secret == nil {
		return urn, err
	}
	return RecipientPseudonym(secret, urn), nil
}
