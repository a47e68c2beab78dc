"""Service replicas in images on Ray and Slurm: the port and address are chosen on the node
before the container starts (bash, the node's own ports and address), the container gets
``PORT`` and ``HOST``, and the engine reports where it answers. Before, on Ray a replica in
an image printed no address (it never became ready); on Slurm the choice ran inside the
image's /bin/sh (dash: no $RANDOM, no /dev/tcp), so every replica got port 20000 and the
container's hostname.

Against the real Ray head, Slurm and registry that scripts/test starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import REPLICA_ENV, LaunchRequest, RunState
from suanli.engines.ray import RayEngine
from suanli.engines.slurm import SlurmEngine, SlurmOptions
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.integration.test_slurm_engine import _request
from tests.rayhead import node_hosts, require_ray, unique_key
from tests.slurm import slurm_cluster

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
TIMEOUT_S = 180.0

SERVER = 'exec python3 -m http.server "$PORT" --bind "$HOST" --directory /etc'
pytestmark = [
    pytest.mark.allow_hosts(node_hosts()),  # the replica answers at the Ray node's address
    pytest.mark.skipif(
        (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]


def answered(url: str) -> str | None:
    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            found = client.get(f"{url}/debian_version")
    except httpx.HTTPError:
        return None
    return found.text if found.status_code == 200 else None


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


@pytest.mark.ray
def test_a_replica_in_an_image_on_ray_gets_an_address_and_answers_there(
    engine: tuple[RayEngine, list[str]],
) -> None:
    ray, keys = engine
    key = unique_key("imgreplica")
    keys.append(key)
    spec = make_spec(
        run=SERVER,
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

    def answers() -> str | None:
        assert not ray.status(key).state.is_final, ray.read_log(key, 0).data.decode()
        return answered(url)

    assert wait_until(answers, timeout=TIMEOUT_S, every=0.5).startswith("12.")
    ray.cancel(key, 1)
    assert wait_until(lambda: ray.status(key).state is RunState.CANCELLED, timeout=60)


@pytest.fixture
def slurm(tmp_path: Path) -> Iterator[SlurmEngine]:
    options = SlurmOptions(conf=slurm_cluster().conf, cache_s=0, registry=REGISTRY)
    eng = SlurmEngine(tmp_path / "runs", SystemClock(), options)
    yield eng
    for key in eng.live_runs():
        if (eng.root / key).exists():
            eng.cancel(key)


def test_two_replicas_in_images_on_one_slurm_node_each_answer_at_their_own_address(
    slurm: SlurmEngine,
) -> None:
    keys = []
    for name in ("r-one", "r-two"):
        req = _request(gpus=1, run=SERVER, image="suanli/python:3.11", env={REPLICA_ENV: name})
        slurm.launch(req)
        keys.append(req.key)

    def addresses() -> list[str] | None:
        found = [slurm.address(k) for k in keys]
        return found if all(found) else None  # type: ignore[return-value]

    urls = wait_until(addresses, timeout=TIMEOUT_S, every=0.3)
    assert len(set(urls)) == 2
    assert all(u.startswith("http://127.0.0.1:") for u in urls)  # the nodes' NodeAddr
    for url in urls:
        found = wait_until(lambda u=url: answered(u), timeout=TIMEOUT_S, every=0.5)  # type: ignore[misc]
        assert found.startswith("12.")
    # Cancelled, their containers go too (Slurm signals every process of the job at once, so
    # podman's own signal proxy loses the race: the node's shell stops the container).
    for key in keys:
        slurm.cancel(key)
    assert wait_until(lambda: not _containers_of(keys), timeout=TIMEOUT_S, every=0.5)


def _containers_of(keys: list[str]) -> list[str]:
    """The running containers named after these runs (``KEY-NODE``)."""
    out = subprocess.run(
        ["podman", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in out if any(name.startswith(f"{key}-") for key in keys)]
