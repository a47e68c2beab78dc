#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the test suite (Debian, root, no systemd), idempotently.
# Installs the server if missing, creates its own cluster `suanli-test` on a free-ish port,
# a role with a password generated now (never stored in the repo), and a database.
# Writes SUANLI_TEST_POSTGRES_URL=... to $STATE/env and the postmaster PID to $STATE/postgres.pid.
# Tunables: SUANLI_CI_DIR (/var/tmp/suanli-ci)  SUANLI_PG_PORT (55432)
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "postgres-up.sh: run as root" >&2; exit 1; }
STATE="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/postgres"
PORT="${SUANLI_PG_PORT:-55432}"
CLUSTER=suanli-test
log() { echo "[postgres-up] $*" >&2; }
die() { echo "[postgres-up] ERROR: $*" >&2; exit 1; }
mkdir -p "$STATE"

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >"$STATE/apt.log" 2>&1 \
    || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get install postgresql failed"; }
fi
VER=$(ls /usr/lib/postgresql | sort -V | tail -n 1)

if ! pg_lsclusters -h | awk -v v="$VER" -v c="$CLUSTER" '$1==v && $2==c {f=1} END {exit !f}'; then
  log "creating cluster $VER/$CLUSTER on port $PORT"
  pg_createcluster "$VER" "$CLUSTER" --port "$PORT" >"$STATE/create.log" 2>&1 \
    || { cat "$STATE/create.log" >&2; die "pg_createcluster failed"; }
fi
read -r _ _ PORT STATUS _ DATADIR LOGFILE < <(pg_lsclusters -h | awk -v v="$VER" -v c="$CLUSTER" '$1==v && $2==c')
if [[ "$STATUS" != online* ]]; then
  mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
  pg_ctlcluster "$VER" "$CLUSTER" start || { tail -n 30 "$LOGFILE" >&2; die "cluster start failed"; }
fi
head -n 1 "$DATADIR/postmaster.pid" >"$STATE/postgres.pid"
for _ in $(seq 1 300); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.2; done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "postgres did not come up on 127.0.0.1:$PORT"

# A fresh password every start: test secrets are generated at test time.
PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$PORT" -d postgres \
  -v p="$PASSWORD" <<'SQL'
SELECT 'CREATE ROLE suanli LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'suanli') \gexec
SELECT format('ALTER ROLE suanli LOGIN PASSWORD %L', :'p') \gexec
SELECT 'CREATE DATABASE suanli_test OWNER suanli'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'suanli_test') \gexec
SQL
URL="postgresql://suanli:$PASSWORD@127.0.0.1:$PORT/suanli_test"
umask 077
echo "SUANLI_TEST_POSTGRES_URL=$URL" >"$STATE/env"
log "ready on 127.0.0.1:$PORT (env: $STATE/env)"
