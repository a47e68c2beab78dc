"""Every engine gives a service replica an address and a port (``HOST``, ``PORT``) and
reports where it answers: a real HTTP server (Python's http.server) started as the replica,
listening at ``HOST:PORT``, answers at that address on the local engine, Slurm and Ray; the
simulated engine names an address nobody serves."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from suanli.engines.base import REPLICA_ENV, LogChunk, address_source
from suanli.engines.replica_port import ADDRESS_MARK, address_in_log
from tests.contract.test_engines import KINDS, Harness
from tests.rayhead import node_hosts

SERVER = 'exec python3 -m http.server "$PORT" --bind "$HOST"'


RAY = pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.allow_hosts(node_hosts())])


@pytest.fixture(params=["simulated", "local", "slurm", RAY])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    h = KINDS[request.param](tmp_path)
    try:
        yield h
    finally:
        h.stop_all()


def this_hosts_addresses() -> set[str]:
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True)
    return {*found.stdout.split(), "127.0.0.1", socket.gethostname()}


def answers(url: str) -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            return client.get(url + "/").status_code == 200
    except httpx.HTTPError:
        return False


def test_a_replica_gets_a_port_and_its_engine_says_where_it_answers(harness: Harness) -> None:
    engine = harness.make()
    base = harness.request(run_s=3600)
    spec = base.spec.model_copy(
        update={"run": SERVER, "env": {**base.spec.env, REPLICA_ENV: "r-1"}}
    )
    request = dataclasses.replace(base, spec=spec)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    source = address_source(engine)
    assert source is not None
    url = harness.wait(lambda: source.address(request.key))
    assert url.startswith("http://")
    if harness.kind == "simulated":
        assert url.endswith(".sim.invalid")
        return
    host = url.removeprefix("http://").rsplit(":", 1)[0]
    if harness.kind == "ray":  # the CI's Ray node is this host, at its own address
        assert host in this_hosts_addresses()
    else:  # the local engine, and the test Slurm's nodes (NodeAddr)
        assert host == "127.0.0.1"
    # The replica listens at HOST:PORT, where the engine says it answers (the gateway's view).
    harness.wait(lambda: answers(url))


def test_a_batch_run_has_no_address(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=60)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    source = address_source(engine)
    assert source is not None
    assert source.address(request.key) is None


def test_only_the_first_well_formed_mark_counts() -> None:
    def log(text: str) -> LogChunk:
        return LogChunk(text.encode(), len(text))

    first = f"{ADDRESS_MARK}http://10.0.0.7:31000\n{ADDRESS_MARK}http://evil.example:1\n"
    assert address_in_log(lambda k, o, n: log(first), "k") == "http://10.0.0.7:31000"
    assert address_in_log(lambda k, o, n: log(f"{ADDRESS_MARK}javascript:x\n"), "k") is None
    assert address_in_log(lambda k, o, n: log("nothing yet\n"), "k") is None
