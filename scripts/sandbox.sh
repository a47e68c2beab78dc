#!/usr/bin/env bash
# bubblewrap, for the local engine's job sandbox (namespaces that hide the data directory and
# every other process; see README, "Job sandbox"). Idempotent; needs root and apt, and does
# nothing otherwise: suanli then warns at start what isolation its jobs lack.
set -euo pipefail
command -v bwrap >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "job sandbox: bubblewrap is not installed (apt-get install bubblewrap as root);" \
    "jobs run with less isolation (suanli up says which)" >&2
  exit 0
fi
echo "== installing bubblewrap (apt-get)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
