package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/codec"
)

// secret is a fresh random key.
func secret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, codec.KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func keyring(t *testing.T, keys ...codec.NewKey) *codec.Keyring {
	t.Helper()
	k, err := codec.NewKeyring("test", keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// input looks like a SendMessage input: what must not be readable.
type input struct {
	RecipientURN string            `json:"recipient_urn"`
	Message      string            `json:"message"`
	Vars         map[string]string `json:"vars"`
}

var plain = input{
	RecipientURN: "urn:li:person:ACoAAPlaintextProbe",
	Message:      "Hi Ada, loved your talk on analytical engines",
	Vars:         map[string]string{"company": "Babbage and Co"},
}

var secrets = []string{plain.RecipientURN, "loved your talk", "Babbage and Co", "ACoAAPlaintextProbe"}

func TestRoundTripHidesThePlaintext(t *testing.T) {
	key := secret(t)
	dc := codec.DataConverter(nil, keyring(t, codec.NewKey{ID: "2026-01", Secret: key}))
	p, err := dc.ToPayload(plain)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.EncodingEncrypted {
		t.Errorf("encoding = %q, want %q", got, codec.EncodingEncrypted)
	}
	if got := string(p.Metadata[codec.MetadataKeyID]); got != "2026-01" {
		t.Errorf("key id metadata = %q, want 2026-01", got)
	}
	for _, s := range secrets {
		if bytes.Contains(p.Data, []byte(s)) || bytes.Contains([]byte(p.String()), []byte(s)) {
			t.Errorf("encrypted payload contains %q", s)
		}
	}
	if bytes.Contains(p.Data, key) {
		t.Error("encrypted payload contains the key")
	}
	var back input
	if err := dc.FromPayload(p, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(plain) {
		t.Errorf("round trip: %+v, want %+v", back, plain)
	}

	// A random nonce: the same value never encrypts to the same bytes.
	again, err := dc.ToPayload(plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again.Data, p.Data) {
		t.Error("the same value encrypted twice gave the same bytes")
	}
}

func TestDecodeKeepsTheOriginalPayload(t *testing.T) {
	c := codec.New(keyring(t, codec.NewKey{ID: "k1", Secret: secret(t)}))
	orig := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain"), "other": []byte("x")},
		Data:     []byte(`"text"`),
	}
	enc, err := c.Encode([]*commonpb.Payload{orig, orig})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(dec) != 2 || dec[0].String() != orig.String() || dec[1].String() != orig.String() {
		t.Errorf("decoded %v, want twice %v", dec, orig)
	}
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	// Histories written before encryption was turned on still read.
	old, err := converter.GetDefaultDataConverter().ToPayload(plain)
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(nil, keyring(t, codec.NewKey{ID: "k1", Secret: secret(t)}))
	var back input
	if err := dc.FromPayload(old, &back); err != nil {
		t.Fatal(err)
	}
	if back.Message != plain.Message {
		t.Errorf("decoded %+v", back)
	}
}

func TestRotation(t *testing.T) {
	old, next := codec.NewKey{ID: "k1", Secret: secret(t)}, codec.NewKey{ID: "k2", Secret: secret(t)}
	before := codec.New(keyring(t, old))
	after := codec.New(keyring(t, next, old)) // the new key first: it encrypts
	p := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"hello"`)}}

	byOld, err := before.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := after.Decode(byOld)
	if err != nil {
		t.Fatalf("a payload encrypted with the old key no longer decodes after rotation: %v", err)
	}
	if string(dec[0].Data) != `"hello"` {
		t.Errorf("decoded %q", dec[0].Data)
	}
	byNew, err := after.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if id := string(byNew[0].Metadata[codec.MetadataKeyID]); id != "k2" {
		t.Errorf("after rotation payloads are encrypted with %q, want k2", id)
	}
	// Before rotation reaches a process, it cannot read the new key's payloads
	// and says which key it lacks.
	if _, err := before.Decode(byNew); !errors.Is(err, codec.ErrUnknownKey) || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("decoding with a keyring lacking k2: %v", err)
	}
}

func TestWrongKeyAndTampering(t *testing.T) {
	right := codec.NewKey{ID: "k1", Secret: secret(t)}
	other := codec.NewKey{ID: "k2", Secret: secret(t)}
	c := codec.New(keyring(t, right, other))
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte("message text")}})
	if err != nil {
		t.Fatal(err)
	}
	wrong := codec.NewKey{ID: "k1", Secret: secret(t)} // same id, other bytes
	keyMaterial := []string{
		base64.StdEncoding.EncodeToString(right.Secret), base64.StdEncoding.EncodeToString(wrong.Secret),
		string(right.Secret), string(wrong.Secret),
	}

	tests := []struct {
		name    string
		codec   *codec.Codec
		payload func() *commonpb.Payload
		is      error
		says    []string
	}{
		{"wrong key with the same id", codec.New(keyring(t, wrong)), func() *commonpb.Payload { return enc[0] },
			codec.ErrDecrypt, []string{`key id "k1"`, "not the one that encrypted it"}},
		{"unknown key id", codec.New(keyring(t, other)), func() *commonpb.Payload { return enc[0] },
			codec.ErrUnknownKey, []string{`key id "k1"`, "does not hold", "k2"}},
		{"a flipped bit", c, func() *commonpb.Payload {
			p := clone(enc[0])
			p.Data[len(p.Data)-1] ^= 1
			return p
		}, codec.ErrDecrypt, []string{`key id "k1"`, "altered"}},
		{"relabelled with another key's id", c, func() *commonpb.Payload {
			p := clone(enc[0])
			p.Metadata[codec.MetadataKeyID] = []byte("k2")
			return p
		}, codec.ErrDecrypt, []string{`key id "k2"`}},
		{"truncated", c, func() *commonpb.Payload {
			p := clone(enc[0])
			p.Data = p.Data[:10]
			return p
		}, codec.ErrDecrypt, []string{`key id "k1"`, "too short"}},
		{"no key id", c, func() *commonpb.Payload {
			p := clone(enc[0])
			delete(p.Metadata, codec.MetadataKeyID)
			return p
		}, codec.ErrDecrypt, []string{codec.MetadataKeyID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.codec.Decode([]*commonpb.Payload{tt.payload()})
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			for _, m := range keyMaterial {
				if strings.Contains(err.Error(), m) {
					t.Error("the error shows key material")
				}
			}
		})
	}
}

func clone(p *commonpb.Payload) *commonpb.Payload {
	c := &commonpb.Payload{Metadata: map[string][]byte{}, Data: append([]byte(nil), p.Data...)}
	for k, v := range p.Metadata {
		c.Metadata[k] = v
	}
	return c
}
