"""Shared fixtures: a fixed clock, a temporary platform on SQLite, polling for real processes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from suanli.domain.clock import FixedClock, SystemClock
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform

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


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    """A real platform (demo fleet, SQLite, local engine) in a temporary directory."""
    return open_platform(tmp_path / "data", detect_gpus=False)
