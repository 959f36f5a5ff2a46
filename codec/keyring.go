package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Where keys come from. The key itself is never a flag, so that it does not
// show in process listings or shell history.
const (
	// EnvKeyFile names a key file, as --encryption-key-file does.
	EnvKeyFile = "OUTPACE_ENCRYPTION_KEY_FILE"
	// EnvKey holds a single key, "<key-id>:<base64 of 32 bytes>".
	EnvKey = "OUTPACE_ENCRYPTION_KEY"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// keyIDPattern keeps key ids printable and short: they are stored in every
// payload's metadata and shown in logs and errors.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

const keyIDRule = "1 to 64 letters, digits, '.', '_' or '-'"

const generateHint = "generate one with: head -c32 /dev/urandom | base64"

// Keyring holds the payload keys: the active one encrypts, every one
// decrypts, so a key is rotated by putting a new one first and keeping the
// old ones for the histories they encrypted.
//
// A Keyring never shows its key material: printing it lists the key ids.
type Keyring struct {
	ids     []string // in order; ids[0] is active
	aeads   map[string]cipher.AEAD
	secrets map[string][]byte // for Derive only
	source  string
}

// NewKey is one key for NewKeyring.
type NewKey struct {
	ID     string
	Secret []byte // KeySize bytes
}

// NewKeyring builds a keyring whose first key is active. source says where
// the keys came from, for logs and errors (a file name, a variable).
func NewKeyring(source string, keys ...NewKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys (%s)", source, generateHint)
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys)), secrets: make(map[string][]byte, len(keys)), source: source}
	for _, nk := range keys {
		if err := k.add(nk.ID, nk.Secret); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	return k, nil
}

func (k *Keyring) add(id string, secret []byte) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("key id %q: must be %s", id, keyIDRule)
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("key id %q: appears twice; key ids must be unique", id)
	}
	if len(secret) != KeySize {
		return fmt.Errorf("key %q: is %d bytes; AES-256 needs exactly %d (%s)", id, len(secret), KeySize, generateHint)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.ids = append(k.ids, id)
	k.aeads[id] = aead
	k.secrets[id] = append([]byte(nil), secret...)
	return nil
}

// Derive returns a secret for purpose, derived from the key with id id:
// HMAC-SHA256(key, purpose). Secrets that must follow the payload keys
// (the starter's recipient pseudonyms) come from here, so there is one
// thing to configure and rotate, and the keys themselves never leave the
// keyring. ok is false when the keyring has no such key.
func (k *Keyring) Derive(id, purpose string) (secret []byte, ok bool) {
	key, ok := k.secrets[id]
	if !ok {
		return nil, false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(purpose))
	return mac.Sum(nil), true
}

// ActiveKeyID is the id of the key that encrypts.
func (k *Keyring) ActiveKeyID() string { return k.ids[0] }

// KeyIDs lists every key id, the active one first.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// Source says where the keys came from.
func (k *Keyring) Source() string { return k.source }

// String describes the keyring by its key ids only.
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring from %s (active %s; keys %s)", k.source, k.ids[0], strings.Join(k.ids, ", "))
}

// GoString keeps %#v from printing the ciphers' state.
func (k *Keyring) GoString() string { return k.String() }

// ParseKeyFile reads a key file: one key a line, "<key-id> <base64 of 32
// bytes>", the first one active; blank lines and lines starting with # are
// ignored. name is the file's name, for errors. Errors name the line and the
// rule, never the key material.
func ParseKeyFile(name string, data []byte) (*Keyring, error) {
	source := "key file " + name
	k := &Keyring{aeads: map[string]cipher.AEAD{}, secrets: map[string][]byte{}, source: source}
	lines := bytes.Split(data, []byte("\n"))
	for i, raw := range lines {
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s line %d: want \"<key-id> <base64 key>\", found %d fields", source, i+1, len(fields))
		}
		secret, err := decodeSecret(fields[0], fields[1])
		if err == nil {
			err = k.add(fields[0], secret)
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", source, i+1, err)
		}
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%s: no keys; want lines \"<key-id> <base64 key>\" (%s)", source, generateHint)
	}
	return k, nil
}

// ParseKey reads a single key, "<key-id>:<base64 of 32 bytes>", as
// OUTPACE_ENCRYPTION_KEY holds it; variable names it in errors.
func ParseKey(variable, value string) (*Keyring, error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(value), ":")
	if !ok {
		return nil, fmt.Errorf("%s: want \"<key-id>:<base64 key>\" (%s)", variable, generateHint)
	}
	secret, err := decodeSecret(id, b64)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	return NewKeyring(variable, NewKey{ID: id, Secret: secret})
}

func decodeSecret(id, b64 string) ([]byte, error) {
	secret, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// The decoder's error quotes an offset, not the text; still, say
		// only what is wrong.
		return nil, fmt.Errorf("key %q: is not valid base64 (%s)", id, generateHint)
	}
	return secret, nil
}

// Load reads the keys outpace's binaries are configured with: the key file
// named by file (--encryption-key-file, OUTPACE_ENCRYPTION_KEY_FILE), or the
// single key in envKey (the value of OUTPACE_ENCRYPTION_KEY). With neither,
// encryption is off and Load returns nil.
func Load(file, envKey string) (*Keyring, error) {
	switch {
	case file != "" && strings.TrimSpace(envKey) != "":
		return nil, fmt.Errorf("both --encryption-key-file (%s) and %s are set: give the keys one way", EnvKeyFile, EnvKey)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			var pathErr *os.PathError
			if errors.As(err, &pathErr) {
				err = pathErr.Err
			}
			return nil, fmt.Errorf("--encryption-key-file %s: %w", file, err)
		}
		return ParseKeyFile(file, data)
	case strings.TrimSpace(envKey) != "":
		return ParseKey(EnvKey, envKey)
	}
	return nil, nil
}
