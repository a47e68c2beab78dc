"""Shared fixtures: a fixed clock, a temporary platform on SQLite, polling for real processes."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text

from suanli.domain.clock import FixedClock, SystemClock
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.store.sql.database import normalize_url, sqlite_url

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float = 30.0, every: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; real processes take real time."""
    clock = SystemClock()
    end = clock.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = probe()
        if value:
            return value
        if clock.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        pause.wait(every)


def postgres_url() -> str | None:
    """The test PostgreSQL, if any; in CI its absence is an error, never a silent skip."""
    url = os.environ.get("SUANLI_TEST_POSTGRES_URL")
    if not url and os.environ.get("CI"):
        raise RuntimeError("CI must run the PostgreSQL tests: SUANLI_TEST_POSTGRES_URL is unset")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind (PostgreSQL: all tables dropped first)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "test.db")
    url = postgres_url()
    if not url:
        pytest.skip("SUANLI_TEST_POSTGRES_URL is unset (scripts/test sets it)")
    reset_postgres(url)
    return url


def reset_postgres(url: str) -> None:
    """Drop every table: the URL's schema (``?options=-csearch_path%3DNAME``, default public)."""
    found = re.search(r"search_path(?:%3D|=)([a-z_][a-z0-9_]*)", url)
    schema = found.group(1) if found else "public"
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def job_mounts() -> Iterator[Path]:
    """A directory every local job sees (``SUANLI_JOB_MOUNTS``): jobs run as their tenant's
    user with the rest of the host hidden, so tests hand them gates and markers here."""
    root = Path(tempfile.mkdtemp(prefix="suanli-exchange-"))
    root.chmod(0o755)
    saved = os.environ.get("SUANLI_JOB_MOUNTS")
    os.environ["SUANLI_JOB_MOUNTS"] = str(root)
    try:
        yield root
    finally:
        if saved is None:
            os.environ.pop("SUANLI_JOB_MOUNTS", None)
        else:
            os.environ["SUANLI_JOB_MOUNTS"] = saved
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def exchange(job_mounts: Path) -> Path:
    """This test's own directory in ``job_mounts``: any job may write it, the test reads it."""
    path = Path(tempfile.mkdtemp(dir=job_mounts))
    path.chmod(0o777)
    return path


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    """A real platform (demo fleet, SQLite, local engine) in a temporary directory."""
    return open_platform(tmp_path / "data", detect_gpus=False)
