"""A tenant's containers run in their own user namespace (real podman, real registry).

Root and every uid inside map to the tenant's unprivileged host range (engines/userns.py):
not host root, not the tenant's host uid; the files the container writes in its work dir
are owned on the host by the mapped uid and stay readable to the tenant's host user; the
hostile-job probes fail inside the container, and each works on the host (so each can fail).
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.local import LocalEngine
from suanli.engines.sandbox import account_name, detect, tenant_account
from tests.builders import make_spec
from tests.conftest import wait_until

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
BASE = "suanli/debian:bookworm"
TIMEOUT_S = 180.0
SECRET = "userns-victim-secret-41d7"

pytestmark = pytest.mark.skipif(
    (not REGISTRY or shutil.which("podman") is None or not detect().users)
    and not os.environ.get("CI"),
    reason="needs root, podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock(), registry=REGISTRY)
    yield eng
    for run_dir in (tmp_path / "runs").iterdir():  # what a failing test left behind
        if not eng.status(run_dir.name).state.is_final:
            eng.cancel(run_dir.name, grace_s=0)
        subprocess.run(
            ["podman", "rm", "-f", "--ignore", run_dir.name], capture_output=True, check=False
        )


def _request(key: str, run: str, tenant: str = "acme", image: str = BASE) -> LaunchRequest:
    return LaunchRequest(
        key=key,
        job_id="j-usernstest",
        attempt=1,
        spec=make_spec(run=run, image=image, resources={"cpus": 1, "memory_gb": 1}),
        placement=Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0")),
        tenant=tenant,
    )


def _final(engine: LocalEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=TIMEOUT_S, every=0.2)


def _log(engine: LocalEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode(errors="replace")


def _as_user(uid: int, gid: int, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` as a host user, from ``cwd`` (entered as root: as the tenant's own sandbox
    binds its work dir, past the run's root-only parents)."""
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_root_inside_is_the_tenants_unprivileged_range(engine: LocalEngine) -> None:
    script = "echo map=$(cat /proc/self/uid_map); echo gmap=$(cat /proc/self/gid_map); id -u"
    engine.launch(_request("u-map", script))
    status = _final(engine, "u-map")
    log = _log(engine, "u-map")
    assert status.state is RunState.SUCCEEDED, log
    tenant = pwd.getpwnam(account_name("acme"))
    expected = userns.for_account(tenant.pw_uid)
    inside, host, size = next(
        line.removeprefix("map=").split() for line in log.splitlines() if line.startswith("map=")
    )
    assert (int(inside), int(host), int(size)) == (0, expected.first, userns.SIZE)
    assert f"gmap= 0 {expected.first} {userns.SIZE}" in log
    assert int(host) not in (0, tenant.pw_uid)  # neither host root nor the tenant's uid
    assert int(host) >= userns.FIRST  # above every login user's subordinate ids


def test_two_tenants_get_disjoint_ranges(engine: LocalEngine) -> None:
    seen = {}
    for tenant in ("acme", "globex"):
        key = f"u-{tenant}"
        engine.launch(_request(key, "cat /proc/self/uid_map", tenant=tenant))
        assert _final(engine, key).state is RunState.SUCCEEDED, _log(engine, key)
        found = re.search(r"^\s*0\s+(\d+)\s+65536$", _log(engine, key), re.MULTILINE)
        assert found is not None, _log(engine, key)
        first = int(found[1])
        seen[tenant] = range(first, first + userns.SIZE)
    acme, globex = seen["acme"], seen["globex"]
    assert acme.stop <= globex.start or globex.stop <= acme.start


def test_outputs_are_owned_by_the_mapping_and_readable_by_the_tenant(
    engine: LocalEngine,
) -> None:
    script = "echo result-42 > out.txt; mkdir -p ckpt && echo w > ckpt/w.bin; ls -ln out.txt"
    engine.launch(_request("u-files", script))
    status = _final(engine, "u-files")
    assert status.state is RunState.SUCCEEDED, _log(engine, "u-files")
    tenant = pwd.getpwnam(account_name("acme"))
    mapped_root = userns.for_account(tenant.pw_uid).host(0)
    work = engine.root / "u-files" / "work"
    for path in (work / "out.txt", work / "ckpt", work / "ckpt" / "w.bin"):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (mapped_root, mapped_root), path
    assert work.stat().st_uid == tenant.pw_uid  # the directory stays the tenant's
    read = _as_user(tenant.pw_uid, tenant.pw_gid, "cat out.txt ckpt/w.bin", work)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["result-42", "w"]
    # Another tenant's host user reads none of it (the same command, from the same place).
    other = tenant_account("globex")
    denied = _as_user(other.uid, other.gid, "cat out.txt", work)
    assert denied.returncode != 0
    assert "result-42" not in denied.stdout


def test_hostile_probes_fail_inside_the_container_and_work_outside(
    engine: LocalEngine,
) -> None:
    """Another tenant's bare job and its files; the probes from inside a container."""
    victim_key = "u-victim"
    marker = f"suanli-userns-victim-{victim_key}"
    victim = LaunchRequest(
        key=victim_key,
        job_id="j-usernsvictim",
        attempt=1,
        spec=make_spec(run=f"echo {SECRET} > secret.txt; echo up; exec -a {marker} sleep 600"),
        placement=Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0")),
        tenant="victim",
    )
    engine.launch(victim)
    wait_until(lambda: "up" in _log(engine, victim_key), timeout=TIMEOUT_S)
    victim_dir = engine.root / victim_key
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=True)
    victim_pid = int(found.stdout.split()[0])
    probes = {
        "read the victim's files": f"cat {victim_dir}/work/secret.txt",
        "read the victim's launch file": f"cat {victim_dir}/launch.json",
        "write into the victim's run": f"touch {victim_dir}/cancel",
        "signal the victim's job": f"kill -9 {victim_pid}",
        "see the victim's process": f"test -d /proc/{victim_pid}",
        "read the host's users": f"grep -q '^{account_name('victim')}:' /etc/passwd",
        "list the runs": f"ls {engine.root} | grep -qx {victim_key}",
        # The host's cgroup tree (every container and its usage) is masked on the host network.
        "see other containers' usage": "ls /sys/fs/cgroup/memory | grep -q libpod",
    }
    script = "".join(
        f"( {command} ) >/dev/null 2>&1; echo {shlex.quote(name)}=$?\n"
        for name, command in probes.items()
    )
    engine.launch(_request("u-probes", script, tenant="mallory"))
    status = _final(engine, "u-probes")
    log = _log(engine, "u-probes")
    assert status.state is RunState.SUCCEEDED, log
    for name in probes:
        assert f"{name}=" in log, (name, log)
        assert int(log.split(f"{name}=", 1)[1].split()[0]) != 0, (name, log)
    assert SECRET not in log
    assert not (victim_dir / "cancel").exists()
    os.kill(victim_pid, 0)  # alive
    # The same commands on the host, as root: each works (so each probe above can fail).
    harmless = {  # the same reach without the harm
        "signal the victim's job": f"kill -0 {victim_pid}",
        "write into the victim's run": f"test -w {victim_dir}",
    }
    for name, command in probes.items():
        done = subprocess.run(
            ["sh", "-c", harmless.get(name, command)], capture_output=True, check=False
        )
        assert done.returncode == 0, name
    engine.cancel(victim_key, grace_s=1)
    assert _final(engine, victim_key).state is RunState.CANCELLED
