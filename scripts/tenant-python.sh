#!/usr/bin/env bash
# A Python with suanli installed that sandboxed jobs can execute: /opt/suanli/NAME.
#
#   bash scripts/tenant-python.sh NAME [EXTRAS]     e.g.  scripts/tenant-python.sh eval "[eval]"
#
# Under the local engine's sandbox (engines/sandbox.py) a job runs as its tenant's system
# user, which cannot pass a directory closed to others: the server's own venv is no use to
# it when its interpreter lives under /root (pyenv) or its tree under a private home. This
# makes a venv under a world-readable prefix from a system interpreter every user may run,
# with a snapshot (not an editable link) of this tree's suanli and its dependencies, owned
# by root and read-only to everyone else. The sandbox is not widened: jobs get nothing they
# could not already read.
#
# Convention shared by the platform's own in-job programs: ${SUANLI_TENANT_PREFIX:-/opt/suanli}/NAME,
# one venv per purpose (eval: `suanli eval`'s suite; the server finds it there by itself).
# Idempotent: the dependencies are reinstalled only when pyproject.toml changed, suanli
# itself only when a file under src/ changed (seconds); an unchanged tree costs one hash.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:?usage: tenant-python.sh NAME [EXTRAS], e.g. eval \"[eval]\"}"
EXTRAS="${2:-}"
case "$NAME" in *[!a-z0-9-]* | "") echo "NAME must be lowercase letters, digits, '-': $NAME" >&2; exit 2 ;; esac
case "$EXTRAS" in "" | "["*"]") ;; *) echo "EXTRAS must look like [eval]: $EXTRAS" >&2; exit 2 ;; esac
PREFIX="${SUANLI_TENANT_PREFIX:-/opt/suanli}"
DEST="$PREFIX/$NAME"
umask 022

# A base interpreter (3.11+) every user can execute: each directory on its real path passable.
reachable() {
  local path
  path="$(readlink -f "$1")" || return 1
  [ -x "$path" ] || return 1
  while [ "$path" != / ]; do
    [ -z "$(find "$path" -maxdepth 0 -perm -o+x)" ] && return 1
    path="$(dirname "$path")"
  done
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
BASE=""
for candidate in ${PYTHON:-} "$(command -v python3 || true)" /usr/bin/python3 /usr/local/bin/python3; do
  if [ -n "$candidate" ] && reachable "$candidate"; then BASE="$(readlink -f "$candidate")"; break; fi
done
if [ -z "$BASE" ]; then
  echo "no Python 3.11+ that every user may execute (tried \$PYTHON, python3, /usr/bin/python3);" \
    "install one (apt-get install python3) or set PYTHON" >&2
  exit 1
fi

mkdir -p "$PREFIX"
chmod 0755 "$PREFIX"
exec 9>"$PREFIX/.$NAME.lock"
flock 9 # two runs at once (CI and a developer) take turns

deps_key="$BASE $EXTRAS $(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
files() { find src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 | LC_ALL=C sort -z; }
src_key="$(cd "$ROOT" && files | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ -f "$DEST/.suanli-deps" ] && [ "$(cat "$DEST/.suanli-deps")" = "$deps_key" ] \
  && [ -f "$DEST/.suanli-src" ] && [ "$(cat "$DEST/.suanli-src")" = "$src_key" ]; then
  exit 0
fi
if [ ! -x "$DEST/bin/python" ] || [ "$(readlink -f "$DEST/bin/python")" != "$BASE" ]; then
  rm -rf "$DEST"
  if ! "$BASE" -m venv --without-pip "$DEST" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$DEST"
      "$BASE" -m venv --without-pip "$DEST"
    else
      echo "cannot create $DEST: install python3-venv" >&2
      exit 1
    fi
  fi
fi
# pip of the running interpreter installs into the new venv (--python): no ensurepip needed.
PIP=("${PIP_PYTHON:-python3}" -m pip --python "$DEST/bin/python" install -q --disable-pip-version-check)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy of the tree: the build never writes into the checkout (build/, egg-info).
(cd "$ROOT" && files | tar --null -T - -cf - pyproject.toml README.md) | tar -xf - -C "$work"
if [ ! -f "$DEST/.suanli-deps" ] || [ "$(cat "$DEST/.suanli-deps")" != "$deps_key" ]; then
  echo "installing suanli$EXTRAS into $DEST for tenants' jobs ..." >&2
  "${PIP[@]}" "$work$EXTRAS" >&2
  echo "$deps_key" >"$DEST/.suanli-deps"
else
  echo "updating suanli in $DEST ..." >&2
  "${PIP[@]}" --no-deps --force-reinstall "$work" >&2
fi
echo "$src_key" >"$DEST/.suanli-src"
chmod -R a+rX,go-w "$DEST"
