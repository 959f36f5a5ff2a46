// Package temporalclient connects outpace's binaries to Temporal the way
// Temporal's own tools do: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, the TEMPORAL_TLS_* variables and the temporal.toml
// profiles are read by go.temporal.io/sdk/contrib/envconfig; the --address
// and --namespace flags, when given, override them.
package temporalclient

import (
	"fmt"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// Flags are the connection settings a person may give on the command line.
type Flags struct {
	Address   string
	Namespace string
}

// Register adds --address and --namespace to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Address, "address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS, the temporal.toml profile, or localhost:7233)")
	fs.StringVar(&f.Namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE, the temporal.toml profile, or default)")
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
	return opts, nil
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
		return nil, opts, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, opts, nil
}
