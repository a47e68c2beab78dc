"""Ray runs images: a container per job on the Ray node, pulled from the region's mirror.

Against the real Ray head and registry that scripts/test starts (scripts/ray-up.sh,
scripts/registry-up.sh, scripts/images-build.sh).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.ray import RayEngine
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.rayhead import require_ray, unique_key

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
BASE = "suanli/debian:bookworm"
TIMEOUT_S = 180.0

pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(
        (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]


@pytest.fixture
def ray() -> Iterator[tuple[RayEngine, list[str]]]:
    engine = RayEngine(require_ray(), SystemClock(), registry=REGISTRY)
    keys: list[str] = []
    try:
        yield engine, keys
    finally:
        for key in keys:
            engine.cancel(key, 0)
            subprocess.run(
                ["podman", "rm", "-f", "--ignore", key], capture_output=True, check=False
            )
        engine.close()


def _request(key: str, run: str, image: str = BASE, nodes: int = 1, **spec: Any) -> LaunchRequest:
    resources = {"cpus": 1, "memory_gb": 1, "nodes": nodes}
    placement = Placement("ray-1", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0"))
    return LaunchRequest(
        key,
        "j-rayimage",
        1,
        make_spec(run=run, image=image, resources=resources, **spec),
        placement,
    )


def _final(engine: RayEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=TIMEOUT_S, every=0.3)


def test_a_job_runs_in_its_image_on_the_ray_node_with_the_digest(
    ray: tuple[RayEngine, list[str]],
) -> None:
    engine, keys = ray
    key = unique_key("img")
    keys.append(key)
    script = (
        "echo hello from $(cat /etc/debian_version); echo uid=$(id -u) pwd=$(pwd); "
        "echo token=$TOKEN; echo ray=${SUANLI_RAY_RUN:-none}; touch /work/f && echo wrote; "
        "ls /var/tmp/suanli-ci 2>&1 | head -1; "
        "echo map=$(cat /proc/self/uid_map); "
        # The memory limit holds: 1.1 GB in one tail line is killed (cgroup's OOM, 137).
        "head -c 1100M /dev/zero | tail -n 1 >/dev/null; echo oom=$?; "
        "echo cgroups=$(ls /sys/fs/cgroup/memory 2>/dev/null | grep -c libpod)"
    )
    engine.launch(_request(key, script, setup="echo set up", env={"TOKEN": "s3cret"}))
    engine.launch(_request(key, script, env={"TOKEN": "s3cret"}))  # known key: nothing new
    status = _final(engine, key)
    log = engine.read_log(key, 0).data.decode()
    assert status.state is RunState.SUCCEEDED, log
    assert log.index("set up") < log.index("hello from 12.")  # Debian from the image
    assert "uid=65534 pwd=/work" in log  # nobody, never the Ray node's root
    assert "token=s3cret" in log
    assert "ray=none" in log  # the run's own variables only
    assert "wrote" in log
    assert "No such file" in log  # no path of the Ray node
    assert "oom=137" in log  # memory_gb: 1 as a cgroup limit
    assert "cgroups=0" in log  # no other container's cgroup in sight
    if os.geteuid() == 0:  # podman as root on the node: the tenant's own user namespace
        assert f"map= 0 {userns.for_tenant('').first} 65536" in log, log
    assert status.image_digest is not None
    assert status.image_digest.startswith("sha256:")
    assert log.count("hello from") == 1  # one container, once


def test_an_unknown_image_fails_with_the_reason_not_as_lost(
    ray: tuple[RayEngine, list[str]],
) -> None:
    engine, keys = ray
    key = unique_key("noimg")
    keys.append(key)
    engine.launch(_request(key, "echo never", image="suanli/no-such-image:1"))
    status = _final(engine, key)
    assert status.state is RunState.FAILED
    assert status.reason is not None
    assert status.reason.code == "reason_image_failed"
    assert "suanli/no-such-image" in status.reason.params["image"]
    assert status.reason.params["detail"]
    assert "never" not in engine.read_log(key, 0).data.decode()


def test_a_service_in_an_image_answers_on_its_port(ray: tuple[RayEngine, list[str]]) -> None:
    """The services helper's replicas set PORT; the container shares the node's network."""
    engine, keys = ray
    key = unique_key("svc")
    keys.append(key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    serve = "exec python3 -m http.server $PORT --bind 127.0.0.1 --directory /etc"
    engine.launch(_request(key, serve, image="suanli/python:3.11", env={"PORT": str(port)}))

    def answered() -> str | None:
        assert not engine.status(key).state.is_final, engine.read_log(key, 0).data.decode()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/debian_version", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            return None

    assert wait_until(answered, timeout=TIMEOUT_S, every=0.5).startswith("12.")
    engine.cancel(key, 1)
    assert _final(engine, key).state is RunState.CANCELLED


def test_an_image_as_a_gang_is_refused_with_the_reason(ray: tuple[RayEngine, list[str]]) -> None:
    engine, _ = ray
    with pytest.raises(EngineFailure, match="one Ray node"):
        engine.launch(_request(unique_key("gang"), "true", nodes=2))


def test_the_hard_time_limit_stops_the_container(ray: tuple[RayEngine, list[str]]) -> None:
    engine, keys = ray
    key = unique_key("imglimit")
    keys.append(key)
    engine.launch(_request(key, "echo started; sleep 600", time_limit_hours=0.001))
    status = _final(engine, key)
    assert status.state is RunState.FAILED, engine.read_log(key, 0).data.decode()
    assert status.reason is not None
    assert status.reason.code == "reason_time_limit"

    def gone() -> bool:  # stopped and removed (podman's --rm, just after the client's end)
        done = subprocess.run(
            ["podman", "container", "exists", key], capture_output=True, check=False
        )
        return done.returncode == 1

    wait_until(gone, timeout=60)
