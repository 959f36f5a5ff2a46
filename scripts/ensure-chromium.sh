#!/usr/bin/env bash
# Makes sure a headless Chromium is on this machine for the UI test
# (e2e/ui_test.go): any browser the test finds (OUTPACE_CHROMIUM, chromium,
# chromium-browser, google-chrome), or else Debian's chromium package,
# installed with apt-get (through sudo when not root and sudo exists).
set -euo pipefail
if [[ -n "${OUTPACE_CHROMIUM:-}" ]]; then
  exit 0
fi
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "The UI test needs Chromium: install Debian's chromium package as root, or set OUTPACE_CHROMIUM to a Chromium binary." >&2
    exit 1
  fi
  sudo="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The UI test needs Chromium and this machine has no apt-get: install Chromium, or set OUTPACE_CHROMIUM to its binary." >&2
  exit 1
fi
echo "Installing Debian's chromium for the UI test (first time only)..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
