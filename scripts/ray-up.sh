#!/usr/bin/env bash
# Start a single-machine Ray head for the test suite (Debian, root, no systemd), idempotently.
# Ray (ray[default], pinned) goes into its own venv under $STATE/venv, so it never pins
# suanli's dependencies; suanli talks to it over the Jobs REST API only.
# Fake accelerators are Ray custom resources named after the catalog model, as suanli's Ray
# adapter asks for them by default: {"H100": 8, "Ascend910B": 8} (see README, "Ray engine").
# The head runs as `setsid ray start --block`; its PID (the session id of every Ray process it
# starts) goes to $STATE/ray-head.pid and ray-down.sh stops exactly that session.
# Writes SUANLI_TEST_RAY_ADDRESS=... (the Jobs API) and SUANLI_TEST_RAY_CLI=... to $STATE/env.
# Tunables: SUANLI_CI_DIR (/var/tmp/suanli-ci)  SUANLI_RAY_SPEC (ray[default]==2.60.0)
#   SUANLI_RAY_PORT (6379, GCS)  SUANLI_RAY_DASHBOARD_PORT (8265, Jobs API)  SUANLI_RAY_CPUS (2)
#   SUANLI_RAY_RESOURCES ('{"H100": 8, "Ascend910B": 8}')
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "ray-up.sh: run as root" >&2; exit 1; }
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/ray"
VENV="$STATE/venv"
SPEC="${SUANLI_RAY_SPEC:-ray[default]==2.60.0}"
PORT="${SUANLI_RAY_PORT:-6379}"
DPORT="${SUANLI_RAY_DASHBOARD_PORT:-8265}"
CPUS="${SUANLI_RAY_CPUS:-2}"
DEFAULT_RESOURCES='{"H100": 8, "Ascend910B": 8}'
RESOURCES="${SUANLI_RAY_RESOURCES:-$DEFAULT_RESOURCES}"
PIDF="$STATE/ray-head.pid"
# Ray's default is 900 s: a job whose resources can never be met stays PENDING that long,
# even after it is stopped. The tests ask for impossible shapes, so keep it short.
export RAY_JOB_START_TIMEOUT_SECONDS="${RAY_JOB_START_TIMEOUT_SECONDS:-60}"
# SIGTERM drain budget of `ray start --block` (Ray's default of 30 s slows ray-down.sh).
export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="${RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S:-2}"
log() { echo "[ray-up] $*" >&2; }
die() { echo "[ray-up] ERROR: $*" >&2; [ -f "$STATE/head.log" ] && tail -n 30 "$STATE/head.log" >&2; exit 1; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
ours_up() { [ -f "$PIDF" ] && alive "$(cat "$PIDF")" && grep -qa ray "/proc/$(cat "$PIDF")/cmdline" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Up = the Jobs API answers and the State API lists the head node (inventory reads it).
api_ok() {
  "$VENV/bin/python" - "$DPORT" <<'EOF' 2>/dev/null
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
urllib.request.urlopen(f"{base}/api/jobs/", timeout=2).read()
nodes = json.load(urllib.request.urlopen(f"{base}/api/v0/nodes", timeout=5))
sys.exit(0 if nodes["data"]["result"]["total"] >= 1 else 1)
EOF
}
mkdir -p "$STATE"

# 1. Ray in its own venv (python3-venv from apt on a bare Debian).
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    log "installing python3-venv (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv; } \
      >"$STATE/apt.log" 2>&1 || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get failed"; }
  fi
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$SPEC" <<'EOF' 2>/dev/null
import importlib.metadata as md, re, sys
import aiohttp, ray.dashboard  # the [default] extra: the dashboard serves the Jobs API
pinned = re.search(r"==\s*([\w.]+)", sys.argv[1])
sys.exit(0 if not pinned or pinned.group(1) == md.version("ray") else 1)
EOF
then
  log "pip install '$SPEC' (about a minute, once)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$SPEC" >"$STATE/pip.log" 2>&1 \
    || { tail -n 30 "$STATE/pip.log" >&2; die "pip install failed"; }
fi

# 2. The head, unless ours is already up.
if ours_up; then
  log "already running (session $(cat "$PIDF"))"
else
  for p in "$PORT" "$DPORT"; do
    port_busy "$p" && die "port $p is taken by something ray-up.sh did not start"
  done
  rm -rf "$STATE/tmp" && mkdir -p "$STATE/tmp"
  RAY_USAGE_STATS_ENABLED=0 setsid "$VENV/bin/ray" start --head --block \
    --node-ip-address=127.0.0.1 --port="$PORT" \
    --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port="$DPORT" \
    --num-cpus="$CPUS" --num-gpus=0 --resources="$RESOURCES" \
    --object-store-memory=200000000 --temp-dir="$STATE/tmp" --disable-usage-stats \
    >"$STATE/head.log" 2>&1 </dev/null &
  echo $! >"$PIDF"
  log "starting (session $(cat "$PIDF"))"
fi
for _ in $(seq 1 600); do
  api_ok && break
  ours_up || die "the Ray head exited while starting"
  sleep 0.2
done
api_ok || die "the Ray Jobs API did not answer on 127.0.0.1:$DPORT"
printf 'SUANLI_TEST_RAY_ADDRESS=%s\nSUANLI_TEST_RAY_CLI=%s\n' "http://127.0.0.1:$DPORT" "$VENV/bin/ray" >"$STATE/env"
log "ready: Jobs API http://127.0.0.1:$DPORT, resources $RESOURCES, $CPUS CPUs (env: $STATE/env)"
