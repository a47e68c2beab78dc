#!/usr/bin/env bash
# Stop a registry that registry-up.sh started (by its PID file); keeps its images.
# Usage: registry-down.sh [NAME]
set -uo pipefail
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/registry/${1:-default}"
PF="$STATE/registry.pid"
[ -f "$PF" ] || exit 0
PID=$(cat "$PF")
if [ -r "/proc/$PID/cmdline" ] && grep -qa docker-registry "/proc/$PID/cmdline"; then
  kill "$PID"
  for _ in $(seq 1 50); do [ -d "/proc/$PID" ] || break; sleep 0.1; done
  [ -d "/proc/$PID" ] && kill -KILL "$PID"
fi
rm -f "$PF" "$STATE/env"
echo "[registry-down] stopped registry $PID" >&2
