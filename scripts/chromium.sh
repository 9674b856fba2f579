#!/usr/bin/env bash
# Chromium for the admin dashboard's browser tests (test/admin/browser.test.ts), driven by
# playwright-core through /usr/bin/chromium.
#
#   scripts/chromium.sh install   install Debian's chromium package when /usr/bin/chromium is missing
#   scripts/chromium.sh check     start it headless once and print its version (exit 1 if it cannot)
set -euo pipefail

CHROMIUM=/usr/bin/chromium

die() {
  echo "chromium.sh: $*" >&2
  exit 1
}

cmd_install() {
  if [ -x "$CHROMIUM" ]; then
    echo "Chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing Chromium needs root (or sudo)"
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends chromium
  [ -x "$CHROMIUM" ] || die "installed the chromium package but found no $CHROMIUM"
  echo "Chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
}

cmd_check() {
  [ -x "$CHROMIUM" ] || die "Chromium is not installed ($CHROMIUM); run: bash scripts/chromium.sh install"
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --dump-dom about:blank >/dev/null 2>&1 || die "Chromium did not start headless"
  "$CHROMIUM" --version 2>/dev/null
}

case "${1:-}" in
  install) [ $# -eq 1 ] || die "usage: $0 install | check"; cmd_install ;;
  check) [ $# -eq 1 ] || die "usage: $0 install | check"; cmd_check ;;
  *) echo "usage: $0 install | check" >&2; exit 2 ;;
esac
