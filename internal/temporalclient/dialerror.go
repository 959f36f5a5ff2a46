package temporalclient

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// DialError is a failure to reach Temporal. It names the address and
// namespace, and, when the failure says enough, what most likely went
// wrong: gRPC's own words ("connection error: desc = transport: ...") tell
// a newcomer little.
type DialError struct {
	Address, Namespace string
	// Hint is what to check, e.g. "nothing is listening there: is the
	// Temporal server running?"; "" when the failure says nothing more.
	Hint string
	Err  error
}

func (e *DialError) Error() string {
	if e.Hint == "" {
		return fmt.Sprintf("connecting to Temporal at %s (namespace %s): %v", e.Address, e.Namespace, e.Err)
	}
	return fmt.Sprintf("connecting to Temporal at %s (namespace %s): %s (%v)", e.Address, e.Namespace, e.Hint, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// The Temporal dev server's ports: gRPC, which clients use, and the UI's HTTP.
const (
	frontendPort = "7233"
	uiPort       = "8233"
)

// dialHint reads the failure to reach address as a person would want it
// told, from the words gRPC and the resolver use.
func dialHint(address string, err error) string {
	msg := err.Error()
	host, port, splitErr := net.SplitHostPort(address)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(msg, w) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(address, "://") || splitErr != nil || has("invalid target address", "too many colons", "missing port"):
		return "give the address as host:port, without a scheme or path, e.g. localhost:" + frontendPort
	case has("looked like an HTTP/1.1 header", "unexpected HTTP status code", "missing HTTP content-type", "malformed header"):
		if port == uiPort {
			return "port " + uiPort + " is the Temporal UI's (HTTP); Temporal's gRPC frontend listens on " + frontendPort + ": use " + net.JoinHostPort(host, frontendPort)
		}
		return "it answers HTTP, not Temporal's gRPC: is this the Temporal UI's port (" + uiPort + " by default)? Temporal's frontend listens on " + frontendPort
	case has("connection refused"):
		hint := "nothing is listening there: is the Temporal server running? `make demo` starts one, as does `temporal server start-dev`"
		if port == uiPort {
			hint += "; and " + uiPort + " is the Temporal UI's port: Temporal's gRPC frontend listens on " + frontendPort
		}
		return hint
	case has("first record does not look like a TLS handshake"):
		return "the server does not speak TLS: turn TLS off (TEMPORAL_TLS, or the temporal.toml profile's tls)"
	case has("connection closed before server preface received", "EOF"):
		return "the server closed the connection: does it require TLS (Temporal Cloud: TEMPORAL_TLS=true with TEMPORAL_API_KEY or a client certificate)?"
	case has("no such host", "no children to pick from", "produced zero addresses", "name resolver") || !resolves(host):
		return fmt.Sprintf("host %q cannot be found: is its name spelled right?", host)
	case has("deadline exceeded", "DeadlineExceeded", "i/o timeout"):
		return "no answer in time: is the address right, and is nothing (a firewall) in the way?"
	}
	return ""
}

// resolves says whether host is an IP address or a name that resolves.
func resolves(host string) bool {
	if host == "" || net.ParseIP(host) != nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	return err == nil
}
