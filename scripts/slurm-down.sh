#!/usr/bin/env bash
# Stop what slurm-up.sh started, by its PID files only: cancel the cluster's jobs, then both
# slurmd, slurmctld and munged (only if slurm-up.sh started it). Keeps packages and state.
set -uo pipefail
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/slurm"
RUN="$STATE/run"
export SLURM_CONF="$STATE/etc/slurm.conf"
log() { echo "[slurm-down] $*" >&2; }
alive_as() { [ -s "$1" ] && grep -qa "$2" "/proc/$(cat "$1")/cmdline" 2>/dev/null; }
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop() { # pidfile program
  local pf="$1" pid
  if alive_as "$pf" "$2"; then
    pid=$(cat "$pf")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null
    log "stopped $2 (pid $pid)"
  fi
  rm -f "$pf"
}
if alive_as "$RUN/slurmctld.pid" slurmctld; then
  jobs=$(squeue -h -t PD,R,CG,S,CF -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    # shellcheck disable=SC2086 # a word list on purpose
    scancel $jobs 2>/dev/null
    for _ in $(seq 1 50); do [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
for pf in "$RUN"/slurmd-*.pid; do [ -e "$pf" ] && stop "$pf" slurmd; done
stop "$RUN/slurmctld.pid" slurmctld
stop "$RUN/munged.pid" munged
rm -f "$STATE/env"
log "done"
