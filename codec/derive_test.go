package codec_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/outpacehq/outpace/codec"
)

func TestDerive(t *testing.T) {
	k, err := codec.ParseKeyFile("keys.txt", []byte("new "+b64(32, 'a')+"\nold "+b64(32, 'b')+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := k.Derive("new", "outpace recipient pseudonym")
	// Known answer, computed independently (Python):
	// hmac.new(b"a"*32, b"outpace recipient pseudonym", sha256).hexdigest()
	const want = "ca18d8d385fc65473a0a5372b10a63d43ddd1ff98af9bcac7fc2cf41f5262585"
	if !ok || hex.EncodeToString(got) != want {
		t.Errorf("Derive(new) = %x, %v; want %s", got, ok, want)
	}
	again, _ := k.Derive("new", "outpace recipient pseudonym")
	old, _ := k.Derive("old", "outpace recipient pseudonym")
	other, _ := k.Derive("new", "another purpose")
	if !bytes.Equal(got, again) || bytes.Equal(got, old) || bytes.Equal(got, other) {
		t.Error("a derived secret must be the same every time, and differ by key and by purpose")
	}
	if bytes.Equal(got, bytes.Repeat([]byte("a"), 32)) {
		t.Error("the derived secret is the key itself")
	}
	if s, ok := k.Derive("missing", "x"); ok || s != nil {
		t.Errorf("Derive of a key the keyring lacks: %x, %v", s, ok)
	}
}
