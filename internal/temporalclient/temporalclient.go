// Package temporalclient connects outpace's binaries to Temporal the way
// Temporal's own tools do: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, the TEMPORAL_TLS_* variables and the temporal.toml
// profiles are read by go.temporal.io/sdk/contrib/envconfig; the --address
// and --namespace flags, when given, override them.
//
// Payload encryption is configured here too, so that every binary that talks
// to Temporal reads and writes payloads the same way: --encryption-key-file
// (OUTPACE_ENCRYPTION_KEY_FILE) or OUTPACE_ENCRYPTION_KEY; see package codec.
package temporalclient

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/cliflags"
)

// Flags are the connection settings a person may give on the command line.
type Flags struct {
	Address   string
	Namespace string
	// EncryptionKeyFile names the payload keys; see codec.ParseKeyFile.
	EncryptionKeyFile string

	keys       *codec.Keyring
	keysLoaded bool
}

// Keys returns the payload keys the flags and the environment configure,
// or nil when encryption is off. The starter uses them beyond the data
// converter: for recipient pseudonyms (see workflows.RecipientPseudonym).
func (f *Flags) Keys() (*codec.Keyring, error) {
	if !f.keysLoaded {
		keys, err := codec.Load(f.EncryptionKeyFile, os.Getenv(codec.EnvKey))
		if err != nil {
			return nil, fmt.Errorf("payload encryption: %w", err)
		}
		f.keys, f.keysLoaded = keys, true
	}
	return f.keys, nil
}

// Register adds --address, --namespace and --encryption-key-file to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Address, "address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS, the temporal.toml profile, or localhost:7233)")
	fs.StringVar(&f.Namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE, the temporal.toml profile, or default)")
	fs.StringVar(&f.EncryptionKeyFile, "encryption-key-file", "",
		"encrypt payloads (inputs, results, memos, errors) with the keys in this file, lines \"<key-id> <base64 32-byte key>\", the first one encrypting (default: the single key \"<key-id>:<base64>\" in "+codec.EnvKey+"; neither: no encryption)")
	cliflags.Env(fs, "encryption-key-file", codec.EnvKeyFile)
}

// Options resolves the client options: envconfig first, then the flags.
func (f *Flags) Options(logger log.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("reading Temporal settings (TEMPORAL_* variables, temporal.toml): %w", err)
	}
	if f.Address != "" {
		opts.HostPort = f.Address
	}
	if f.Namespace != "" {
		opts.Namespace = f.Namespace
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = logger
	keys, err := f.Keys()
	if err != nil {
		return client.Options{}, err
	}
	if keys != nil {
		Encrypt(&opts, keys)
		if logger != nil {
			logger.Info("payload encryption: on", "active_key_id", keys.ActiveKeyID(), "key_ids", keys.KeyIDs(), "keys_from", keys.Source())
		}
	}
	return opts, nil
}

// Encrypt makes a client encrypt every payload it writes (workflow and
// activity inputs and results, memos, queries, signals, heartbeats) with
// keys, and decrypt those it reads. Error messages and stack traces are
// moved into an encrypted payload too, since they name recipients.
func Encrypt(opts *client.Options, keys *codec.Keyring) {
	opts.DataConverter = codec.DataConverter(opts.DataConverter, keys)
	opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          opts.DataConverter,
		EncodeCommonAttributes: true,
	})
}

// Dial connects to Temporal. Each configure function may amend the resolved
// options first (a metrics handler, a data converter).
func (f *Flags) Dial(logger log.Logger, configure ...func(*client.Options)) (client.Client, client.Options, error) {
	opts, err := f.Options(logger)
	if err != nil {
		return nil, opts, err
	}
	for _, c := range configure {
		c(&opts)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, opts, &DialError{Address: opts.HostPort, Namespace: opts.Namespace, Hint: dialHint(opts.HostPort, err), Err: err}
	}
	return c, opts, nil
}
