"""Fixtures shared by integration tests: the demo platform on each database; for the
money-programme API tests, a platform at a fixed instant, signed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from tests.access import signed_in
from tests.integration.fixed_platform import open_test_platform


@pytest.fixture
def demo_platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    """The demo fleet's platform on each kind of database (SQLite, PostgreSQL)."""
    p = open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def platform_db(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    p = open_test_platform(tmp_path, database_url)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def api(platform_db: Platform) -> Iterator[TestClient]:
    """The API over ``platform_db``, signed in as the operator (modules may define their own)."""
    with TestClient(create_app(platform_db, run_loop=False)) as client:
        signed_in(client, platform_db)
        yield client
