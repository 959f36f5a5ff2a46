package temporalclient

import (
	"fmt"
	"os"
	"strings"
)

// sendersMarker starts the part of a worker's identity that lists its
// sender accounts; encryptedMarker ends it when the worker encrypts
// payloads.
const (
	sendersMarker   = " outpace senders="
	encryptedMarker = " encrypted"
)

// maxIdentity keeps an identity well within the server's limit on it
// (1,000 characters by default): past it, the senders are left out, and
// starters then cannot tell which the worker has.
const maxIdentity = 900

// WorkerIdentity is the identity of a worker's Temporal client, e.g.
// "4242@host outpace senders=alice,default encrypted". The server shows it
// with each poller of a task queue (DescribeTaskQueue), which is how a
// starter learns, before starting anything, which sender accounts the
// workers have, and whether they encrypt payloads (a starter without the
// keys would name runs otherwise, and could send a message twice).
func WorkerIdentity(senders []string, encrypted bool) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	base := fmt.Sprintf("%d@%s", os.Getpid(), host)
	id := base + sendersMarker + strings.Join(senders, ",")
	if encrypted {
		id += encryptedMarker
	}
	if len(senders) == 0 || len(id) > maxIdentity {
		return base
	}
	return id
}

// IdentityEncrypted says whether a worker's identity says it encrypts
// payloads.
func IdentityEncrypted(identity string) bool {
	_, list, ok := strings.Cut(identity, sendersMarker)
	return ok && strings.HasSuffix(list, encryptedMarker)
}

// IdentitySenders reads the sender accounts from a worker's identity; ok
// is false when the identity does not list them (a worker from before
// they were listed, or another program).
func IdentitySenders(identity string) (senders []string, ok bool) {
	_, list, ok := strings.Cut(identity, sendersMarker)
	if !ok {
		return nil, false
	}
	list = strings.TrimSuffix(list, encryptedMarker)
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			senders = append(senders, s)
		}
	}
	return senders, true
}
