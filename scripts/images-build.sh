#!/usr/bin/env bash
# Build the platform's base images here, never pulled, and push them to the registry:
#   suanli/debian:bookworm   debootstrap --variant=minbase from Debian's mirror, podman import
#   suanli/python:3.11       the base plus Debian's python3 (and pip)
#   suanli/pytorch:2.13-cpu  the Python image plus the CPU PyTorch wheel on this disk
#                            (/opt/wheels, see README); skipped with a message when absent
#   suanli/llama-cpu:0.3.36  the Python image plus this machine's llama.cpp server and tiny
#                            model (scripts/inference.sh); skipped with a message when absent
# Each image's root filesystem is cached as a tarball under $SUANLI_CI_DIR/images, keyed by
# the content of its recipe (the commands below and the key of the image under it): a second
# run only re-imports or re-pushes what is missing; changing a recipe rebuilds from there up.
# SUANLI_IMAGES: which to build (default "debian python pytorch llama"; each needs those
# before it).
# Needs root, apt (podman, debootstrap), and a registry (scripts/registry-up.sh; its env file
# or SUANLI_REGISTRY=host:port).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "images-build.sh: run as root" >&2; exit 1; }
CI_DIR="${SUANLI_CI_DIR:-/var/tmp/suanli-ci}"
MIRROR="${SUANLI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "[images-build] $*" >&2; }
die() { echo "[images-build] ERROR: $*" >&2; exit 1; }
if [ -z "${SUANLI_REGISTRY:-}" ] && [ -f "$CI_DIR/registry/default/env" ]; then
  SUANLI_REGISTRY=$(sed -n 's/^SUANLI_REGISTRY=//p' "$CI_DIR/registry/default/env")
fi
[ -n "${SUANLI_REGISTRY:-}" ] || die "no registry: run scripts/registry-up.sh first"
bash "$(dirname "$0")/containers.sh"
CACHE="$CI_DIR/images"
mkdir -p "$CACHE"
key() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
DEBIAN_RECIPE="debootstrap --variant=minbase bookworm $MIRROR; no apt lists, no .debs"
PYTHON_PKGS="python3 python3-pip ca-certificates"
DEBIAN_TAR="$CACHE/debian-$(key "$DEBIAN_RECIPE").tar"
PYTHON_TAR="$CACHE/python-$(key "$DEBIAN_TAR" "$PYTHON_PKGS").tar"
START=$SECONDS

