# Sourced by scripts/up and scripts/test: make .venv with suanli installed (idempotent).
# Needs only python3 (3.11+), pip and, on a bare Debian, apt for the venv module.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SUANLI_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "suanli needs Python 3.11 or newer as '$PY' (set PYTHON=...)." >&2
  exit 1
fi
# A venv cut short (interrupted while ensurepip ran) has a python but no pip: make it again.
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  echo "$VENV is incomplete (no pip): making it again" >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    # Debian ships the venv module separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing the Python venv module (apt-get)..." >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      "$PY" -m venv "$VENV"
    else
      echo "cannot create $VENV: install python3-venv (sudo apt-get install python3-venv)." >&2
      exit 1
    fi
  fi
fi
# Reinstall only when the project's metadata changed since the last install.
stamp="$VENV/.suanli-installed-$1"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  echo "installing suanli ($1) into $VENV ..." >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$2" >&2
  touch "$stamp"
fi
# The console's JavaScript libraries (htmx, ECharts), fetched from npm once.
bash "$ROOT/scripts/web-assets.sh" || echo "warning: console assets not fetched; the console runs without charts" >&2
