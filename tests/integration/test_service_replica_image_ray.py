"""A service replica in an image on Ray: its port and address are chosen on the node before
the container starts, the container gets ``PORT`` and ``HOST``, and the engine reports where
it answers (before, a replica in an image printed no address: it never became ready).

Against the real Ray head and registry that scripts/test starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import REPLICA_ENV, LaunchRequest, RunState
from suanli.engines.ray import RayEngine
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.rayhead import node_hosts, require_ray, unique_key

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
TIMEOUT_S = 180.0

pytestmark = [
    pytest.mark.ray,
    pytest.mark.allow_hosts(node_hosts()),  # the replica answers at the Ray node's address
    pytest.mark.skipif(
        (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]


@pytest.fixture
def engine() -> Iterator[tuple[RayEngine, list[str]]]:
    ray = RayEngine(require_ray(), SystemClock(), registry=REGISTRY)
    keys: list[str] = []
    try:
        yield ray, keys
    finally:
        for key in keys:
            ray.cancel(key, 0)
            subprocess.run(
                ["podman", "rm", "-f", "--ignore", key], capture_output=True, check=False
            )
        ray.close()


def test_a_replica_in_an_image_on_ray_gets_an_address_and_answers_there(
    engine: tuple[RayEngine, list[str]],
) -> None:
    ray, keys = engine
    key = unique_key("imgreplica")
    keys.append(key)
    spec = make_spec(
        run='exec python3 -m http.server "$PORT" --bind "$HOST" --directory /etc',
        image="suanli/python:3.11",
        resources={"cpus": 1, "memory_gb": 1},
        env={REPLICA_ENV: "r-image"},
    )
    placement = Placement("ray-1", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0"))
    ray.launch(LaunchRequest(key, "j-imgreplica", 1, spec, placement))

    def address() -> str | None:
        assert not ray.status(key).state.is_final, ray.read_log(key, 0).data.decode()
        return ray.address(key)

    url = wait_until(address, timeout=TIMEOUT_S, every=0.3)
    assert url.removeprefix("http://").rsplit(":", 1)[0] in node_hosts()

    def answered() -> str | None:
        assert not ray.status(key).state.is_final, ray.read_log(key, 0).data.decode()
        try:
            with httpx.Client(trust_env=False, timeout=2) as client:
                found = client.get(f"{url}/debian_version")
        except httpx.HTTPError:
            return None
        return found.text if found.status_code == 200 else None

    assert wait_until(answered, timeout=TIMEOUT_S, every=0.5).startswith("12.")
    ray.cancel(key, 1)
    assert wait_until(lambda: ray.status(key).state is RunState.CANCELLED, timeout=60)
