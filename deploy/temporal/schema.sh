#!/bin/sh
# Creates Temporal's two PostgreSQL databases if they are missing, then brings
# their schema up to the version this admin-tools image ships (the server's
# version: the compose file pins both to the same release). Also creates the
# database of outpace's contacts store, "outpace" (OUTPACE_CONTACTS_DATABASE),
# whose tables the worker creates and migrates itself (docs/contacts.md).
#
# Run by the temporal-schema service (image temporalio/admin-tools) before the
# server starts, on every `docker compose up`: each step is idempotent.
# `create` accepts an existing database, `setup-schema -v 0.0` keeps a newer
# version, and `update-schema` applies only the versions not applied yet, so
# bumping the image tags upgrades the schema.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS: the PostgreSQL host is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD: the PostgreSQL password is required}"
port=${DB_PORT:-5432}
schema_dir=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

sql_tool() {
  # The password reaches temporal-sql-tool through SQL_PASSWORD, not argv.
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$port" \
    --user "$POSTGRES_USER" "$@"
}

# The postgresql service is healthy before this job starts; wait for its
# port all the same, in case it restarted in between.
attempt=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$port"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "schema: PostgreSQL at $POSTGRES_SEEDS:$port did not answer after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

setup() { # setup DATABASE SCHEMA_SUBDIR
  echo "schema: database $1"
  sql_tool --database "$1" create
  sql_tool --database "$1" setup-schema --version 0.0
  sql_tool --database "$1" update-schema --schema-dir "$schema_dir/$2/versioned"
}
setup temporal temporal
setup temporal_visibility visibility
# The contacts store: only the database; its schema is outpace's, applied by
# the worker at start-up (versioned migrations, safe with several workers).
contacts=${OUTPACE_CONTACTS_DATABASE:-outpace}
echo "schema: database $contacts (outpace's contacts store)"
sql_tool --database "$contacts" create
echo "schema: up to date"
