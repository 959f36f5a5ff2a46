// Package codec encrypts Temporal payloads with AES-256-GCM, so that message
// texts, recipients and template variables are unreadable in the histories
// the Temporal server stores. The worker and the starter use it through their
// data converter; the codec server serves it to the Temporal UI.
//
// An encrypted payload keeps the original payload, encoding and all, sealed
// inside its data, with metadata "encoding: binary/encrypted" and the id of
// the key that sealed it, so that keys can be rotated: the keyring's active
// key encrypts, and any key still in it decrypts.
package codec

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the "encoding" metadata of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata that names the key a payload was
	// encrypted with.
	MetadataKeyID = "encryption-key-id"
)

var (
	// ErrUnknownKey: the payload names a key the keyring does not hold.
	ErrUnknownKey = errors.New("unknown encryption key")
	// ErrDecrypt: the key with the payload's id did not open it.
	ErrDecrypt = errors.New("payload does not decrypt")
)

// Codec is a converter.PayloadCodec that encrypts with a keyring's active
// key and decrypts with whichever key a payload names.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec over keys.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// Keyring is the codec's keyring.
func (c *Codec) Keyring() *Keyring { return c.keys }

// Encode seals each payload with the active key and a random nonce; the key
// id is also the AEAD's additional data, so a payload relabelled with
// another key's id does not open.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.ActiveKeyID()
	aead := c.keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypting a payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypting a payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(id),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode opens encrypted payloads; others (written before encryption was
// turned on) pass through unchanged. A payload that names a key the keyring
// lacks, or that its key does not open, is an error naming the key id.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.open(p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) open(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.GetMetadata()[MetadataKeyID])
	if id == "" {
		return nil, fmt.Errorf("%w: an encrypted payload has no %s metadata", ErrDecrypt, MetadataKeyID)
	}
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: payload encrypted with key id %q, which %s does not hold (it has %s); add that key to decrypt it",
			ErrUnknownKey, id, c.keys.source, strings.Join(c.keys.ids, ", "))
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w with key id %q: only %d bytes, too short to be encrypted", ErrDecrypt, id, len(data))
	}
	nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w with key id %q from %s: that key is not the one that encrypted it, or the payload was altered",
			ErrDecrypt, id, c.keys.source)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("%w with key id %q: the decrypted bytes are not a payload: %v", ErrDecrypt, id, err)
	}
	return &d, nil
}

// DataConverter wraps parent (the SDK's default when nil) so that every
// payload it writes is encrypted and every encrypted payload it reads is
// decrypted.
func DataConverter(parent converter.DataConverter, keys *Keyring) converter.DataConverter {
	if parent == nil {
		parent = converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(parent, New(keys))
}
