#!/usr/bin/env bash
# podman and what it needs to run jobs in images (runc: cgroup v1/hybrid limits that crun
# refuses; catatonit: --init), plus debootstrap for scripts/images-build.sh. Idempotent;
# needs root and apt, and does nothing otherwise (jobs with an image then fail with the reason).
set -euo pipefail
# Containers run in their own user namespaces (src/suanli/engines/userns.py): host ids
# 2^30 .. 2^31, above login.defs' SUB_UID_MAX, reserved here so no other tool hands them out.
if [ "$(id -u)" = 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    grep -qx 'suanli:1073741824:1073741824' "$f" 2>/dev/null ||
      echo 'suanli:1073741824:1073741824' >>"$f"
  done
fi
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v crun >/dev/null 2>&1 || need+=(crun)
[ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "containers: ${need[*]} not installed (apt-get install them as root);" \
    "jobs with an image cannot run here" >&2
  exit 0
fi
echo "== installing ${need[*]} (apt-get)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
