#!/bin/sh
# Creates the namespace outpace runs in and registers the search attributes
# its workflows set (all Keyword), once the Temporal server is healthy.
#
# Run by the temporal-setup service (image temporalio/admin-tools, whose
# `temporal` CLI reads TEMPORAL_ADDRESS) on every `docker compose up`: each
# step is idempotent. An existing namespace gets NAMESPACE_RETENTION again, so
# .env stays the one place it is set.
#
# Settings: TEMPORAL_ADDRESS (required), TEMPORAL_NAMESPACE (default),
# NAMESPACE_RETENTION (30d): how long Temporal keeps a finished run. A campaign
# started again under the same id skips the recipients whose runs are still
# kept, so this is also how long "never twice" holds across restarts.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS: the Temporal frontend host:port is required}"
namespace=${TEMPORAL_NAMESPACE:-default}
retention=${NAMESPACE_RETENTION:-30d}
attempts=${SETUP_ATTEMPTS:-60}
pause=${SETUP_PAUSE:-2}

# retry DESCRIPTION COMMAND...: the server may accept connections before every
# service inside it is ready, and a new namespace takes a few seconds to reach
# every frontend cache.
retry() {
  what=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "setup: $what: still failing after $n attempts" >&2
      return 1
    fi
    echo "setup: $what: not yet (attempt $n/$attempts)"
    n=$((n + 1))
    sleep "$pause"
  done
}

retry "cluster health at $TEMPORAL_ADDRESS" \
  temporal operator cluster health --address "$TEMPORAL_ADDRESS"

# ensure_namespace creates the namespace, or sets its retention if it exists.
ensure_namespace() {
  if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace" >/dev/null 2>&1; then
    temporal operator namespace update --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --retention "$retention"
  else
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --retention "$retention"
  fi
}
retry "namespace $namespace (retention $retention)" ensure_namespace

# Creating an attribute that exists with the same type is a no-op.
retry "search attributes in $namespace" \
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" \
    --name CampaignId --type Keyword \
    --name RecipientUrn --type Keyword \
    --name Outcome --type Keyword
echo "setup: namespace $namespace ready with search attributes CampaignId, RecipientUrn, Outcome"
