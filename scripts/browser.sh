#!/usr/bin/env bash
# Debian's headless Chromium and a CJK font for the console's browser tests (Playwright drives
# the system browser; it downloads none). Idempotent; needs root and apt, does nothing otherwise.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
[ "${#need[@]}" = 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser tests need: ${need[*]} (apt-get install as root); they skip without chromium" >&2
  exit 0
fi
echo "== installing ${need[*]} (apt-get)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
