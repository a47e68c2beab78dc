#!/usr/bin/env bash
# Start the platform's OCI image registry (Debian's docker-registry, CNCF Distribution) on
# 127.0.0.1 at a free port, idempotently: one per region of the fleet, each that region's
# mirror (the fleet file's `registry:` names it). State (blobs, config, log, PID) lives in
# $SUANLI_CI_DIR/registry/NAME; writes SUANLI_REGISTRY[_NAME]=127.0.0.1:PORT to its env file.
# Usage: registry-up.sh [NAME]   (NAME: a region, default "default")
# Tunables: SUANLI_CI_DIR (/var/tmp/suanli-ci)  SUANLI_REGISTRY_PORT (a free port)
set -euo pipefail
NAME="${1:-default}"
[[ "$NAME" =~ ^[a-z][a-z0-9-]{0,40}$ ]] || { echo "registry-up.sh: bad name $NAME" >&2; exit 2; }
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/registry/$NAME"
log() { echo "[registry-up $NAME] $*" >&2; }
die() { echo "[registry-up $NAME] ERROR: $*" >&2; exit 1; }
mkdir -p "$STATE/data"

if ! command -v docker-registry >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "docker-registry missing (apt-get install docker-registry as root)"
  log "installing docker-registry (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >"$STATE/apt.log" 2>&1 \
    || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get install docker-registry failed"; }
  # Debian's package starts a system-wide instance on :5000; ours are per region.
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

alive() {
  [ -f "$STATE/registry.pid" ] || return 1
  local pid; pid=$(cat "$STATE/registry.pid")
  [ -r "/proc/$pid/cmdline" ] && grep -qa docker-registry "/proc/$pid/cmdline"
}
answers() { curl -fsS -o /dev/null --max-time 2 "http://$1/v2/"; }

if alive && [ -f "$STATE/env" ]; then
  ADDR=$(sed -n 's/^SUANLI_REGISTRY=//p' "$STATE/env")
  if answers "$ADDR"; then log "already up on $ADDR"; exit 0; fi
fi
if alive; then kill "$(cat "$STATE/registry.pid")" || true; sleep 0.5; fi

PORT="${SUANLI_REGISTRY_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
ADDR="127.0.0.1:$PORT"
cat >"$STATE/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/data
  delete:
    enabled: true
http:
  addr: $ADDR
YML
setsid docker-registry serve "$STATE/config.yml" >>"$STATE/registry.log" 2>&1 </dev/null &
echo $! >"$STATE/registry.pid"
for _ in $(seq 1 100); do answers "$ADDR" 2>/dev/null && break; sleep 0.1; done
answers "$ADDR" || { tail -n 20 "$STATE/registry.log" >&2; die "registry did not come up on $ADDR"; }
VAR="SUANLI_REGISTRY"
[ "$NAME" = default ] || VAR="SUANLI_REGISTRY_$(echo "$NAME" | tr 'a-z-' 'A-Z_')"
{ echo "SUANLI_REGISTRY=$ADDR"; [ "$VAR" = SUANLI_REGISTRY ] || echo "$VAR=$ADDR"; } >"$STATE/env"
log "ready on $ADDR (env: $STATE/env)"
