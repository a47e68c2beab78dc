#!/usr/bin/env bash
# The real inference server for model services: llama.cpp's OpenAI-compatible server
# (llama-cpp-python[server]) in a venv that tenant jobs can run, plus the project's own tiny
# model (scripts/model-build.sh). Idempotent and fast on a second run.
#
# - Where: /opt/suanli/llama (SUANLI_LLAMA_PREFIX), world-readable (0755): jobs run as
#   unprivileged sl-* users who cannot enter /root, so the venv is made from the system
#   python (/usr/bin/python3), never from a python under /root.
# - llama-cpp-python ships as source only: the wheel (llama.cpp compiled with cmake/gcc,
#   CPU only, no tests/examples/tools, no curl) is built ONCE per machine and cached under
#   ${SUANLI_CI_DIR:-/var/tmp/suanli-ci}/wheels; a second run installs from that cache.
# - Without root (or without the system python's venv module) it says why and exits 0: the
#   tests that need the server are then skipped with that reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CI="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}"
PREFIX="${SUANLI_LLAMA_PREFIX:-${SUANLI_TENANT_PREFIX:-/opt/suanli}/llama}"  # tenant-python.sh's convention
VERSION="0.3.36"
WHEELS="$CI/wheels"
SYSPY="${SUANLI_LLAMA_PYTHON:-/usr/bin/python3}"
log() { echo "== inference: $*" >&2; }

stamp="$PREFIX/.suanli-llama-$VERSION"
if [ -f "$stamp" ] && "$PREFIX/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
  : # installed
else
  if [ ! -w "$(dirname "$(dirname "$PREFIX")")" ] && [ ! -w "$(dirname "$PREFIX")" ] \
    && [ "$(id -u)" != 0 ]; then
    log "cannot write $PREFIX (run as root or set SUANLI_LLAMA_PREFIX); inference tests will skip"
    exit 0
  fi
  if ! "$SYSPY" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing the system python's venv module (apt-get)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    else
      log "$SYSPY has no venv module; inference tests will skip"
      exit 0
    fi
  fi
  for tool in cmake g++; do
    if ! command -v "$tool" >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing build tools (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          cmake g++ make >/dev/null
      else
        log "$tool is missing; inference tests will skip"
        exit 0
      fi
    fi
  done
  log "making the venv $PREFIX"
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  "$SYSPY" -m venv "$PREFIX"
  mkdir -p "$WHEELS"
  wheel=$(ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    log "building llama-cpp-python $VERSION once for this machine (CPU only; a few minutes)"
    start=$SECONDS
    tmp=$(mktemp -d)
    # CPU only; native instructions (the wheel stays on this machine); nothing but the library.
    CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF \
-DGGML_BLAS=OFF -DGGML_OPENMP=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
-DLLAVA_BUILD=OFF -DLLAMA_BUILD_COMMON=ON -DCMAKE_BUILD_TYPE=Release" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PREFIX/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
      -w "$tmp" "llama-cpp-python==$VERSION" >&2
    mv "$tmp"/llama_cpp_python-*.whl "$WHEELS"/
    rm -rf "$tmp"
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)
    log "built $(basename "$wheel") in $((SECONDS - start)) s"
  fi
  log "installing into $PREFIX"
  "$PREFIX/bin/python" -m pip install -q --disable-pip-version-check "${wheel}[server]" \
    "gguf==0.19.0" "tokenizers==0.23.3" >&2
  chmod -R a+rX "$PREFIX"
  chmod 0755 "$(dirname "$PREFIX")" "$PREFIX"
  touch "$stamp"
fi
# The model the examples and tests serve (cached by recipe hash).
bash "$ROOT/scripts/model-build.sh" >/dev/null
