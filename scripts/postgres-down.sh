#!/usr/bin/env bash
# Stop the test PostgreSQL that postgres-up.sh started (by its PID file); keeps the data.
set -uo pipefail
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/postgres"
PF="$STATE/postgres.pid"
[ -f "$PF" ] || exit 0
PID=$(cat "$PF")
if [ -r "/proc/$PID/cmdline" ] && grep -qa postgres "/proc/$PID/cmdline"; then
  kill -INT "$PID"  # fast shutdown
  for _ in $(seq 1 150); do [ -d "/proc/$PID" ] || break; sleep 0.2; done
  [ -d "/proc/$PID" ] && kill -QUIT "$PID"
fi
rm -f "$PF" "$STATE/env"
echo "[postgres-down] stopped postmaster $PID" >&2
