"""Real servers for the gateway's tests: replica processes (tests.replica) and the gateway
itself under uvicorn in a thread, on free ports."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from suanli.domain.access import OrgKind
from suanli.domain.serving import ReplicaEndpoint, ServiceRoute, Visibility
from suanli.service import access
from suanli.service.deps import Platform
from tests.access import OPERATOR
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def tenants(platform: Platform, *names: str) -> None:
    """Tenant organisations ``names``, made when missing (keys belong to tenants)."""
    for name in names:
        if access.store(platform).organisation(name) is None:
            access.add_organisation(platform, OPERATOR, name, OrgKind.TENANT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReplicaProcess:
    """One ``python -m tests.replica`` process."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.replica", "--port", str(self.port), *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._healthy, timeout=60, every=0.05)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"replica exited with {self.proc.returncode}")
        try:
            return httpx.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def endpoint(self, replica_id: str, ready: bool = True) -> ReplicaEndpoint:
        return ReplicaEndpoint(replica_id, self.url, ready)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@contextmanager
def replicas(count: int, *args: str) -> Iterator[list[ReplicaProcess]]:
    started: list[ReplicaProcess] = []
    try:
        started.extend(ReplicaProcess(*args) for _ in range(count))
        yield started
    finally:
        for r in started:
            r.kill()


@contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """``app`` under uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30, every=0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def route(
    service_id: str,
    owner: str,
    name: str,
    endpoints: tuple[ReplicaEndpoint, ...],
    served_name: str | None = None,
    visibility: Visibility = "private",
    tenants: tuple[str, ...] = (),
    min_replicas: int = 0,
    max_replicas: int = 3,
) -> ServiceRoute:
    return ServiceRoute(
        service_id=service_id,
        name=name,
        owner=owner,
        revision=1,
        served_name=served_name,
        visibility=visibility,
        tenants=tenants,
        payer="caller",
        base_model="tiny-llama",
        publisher=owner,
        domestic=True,
        input_price_per_million_yuan=Decimal("1.00"),
        output_price_per_million_yuan=Decimal("2.00"),
        replicas=endpoints,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
    )


T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
