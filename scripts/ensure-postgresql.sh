#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries are on this machine for the
# contacts store's tests (internal/pgtest starts a throwaway server from
# them): OUTPACE_POSTGRES_BIN, or Debian's /usr/lib/postgresql/<version>/bin,
# or else Debian's postgresql package, installed with apt-get (through sudo
# when not root and sudo exists). No server is started or enabled here.
set -euo pipefail
if [[ -n "${OUTPACE_POSTGRES_BIN:-}" ]]; then
  exit 0
fi
if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "The contacts store's tests need PostgreSQL: install Debian's postgresql package as root, or set OUTPACE_POSTGRES_BIN to the folder of its initdb and postgres." >&2
    exit 1
  fi
  sudo="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The contacts store's tests need PostgreSQL and this machine has no apt-get: install PostgreSQL, or set OUTPACE_POSTGRES_BIN to the folder of its initdb and postgres." >&2
  exit 1
fi
echo "Installing Debian's postgresql for the contacts store's tests (first time only)..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The package's post-install starts a cluster where it can (not in a
# container without init); the tests never use it.
$sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls -d /usr/lib/postgresql/*/bin