in_registry() {  # name tag
  curl -fsS -o /dev/null --max-time 5 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$SUANLI_REGISTRY/v2/$1/manifests/$2" 2>/dev/null
}
publish() {  # name tag tarball: import into podman's store (when missing) and push
  local ref="$SUANLI_REGISTRY/$1:$2"
  podman image exists "$ref" || podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' "$3" "$ref" >/dev/null
  in_registry "$1" "$2" || podman push --quiet --tls-verify=false "$ref"
  log "$ref ready"
}
chrooted() {  # rootfs command...: run in the rootfs with /proc and the host's resolver
  local root=$1; shift
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  local code=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 "$@" || code=$?
  umount "$root/proc"
  : >"$root/etc/resolv.conf"
  return $code
}
pack() {  # rootfs tarball
  tar --numeric-owner --xattrs -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() { mountpoint -q "$WORK/rootfs/proc" 2>/dev/null && umount "$WORK/rootfs/proc"; rm -rf "$WORK"; }
trap cleanup EXIT

# 1. Debian base.
if [ ! -f "$DEBIAN_TAR" ]; then
  log "debootstrap --variant=minbase bookworm from $MIRROR"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  pack "$WORK/rootfs" "$DEBIAN_TAR"
fi
publish suanli/debian bookworm "$DEBIAN_TAR"
WANT=" ${SUANLI_IMAGES:-debian python pytorch llama} "
[[ "$WANT" == *" python "* || "$WANT" == *" pytorch "* || "$WANT" == *" llama "* ]] || { log "done in $((SECONDS - START)) s"; exit 0; }

# 2. Python: the base plus Debian's python3 and pip.
if [ ! -f "$PYTHON_TAR" ]; then
  rm -rf "$WORK/rootfs"; mkdir -p "$WORK/rootfs"
  tar --numeric-owner -C "$WORK/rootfs" -xf "$DEBIAN_TAR"
  log "installing python3 into the image"
  chrooted "$WORK/rootfs" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PYTHON_PKGS >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*"
  pack "$WORK/rootfs" "$PYTHON_TAR"
fi
publish suanli/python 3.11 "$PYTHON_TAR"

# 3. PyTorch (CPU), from the wheel on this machine's disk.
WHEEL=$(ls /opt/wheels/torch-2.13.0+cpu-cp311-*.whl 2>/dev/null | head -n 1 || true)
if [[ "$WANT" != *" pytorch "* ]]; then
  log "not building suanli/pytorch (SUANLI_IMAGES)"
elif [ -z "$WHEEL" ]; then
  log "skipping suanli/pytorch: no CPU torch 2.13.0 wheel under /opt/wheels on this machine"
else
  TORCH_TAR="$CACHE/pytorch-$(key "$PYTHON_TAR" "$(basename "$WHEEL")").tar"
  if [ ! -f "$TORCH_TAR" ]; then
    rm -rf "$WORK/rootfs"; mkdir -p "$WORK/rootfs"
    tar --numeric-owner -C "$WORK/rootfs" -xf "$PYTHON_TAR"
    mkdir -p "$WORK/rootfs/opt/wheels"
    mount --bind /opt/wheels "$WORK/rootfs/opt/wheels"
    cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/opt/host-ca.crt"
    log "installing $(basename "$WHEEL") into the image"
    code=0
    chrooted "$WORK/rootfs" sh -c "pip3 install -q --no-cache-dir --break-system-packages \
      --cert /opt/host-ca.crt --find-links /opt/wheels '/opt/wheels/$(basename "$WHEEL")'" || code=$?
    umount "$WORK/rootfs/opt/wheels"
    rm -f "$WORK/rootfs/opt/host-ca.crt"
    [ "$code" = 0 ] || die "pip install torch in the image failed"
    pack "$WORK/rootfs" "$TORCH_TAR"
  fi
  publish suanli/pytorch 2.13-cpu "$TORCH_TAR"
fi
# 4. The inference server: the Python image plus the llama.cpp server's venv that
#    scripts/inference.sh made on this machine (same Debian python3.11, so it runs as is),
#    libgomp1 (what llama.cpp's CPU backend links), and the tiny model scripts/model-build.sh
#    built; for examples/services/tiny-llama-image.yaml.
LLAMA="${SUANLI_LLAMA_PREFIX:-/opt/suanli/llama}"
MODEL="$(readlink -f "${SUANLI_MODELS_DIR:-/var/lib/suanli/models}/tiny-llama.gguf" 2>/dev/null || true)"
LLAMA_STAMP=$(ls "$LLAMA"/.suanli-llama-* 2>/dev/null | head -n 1 || true)
if [[ "$WANT" != *" llama "* ]]; then
  :
elif [ -z "$LLAMA_STAMP" ] || [ ! -f "$MODEL" ]; then
  log "skipping suanli/llama-cpu: no llama.cpp server or model here (run scripts/inference.sh)"
else
  LLAMA_VERSION="${LLAMA_STAMP##*-}"
  LLAMA_TAR="$CACHE/llama-$(key "$PYTHON_TAR" "$LLAMA_STAMP" libgomp1 "$(sha256sum <"$MODEL")").tar"
  if [ ! -f "$LLAMA_TAR" ]; then
    rm -rf "$WORK/rootfs"; mkdir -p "$WORK/rootfs"
    tar --numeric-owner -C "$WORK/rootfs" -xf "$PYTHON_TAR"
    log "installing libgomp1, the llama.cpp server ($LLAMA) and the tiny model into the image"
    chrooted "$WORK/rootfs" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends libgomp1 >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*"
    mkdir -p "$WORK/rootfs/opt/suanli/models"
    cp -a "$LLAMA" "$WORK/rootfs/opt/suanli/llama"
    find "$WORK/rootfs/opt/suanli/llama" -name __pycache__ -prune -exec rm -rf {} +
    install -m 0644 "$MODEL" "$WORK/rootfs/opt/suanli/models/tiny-llama.gguf"
    chrooted "$WORK/rootfs" /opt/suanli/llama/bin/python -c 'import llama_cpp.server' \
      || die "the llama.cpp server does not import in the image"
    pack "$WORK/rootfs" "$LLAMA_TAR"
  fi
  publish suanli/llama-cpu "$LLAMA_VERSION" "$LLAMA_TAR"
fi
log "done in $((SECONDS - START)) s (cache $CACHE)"
