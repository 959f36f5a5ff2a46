#!/usr/bin/env bash
# Makes sure a headless Chromium is on this machine for the UI test
# (e2e/ui_test.go): Debian's chromium package, installed with apt-get when
# missing. OUTPACE_CHROMIUM names another browser binary instead.
set -euo pipefail
if [[ -n "${OUTPACE_CHROMIUM:-}" ]] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Debian's chromium for the UI test (first time only)..."
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
