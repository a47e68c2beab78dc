"""Each tenant's containers get their own host id range: disjoint, unprivileged, above the
subordinate ids a login user can get; the ACL that keeps their outputs the tenant's."""

from __future__ import annotations

import itertools
import os
import struct
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines import userns
from suanli.engines.base import LaunchRequest
from suanli.engines.container import Limits, run_argv
from suanli.engines.slurm_image import container_lines
from tests.builders import make_spec

SUB_UID_MAX = 600_100_000  # Debian's login.defs default: useradd's subordinate ids end here


def test_a_local_tenants_range_is_its_uids_slot_and_above_every_login_range() -> None:
    first, last = userns.for_account(1), userns.for_account(userns.HASHED - 1)
    assert first.first == userns.FIRST + userns.SIZE
    assert first.first > SUB_UID_MAX
    assert last.first + last.size <= userns.FIRST + userns.HASHED * userns.SIZE
    assert userns.for_account(999).host(0) == userns.FIRST + 999 * userns.SIZE
    assert userns.for_account(999).host(65534) == userns.FIRST + 999 * userns.SIZE + 65534


@pytest.mark.parametrize("uid", [0, -1, userns.HASHED, 70000])
def test_a_uid_without_a_slot_is_refused_with_the_allowed_range(uid: int) -> None:
    with pytest.raises(userns.NoRange, match=f"{uid}.*allowed: 1..{userns.HASHED - 1}"):
        userns.for_account(uid)


def test_ranges_of_different_tenants_never_overlap() -> None:
    local = [userns.for_account(uid) for uid in range(1, 2000)]
    hashed = [userns.for_tenant(f"tenant-{i}") for i in range(50)]
    spans = sorted({(r.first, r.first + r.size) for r in local + hashed})
    assert len(spans) == len(local) + len(hashed)  # 50 names, no collision among them
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    assert all(r.first >= userns.FIRST + userns.HASHED * userns.SIZE for r in hashed)
    assert all(r.first + r.size <= 2**31 for r in hashed)
    assert userns.for_tenant("acme") == userns.for_tenant("acme")  # stable across nodes


def test_inside_ids_outside_the_range_are_refused() -> None:
    with pytest.raises(userns.NoRange):
        userns.for_account(5).host(userns.SIZE)


def test_the_run_line_maps_uids_and_gids_alike() -> None:
    idmap = userns.for_account(7)
    argv = run_argv("k", "r/x:1", "true", [], "/w", Limits(1, 0), (0, 0), idmap=idmap)
    line = " ".join(argv)
    assert f"--uidmap 0:{idmap.first}:65536 --gidmap 0:{idmap.first}:65536" in line
    assert "--user 0:0" in line
    assert "--cap-drop=all" in argv  # root inside holds no capability either
    assert "mask=/sys/fs/cgroup" in line  # the host's cgroup tree, bound on the host network
    isolated = run_argv(
        "k", "r/x:1", "true", [], "/w", Limits(1, 0), (0, 0), network="none", idmap=idmap
    )
    assert "mask=/sys/fs/cgroup" not in " ".join(isolated)  # its own sysfs there


def test_the_acl_grants_the_users_and_nothing_to_group_or_others() -> None:
    data = userns.acl_bytes([1_073_807_360, 999, 999])
    (version,) = struct.unpack_from("<I", data)
    entries = [struct.unpack_from("<HHI", data, 4 + 8 * i) for i in range((len(data) - 4) // 8)]
    assert version == 2
    assert entries == [
        (0x01, 7, 0xFFFFFFFF),
        (0x02, 7, 999),  # sorted by id, each once
        (0x02, 7, 1_073_807_360),
        (0x04, 0, 0xFFFFFFFF),
        (0x10, 7, 0xFFFFFFFF),
        (0x20, 0, 0xFFFFFFFF),
    ]


def test_slurm_and_ray_map_only_where_podman_runs_as_root(tmp_path: Path) -> None:
    flags = userns.shell_flags(userns.for_tenant("acme"))
    assert flags.startswith('$([ "$(id -u)" = 0 ] && echo ')
    assert f"--uidmap 0:{userns.for_tenant('acme').first}:65536" in flags
    assert "--security-opt mask=/sys/fs/cgroup" in flags  # Ray and Slurm: the host network
    spec = make_spec(image="suanli/debian:bookworm", resources={"cpus": 1})
    placement = Placement("s", "cpu", None, (NodeAssignment("n0", ()),), Decimal(0))
    request = LaunchRequest("suanli-j-1-a1", "j-1", 1, spec, placement, tenant="acme")
    (line,) = container_lines(request, tmp_path, "127.0.0.1:5000", {})
    assert "--uidmap 0:" + str(userns.for_tenant("acme").first) in line
    assert "__SUANLI" not in line.replace("__SUANLI_CONTAINER__", "")


def test_grant_sets_both_acls_and_new_files_inherit_the_users(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    try:
        userns.grant(str(work), [999, userns.for_account(999).host(0)])
    except OSError as exc:  # a file system without POSIX ACLs
        pytest.skip(f"no ACLs here: {exc}")
    expected = userns.acl_bytes([999, userns.for_account(999).host(0)])
    assert os.getxattr(work, "system.posix_acl_access") == expected
    assert os.getxattr(work, "system.posix_acl_default") == expected
    (work / "out.txt").write_text("x")
    inherited = os.getxattr(work / "out.txt", "system.posix_acl_access")
    users = {
        struct.unpack_from("<HHI", inherited, 4 + 8 * i)[2]
        for i in range((len(inherited) - 4) // 8)
        if struct.unpack_from("<HHI", inherited, 4 + 8 * i)[0] == 0x02
    }
    assert users == {999, userns.for_account(999).host(0)}
