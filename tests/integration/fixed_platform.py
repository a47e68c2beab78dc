"""A demo platform at a fixed instant, for the money-programme API tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from suanli.domain.clock import FixedClock
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def open_test_platform(tmp_path: Path, database_url: str) -> Platform:
    """The demo platform on ``database_url``; opening it again sees the same data."""
    return open_platform(
        tmp_path / "data", clock=FixedClock(NOW), database_url=database_url, detect_gpus=False
    )
