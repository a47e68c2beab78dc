"""What a local job reaches on 127.0.0.1: everything the host serves there by default, and
nothing in a cluster whose engine options say ``network: isolated`` (its own network
namespace). Real jobs through the real local engine and its sandbox."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.local import LocalEngine
from suanli.engines.registry import EngineContext, engine_for
from suanli.engines.sandbox import Isolation, detect
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.service.fleet import builtin_catalog
from tests.builders import make_spec
from tests.conftest import wait_until

pytestmark = pytest.mark.skipif(
    detect().bwrap is None and not os.environ.get("CI"),
    reason="needs bubblewrap able to make namespaces here (scripts/sandbox.sh)",
)
PROBE = (  # bash's /dev/tcp (a Debian image's /bin/sh is dash, which has none)
    "bash -c 'if (echo probe > /dev/tcp/127.0.0.1/{port}) 2>/dev/null; "
    "then echo REACHED; else echo UNREACHABLE; fi'"
)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A service of the host on 127.0.0.1 (as the API, a database or the registry are)."""
    heard: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                heard.append(conn.recv(64))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1]), heard
    done.set()
    thread.join()
    server.close()


def _run(engine: LocalEngine, key: str, run: str, image: str | None = None) -> str:
    spec = make_spec(run=run, image=image, resources={"cpus": 1, "memory_gb": 1})
    placement = Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0"))
    engine.launch(LaunchRequest(key, "j-net", 1, spec, placement, tenant="acme"))
    status = wait_until(
        lambda: s if (s := engine.status(key)).state.is_final else None, timeout=180, every=0.2
    )
    log = engine.read_log(key, 0).data.decode()
    assert status.state is RunState.SUCCEEDED, log
    return log


@pytest.mark.parametrize("network", ["host", "isolated"])
def test_a_job_reaches_the_hosts_loopback_unless_its_network_is_isolated(
    tmp_path: Path, listener: tuple[int, list[bytes]], network: str
) -> None:
    port, heard = listener
    engine = LocalEngine(tmp_path / "runs", SystemClock(), network=network)
    log = _run(engine, f"net-{network}", PROBE.format(port=port))
    if network == "host":
        assert "REACHED" in log
        assert wait_until(lambda: heard or None, timeout=10) == [b"probe\n"]
    else:
        assert "UNREACHABLE" in log
        assert heard == []


@pytest.mark.skipif(
    (not os.environ.get("SUANLI_REGISTRY") or shutil.which("podman") is None)
    and not os.environ.get("CI"),
    reason="needs podman and SUANLI_REGISTRY",
)
@pytest.mark.parametrize("network", ["host", "isolated"])
def test_a_container_of_an_isolated_cluster_has_no_network(
    tmp_path: Path, listener: tuple[int, list[bytes]], network: str
) -> None:
    port, heard = listener
    engine = LocalEngine(
        tmp_path / "runs",
        SystemClock(),
        registry=os.environ.get("SUANLI_REGISTRY"),
        network=network,
    )
    key = f"net-box-{network}"
    log = _run(engine, key, PROBE.format(port=port), image="suanli/debian:bookworm")
    if network == "host":
        assert "REACHED" in log
        assert wait_until(lambda: heard or None, timeout=10) == [b"probe\n"]
    else:
        assert "UNREACHABLE" in log
        assert heard == []


def test_an_unknown_network_or_isolation_without_bubblewrap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineFailure, match="allowed host, isolated"):
        LocalEngine(tmp_path / "a", SystemClock(), network="bridge")
    bare = Isolation(users=False, bwrap=None, setpriv=None)
    with pytest.raises(EngineFailure, match="needs bubblewrap"):
        LocalEngine(tmp_path / "b", SystemClock(), isolation=bare, network="isolated")


def test_the_fleet_files_engine_option_isolates_the_clusters_jobs(tmp_path: Path) -> None:
    text = """
providers:
  - name: p1
    clusters:
      - name: c1
        region: beijing
        engine: {type: local, options: {network: isolated}}
        pools:
          - {name: a, nodes: 1, cpus_per_node: 8, memory_gb_per_node: 16,
             price_per_accelerator_hour: "1"}
"""
    (cluster,) = parse_fleet_text(text, builtin_catalog()).clusters()
    engine = engine_for(cluster, EngineContext(tmp_path, SystemClock()))
    assert isinstance(engine, LocalEngine)
    assert engine.network == "isolated"
