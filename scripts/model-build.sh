#!/usr/bin/env bash
# Build (or find in the cache) the tiny Llama model the examples and tests serve, with the
# inference environment's python (gguf, tokenizers, NumPy; scripts/inference.sh makes it).
# Prints the model's path (a link to the content-named file). Output: SUANLI_MODELS_DIR
# (default /var/lib/suanli/models, readable by tenant users).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${SUANLI_LLAMA_PREFIX:-${SUANLI_TENANT_PREFIX:-/opt/suanli}/llama}"  # tenant-python.sh's convention
OUT="${SUANLI_MODELS_DIR:-/var/lib/suanli/models}"
PYTHONPATH="$ROOT/src" "$PREFIX/bin/python" -m suanli.modelbuild --root "$ROOT" --out-dir "$OUT" "$@"
