#!/usr/bin/env bash
# Stop the Ray head that ray-up.sh started, by its PID file only (never `ray stop`, which
# would stop every Ray process on the machine). SIGTERM to the session leader drains Ray;
# whatever of that session (same session id) is left after 30 s gets SIGKILL.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "ray-down.sh: run as root" >&2; exit 1; }
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/ray"
PIDF="$STATE/ray-head.pid"
log() { echo "[ray-down] $*" >&2; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# Live (non-zombie) PIDs whose session id is $1, read from /proc (no procps needed).
session_pids() {
  local f st
  for f in /proc/[0-9]*/stat; do
    st=$(cat "$f" 2>/dev/null) || continue
    st=${st##*) }  # drop "pid (comm) "; then: state ppid pgrp session ...
    read -r state _ _ sid _ <<<"$st"
    [ "$sid" = "$1" ] && [ "$state" != Z ] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  return 0
}

[ -f "$PIDF" ] || { log "no PID file: nothing to stop"; exit 0; }
LEADER=$(cat "$PIDF")
if alive "$LEADER" && grep -qa ray "/proc/$LEADER/cmdline" 2>/dev/null; then
  kill -TERM "$LEADER" 2>/dev/null
fi
t0=$SECONDS
while [ -n "$(session_pids "$LEADER")" ] && [ $((SECONDS - t0)) -lt 30 ]; do sleep 0.2; done
left=$(session_pids "$LEADER")
if [ -n "$left" ]; then
  log "killing what is left of session $LEADER: $(echo $left)"
  kill -KILL $left 2>/dev/null
fi
rm -f "$PIDF" "$STATE/env"
log "stopped (session $LEADER)"
