"""The console's job page shows a job's image and the digest that ran (real server, podman,
the platform's registry, real Chromium)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_console import MS, _page
from tests.e2e.server import Server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        (not os.environ.get("SUANLI_REGISTRY") or shutil.which("podman") is None)
        and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]
HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello-container.yaml"


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_the_job_page_shows_the_image_and_its_digest(
    browser: Any, server: Server, shots: Path, lang: str
) -> None:
    job_id = server.submit(HELLO)["id"]
    digest = server.wait_for(job_id, "succeeded")["image_digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    page = _page(browser, server, lang=lang)
    page.goto(f"/console/jobs/{job_id}")
    page.wait_for_selector('#job-panel[data-status="succeeded"]', timeout=MS)
    shown = page.inner_text("#job-image")
    assert "suanli/debian:bookworm" in shown
    assert page.inner_text("#job-image-digest") == digest
    assert ("镜像" in shown) == (lang == "zh-CN")
    page.screenshot(path=str(shots / f"job-image-{lang}.png"), full_page=True)
    page.context.close()
