"""Two `suanli up` processes over one real PostgreSQL: one control loop, taken over on kill -9."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import postgres_url, reset_postgres, wait_until
from tests.e2e.server import JOB_TIMEOUT_S, Server, kill_leftover_runs

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JOBS = 12
TAKEOVER_S = 10.0


@pytest.fixture
def pg_url() -> str:
    url = postgres_url()
    if not url:
        pytest.skip("SUANLI_TEST_POSTGRES_URL is unset (scripts/test sets it)")
    reset_postgres(url)
    return url


@pytest.fixture
def pair(tmp_path: Path, pg_url: str) -> Iterator[tuple[Server, Server]]:
    data_dir = tmp_path / "data"  # shared: the runs of one are adopted by the other
    args = ("--database-url", pg_url)
    first, second = Server(data_dir, args=args), Server(data_dir, args=args)
    try:
        first.start()
        second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()
        kill_leftover_runs(data_dir)


def scheduler(server: Server) -> str | None:
    try:
        with server.http() as client:
            return str(client.get("/healthz").json()["scheduler"])
    except httpx.TransportError:
        return None


def test_one_scheduler_takes_over_within_10_s_and_no_job_runs_twice(
    pair: tuple[Server, Server], exchange: Path
) -> None:
    first, second = pair

    def states() -> list[str]:
        return sorted(scheduler(s) or "down" for s in (first, second))

    wait_until(lambda: states() == ["active", "standby"])  # exactly one control loop
    holder, other = (first, second) if scheduler(first) == "active" else (second, first)
    ran = exchange / "ran.txt"
    spec = {
        "name": "once",
        "run": f'echo "$SUANLI_JOB_ID" >> {ran}; sleep 2',
        "time_limit_hours": 0.1,
    }
    with other.http() as client:
        ids = []
        for _ in range(JOBS):
            r = client.post("/api/v1/jobs", json={"spec": spec})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    wait_until(lambda: any(holder.job(i)["status"] == "running" for i in ids))
    holder.kill9()
    wait_until(lambda: scheduler(other) == "active", timeout=TAKEOVER_S)
    for job_id in ids:
        done = other.wait_for(job_id, "succeeded", timeout=JOB_TIMEOUT_S)
        placed = [e for e in done["history"] if e["to_status"] == "placed"]
        assert len(placed) == done["attempt"] == 1, done["history"]
    counts = collections.Counter(ran.read_text().split())
    assert counts == dict.fromkeys(ids, 1)  # every job ran, and ran once
