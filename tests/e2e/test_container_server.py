"""A job in an image through the real server and CLI: the digest stored and shown."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, kill_leftover_runs

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        (not os.environ.get("SUANLI_REGISTRY") or shutil.which("podman") is None)
        and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]
HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello-container.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        kill_leftover_runs(tmp_path / "data")


def test_hello_container_runs_and_its_digest_is_stored_and_shown(server: Server) -> None:
    job_id = server.submit(HELLO)["id"]
    job = server.wait_for(job_id, "succeeded")
    digest = job["image_digest"]
    assert digest.startswith("sha256:")
    reasons = [e["reason"]["message"] for e in job["history"]]
    assert any(digest in r and "suanli/debian:bookworm" in r for r in reasons), reasons
    shown = server.cli("status", job_id).stdout
    assert "suanli/debian:bookworm" in shown
    assert digest in shown
    assert "hello from Debian GNU/Linux 12" in server.cli("logs", job_id).stdout
