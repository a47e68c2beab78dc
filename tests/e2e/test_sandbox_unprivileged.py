"""`suanli up` without root: it says at start which isolation its jobs lack, in en and zh.

The server runs as ``nobody`` (setpriv, from root in CI): no per-tenant users, but
bubblewrap's namespaces still work (an unprivileged user namespace) and are used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.server import SUANLI, _child_env, _free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop it"
    ),
]
NOBODY = 65534
EXPLOIT = (
    "cat ../../../../operator.token && kill -9 $(cat ../../../../server.lock); "
    "echo exploit-exit=$?"
)


def _run_job(url: str, data_dir: Path, run: str) -> str:
    """Submit ``run`` as the operator; its output once it has ended."""
    token = (data_dir / "operator.token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    spec = f"name: probe\nresources: {{accelerator: {{model: T4, count: 1}}}}\nrun: {json.dumps(run)}\n"
    with httpx.Client(base_url=url, trust_env=False, timeout=10, headers=headers) as client:
        created = client.post("/api/v1/jobs", json={"spec_yaml": spec})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]

        def ended() -> bool:
            status = client.get(f"/api/v1/jobs/{job_id}").json()["status"]
            return status in ("succeeded", "failed", "cancelled")

        wait_until(ended, timeout=60)
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        logs = client.get(f"/api/v1/jobs/{job_id}/logs")
        return f"{job['status']}: {job['history'][-1]['reason']['message']}\n{logs.text}"


def _nobody_can_run_python() -> bool:
    """Whether ``nobody`` reaches this interpreter (a pyenv under /root 0700 it does not)."""
    check = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    check += ["/bin/sh", "-c", f"test -x {os.path.realpath(sys.executable)}"]
    return subprocess.run(check, check=False).returncode == 0


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "only partly sandboxed"), ("zh", "作业沙箱不完整")],
)
def test_a_server_without_root_warns_what_its_jobs_lack(
    tmp_path: Path, lang: str, words: str
) -> None:
    # Not under pytest's own temporary directory: that one is root's alone (0700).
    home = Path(tempfile.mkdtemp(prefix="suanli-nobody-"))
    home.chmod(0o755)
    os.chown(home, NOBODY, NOBODY)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**_child_env(url, home / "data"), "SUANLI_LANG": lang, "SUANLI_JOB_MOUNTS": ""}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                str(SUANLI),
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(home / "data"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    try:

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/healthz", trust_env=False).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=60)
        text = log.read_text()
        assert words in text, text
        assert (home / "data").stat().st_mode & 0o777 == 0o700
        if lang == "en":
            assert "per-tenant users (needs root)" in text
            assert "see neither the data directory nor any other process" in text
        if lang == "en" and _nobody_can_run_python():  # the runner is this Python, as nobody
            # And so it is: the exploit from a job of this server fails.
            job_out = _run_job(url, home / "data", EXPLOIT)
            assert "exploit-exit=" in job_out, job_out  # it ran
            assert "exploit-exit=0" not in job_out, job_out
            token = (home / "data" / "operator.token").read_text().strip()
            assert token not in job_out
            assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
