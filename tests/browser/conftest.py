"""Playwright driving Debian's headless Chromium against a real `suanli up` server.

No browser is downloaded: Playwright launches the system `chromium` (scripts/browser.sh
installs it). Without it the tests skip locally and fail in CI. Screenshots of each main
page go to test-artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, kill_leftover_runs

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "console"


def _chromium() -> str | None:
    return os.environ.get("SUANLI_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = _chromium()
    if path is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: no chromium (scripts/browser.sh)")
        pytest.skip("no chromium on PATH (apt-get install chromium; scripts/test does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("console") / "data"
    running = Server(data_dir)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        kill_leftover_runs(data_dir)


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
