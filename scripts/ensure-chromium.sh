#!/usr/bin/env bash
# Makes sure Debian's headless-capable Chromium is installed (the console's
# end-to-end tests drive it with playwright-core; no browser is downloaded by
# npm). Prints the browser's path. Installs with apt-get when missing: as root
# directly, otherwise through sudo when it is available without a password.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "$CHROMIUM"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure-chromium: $CHROMIUM is missing and this user cannot install it (apt-get install -y chromium as root)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "ensure-chromium: installing Debian's chromium package" >&2
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is not there" >&2
  exit 1
fi
echo "$CHROMIUM"
