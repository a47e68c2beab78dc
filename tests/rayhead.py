"""The real Ray head the Ray tests run against (scripts/ray-up.sh; scripts/test starts it)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.engines.ray import RayEngine


def ray_address() -> str | None:
    """The Ray Jobs API, if any; in CI its absence is an error, never a silent skip."""
    url = os.environ.get("SUANLI_TEST_RAY_ADDRESS")
    if not url and os.environ.get("CI"):
        raise RuntimeError("CI must run the Ray tests: SUANLI_TEST_RAY_ADDRESS is unset")
    return url


def node_hosts() -> list[str]:
    """Where the CI's Ray node (this host) is reached: loopback and this host's own
    addresses (a replica on Ray listens at the node's, ``HOST``). For pytest-socket's
    ``allow_hosts`` mark: tests connect to this machine only, never beyond it."""
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False)
    return ["127.0.0.1", "::1", *(a for a in found.stdout.split() if ":" not in a)]


def ray_python() -> str:
    """The Python with Ray on the test head (next to its CLI), which runs a gang's driver."""
    cli = os.environ.get("SUANLI_TEST_RAY_CLI")
    return str(Path(cli).with_name("python")) if cli else "python3"


def require_ray() -> str:
    url = ray_address()
    if not url:
        pytest.skip("SUANLI_TEST_RAY_ADDRESS is unset (scripts/test sets it, as root)")
    return url


def unique_key(label: str = "t") -> str:
    """A run key no earlier test run used: the head keeps every job it ever ran."""
    return f"suanli-test-{label}-{uuid.uuid4().hex[:12]}"


class RayRuns:
    """A RayEngine that stops, at the end of a test, every run the test left going."""

    def __init__(self, url: str) -> None:
        self.engine = RayEngine(url, SystemClock())
        self.keys: list[str] = []

    def key(self, label: str = "t") -> str:
        key = unique_key(label)
        self.keys.append(key)
        return key

    def stop_all(self) -> None:
        for key in self.keys:
            if not self.engine.status(key).state.is_final:
                self.engine.cancel(key)
        self.engine.close()


def ray_runs() -> Iterator[RayRuns]:
    runs = RayRuns(require_ray())
    try:
        yield runs
    finally:
        runs.stop_all()
