"""Containers in their own user namespace: every uid inside maps to an unprivileged host range.

A container's root (and each of its 65,536 uids and gids) is a host id in a range that no
host user, no login user's subordinate ids and no other tenant's containers use, so a
process that escapes its container is a host uid that owns no files and can signal nothing
of anyone else's.

The ranges: the block ``FIRST`` .. ``FIRST + SLOTS * SIZE`` (2^30 .. 2^31), above
``SUB_UID_MAX`` of Debian's login.defs (600,100,000), so ``useradd`` never hands out a
subordinate id there; ``scripts/containers.sh`` reserves the block in ``/etc/subuid`` and
``/etc/subgid`` under the name ``suanli`` so that other tools see it taken.

* the local engine: a tenant's slot is its system user's uid (``sandbox.tenant_account``),
  which the host keeps unique: disjoint per tenant by construction;
* Ray and Slurm (podman under the node's job, no per-tenant account here): a slot from a
  hash of the tenant's name in the upper half of the block: disjoint from every host user,
  and from another tenant's unless the two names collide (1 in ``SLOTS // 2`` per pair).

Podman maps the image's layers with idmapped mounts (kernel 5.19+ overlay), so a new
mapping copies nothing (measured: ``bench/container_start.py --userns``).

The work directory the container writes (a host path) stays its tenant's; POSIX ACLs
(access and default) let the container's root write there and keep every file it makes
readable to the tenant's host user (``grant``).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

FIRST = 1 << 30
SIZE = 1 << 16  # uids 0..65535 inside: root, the image's users, nobody (65534)
SLOTS = 1 << 14  # FIRST + SLOTS * SIZE == 2^31
HASHED = SLOTS // 2  # slots from this one on: by the tenant's name (Ray, Slurm)
SUBID_OWNER = "suanli"  # the /etc/subuid and /etc/subgid entry that reserves the block


class NoRange(ValueError):
    """The tenant has no range here (its host uid is past the block's slots)."""


@dataclass(frozen=True)
class IdRange:
    """Host ids ``first`` .. ``first + size - 1``, seen as 0 .. size - 1 inside."""

    first: int
    size: int = SIZE

    def host(self, inside: int) -> int:
        """The host id of ``inside``."""
        if not 0 <= inside < self.size:
            raise NoRange(f"id {inside} is outside the container's {self.size} ids")
        return self.first + inside

    def argv(self, network: str = "host") -> list[str]:
        """podman's flags for this mapping (uids and gids alike).

        On the host's network a container in a user namespace cannot mount a sysfs of its
        own, so podman binds the host's ``/sys``, whose cgroup tree names every container and
        its usage: masked. The limits hold all the same (on the container's own cgroup)."""
        spec = f"0:{self.first}:{self.size}"
        mask = ["--security-opt", "mask=/sys/fs/cgroup"] if network == "host" else []
        return ["--uidmap", spec, "--gidmap", spec, *mask]


def for_account(uid: int) -> IdRange:
    """A local tenant's range: the slot of its system user's uid (unique on the host)."""
    if not 0 < uid < HASHED:
        raise NoRange(
            f"the tenant's host uid {uid} has no container id range (allowed: 1..{HASHED - 1})"
        )
    return IdRange(FIRST + uid * SIZE)


def for_tenant(tenant: str) -> IdRange:
    """A tenant's range where it has no host account (Ray and Slurm nodes): by its name."""
    digest = hashlib.sha256(tenant.encode()).digest()
    slot = HASHED + int.from_bytes(digest[:8], "big") % (SLOTS - HASHED)
    return IdRange(FIRST + slot * SIZE)


# POSIX ACL xattrs (linux/posix_acl_xattr.h): a version, then (tag, perm, id) entries
# sorted by tag then id.
_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_UNDEFINED = 0xFFFFFFFF
_RWX = 7


def acl_bytes(users: Sequence[int]) -> bytes:
    """An ACL: the owner rwx, each of ``users`` rwx, the group and others nothing (pure)."""
    entries = [(_USER_OBJ, _RWX, _UNDEFINED)]
    entries += [(_USER, _RWX, uid) for uid in sorted(set(users))]
    entries += [(_GROUP_OBJ, 0, _UNDEFINED), (_MASK, _RWX, _UNDEFINED), (_OTHER, 0, _UNDEFINED)]
    return struct.pack("<I", _VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)


def grant(path: str, users: Sequence[int]) -> None:
    """Let ``users`` (host uids) into the directory ``path`` and into all that is made in it.

    The default ACL is inherited by each file and directory the container creates, so the
    tenant's host user reads them (as the creating mode allows: the ACL mask is the mode's
    group bits) while they stay owned by the container's mapped uid. Raises OSError where
    the file system keeps no ACLs.
    """
    data = acl_bytes(users)
    os.setxattr(path, "system.posix_acl_access", data)
    os.setxattr(path, "system.posix_acl_default", data)


def shell_flags(idmap: IdRange, network: str = "host") -> str:
    """A node script's words for the mapping: podman as root takes it; a rootless podman
    (a Slurm job as its tenant's user) keeps its own namespace from that user's
    ``/etc/subuid`` range, where these host ids mean nothing."""
    flags = " ".join(idmap.argv(network))
    return f"$([ \"$(id -u)\" = 0 ] && echo '{flags}')"
