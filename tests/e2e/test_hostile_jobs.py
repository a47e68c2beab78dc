"""A hostile tenant's jobs against the real server and local engine (issue 17's probes).

Tenant ``mallory`` submits real jobs with a ``tenant_member`` token; each tries one thing a
job must never do: read the operator token, the database, another tenant's launch file, log
or work files; write into another run's directory; signal the server or another tenant's
job; read the server's environment (its database URL). Every probe must fail inside the
sandbox, and the very same command, run outside it (as the server's user, root in CI), must
work: so each test can fail.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from suanli.engines.sandbox import account_name, detect
from tests.conftest import wait_until
from tests.e2e.server import JOB_TIMEOUT_S, Server, kill_leftover_runs
from tests.procs import alive, group_members

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not detect().complete and not os.environ.get("CI"),
        reason="needs root and bubblewrap (scripts/test installs it; CI runs as root)",
    ),
]

TENANTS = """
format: suanli/tenants/v1
tenants:
  - {name: mallory, quota: {T4: 4}}
  - {name: victim, quota: {T4: 4}}
"""
SERVER_SECRET = "server-env-secret-5f1c"  # in the server's environment only
VICTIM_ENV_SECRET = "victim-env-secret-93ab"  # in the victim's spec env (launch.json)
VICTIM_LOG_SECRET = "victim-log-secret-7d20"  # in the victim's output.log
VICTIM_FILE_SECRET = "victim-file-secret-c4e8"  # in a file of the victim's work dir
VICTIM_SPEC = f"""
name: victim
resources: {{accelerator: {{model: T4, count: 1}}}}
env: {{VICTIM_SECRET: {VICTIM_ENV_SECRET}}}
run: |
  echo {VICTIM_LOG_SECRET}
  echo {VICTIM_FILE_SECRET} > secret.txt
  echo victim-is-up
  exec sleep 600
time_limit_hours: 0.5
"""


@dataclass
class Arena:
    server: Server
    tokens: dict[str, str]  # tenant -> a tenant_member's token
    victim_job: str
    victim_run: Path
    victim_pid: int  # the victim job's process as the host sees it

    @property
    def server_pid(self) -> int:
        return int((self.server.data_dir / "server.lock").read_text().split()[0])

    def submit(self, tenant: str, spec: str) -> str:
        with httpx.Client(
            base_url=self.server.url,
            trust_env=False,
            timeout=10,
            headers={"Authorization": f"Bearer {self.tokens[tenant]}"},
        ) as client:
            r = client.post("/api/v1/jobs", json={"spec_yaml": spec})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def run_dir(self, job_id: str) -> Path:
        job = self.server.job(job_id)
        cluster, key = str(job["placement"]["cluster"]), str(job["engine_key"])
        return self.server.data_dir / "runs" / cluster / key


def _operator(server: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with server.http() as client:
        r = client.post(path, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    base = tmp_path_factory.mktemp("hostile")
    (base / "tenants.yaml").write_text(TENANTS)
    data_dir = base / "data"
    server = Server(data_dir, None, ("--tenants", str(base / "tenants.yaml")))
    with pytest.MonkeyPatch.context() as env:
        for name, value in _server_env(data_dir).items():
            env.setenv(name, value)
        server.start()
    try:
        tokens = {}
        for tenant in ("mallory", "victim"):
            _operator(server, "/api/v1/organisations", {"name": tenant, "kind": "tenant"})
            user = f"{tenant}-member"
            body = {"name": user, "organisation": tenant, "role": "tenant_member"}
            _operator(server, "/api/v1/users", body)
            tokens[tenant] = _operator(server, "/api/v1/tokens", {"user": user})["token"]
        arena = Arena(server, tokens, "", Path(), 0)
        arena.victim_job = arena.submit("victim", VICTIM_SPEC)
        server.wait_for(arena.victim_job, "running")
        arena.victim_run = arena.run_dir(arena.victim_job)
        wait_until(lambda: "victim-is-up" in _log(arena.victim_run), timeout=JOB_TIMEOUT_S)
        group = json.loads((arena.victim_run / "started.json").read_text())["group"]
        arena.victim_pid = wait_until(
            lambda: next((p for p in group_members(group) if _comm(p) == "sleep"), 0)
        )
        yield arena
    finally:
        server.stop()
        kill_leftover_runs(data_dir)


def _server_env(data_dir: Path) -> dict[str, str]:
    """The server's own settings: its database URL (as with PostgreSQL) and a secret."""
    return {
        "SUANLI_DATABASE_URL": f"sqlite:///{data_dir / 'suanli.db'}",
        "SUANLI_PROBE_SECRET": SERVER_SECRET,
    }


def _log(run_dir: Path) -> str:
    try:
        return (run_dir / "output.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Probe:
    name: str
    command: str  # bash; {data}, {victim}, {server_pid}, {victim_pid} filled in
    secret: str | None  # what its output holds when it worked (None: its exit status says)
    relative: bool = False  # paths from a run's work dir (outside: the victim's)


PROBES = [
    Probe(
        "the issue's exploit",
        "cat ../../../../operator.token && kill -0 $(cat ../../../../server.lock)",
        None,
        relative=True,
    ),
    Probe("read the operator token", "cat {data}/operator.token", None),
    Probe("read the database", "head -c 15 {data}/suanli.db", "SQLite format 3"),
    Probe("read another tenant's launch file", "cat {victim}/launch.json", VICTIM_ENV_SECRET),
    Probe("read another tenant's log", "cat {victim}/output.log", VICTIM_LOG_SECRET),
    Probe("read another tenant's files", "cat {victim}/work/secret.txt", VICTIM_FILE_SECRET),
    Probe("write into another run", "touch {victim}/cancel && test -f {victim}/cancel", None),
    Probe("signal the server", "kill -0 {server_pid}", None),
    Probe("signal another tenant's job", "kill -0 {victim_pid}", None),
    Probe("read the server's environment", "cat /proc/{server_pid}/environ", SERVER_SECRET),
    Probe("find the database URL in its own environment", "env", "SUANLI_DATABASE_URL="),
]


def _fill(arena: Arena, probe: Probe) -> str:
    return probe.command.format(
        data=shlex.quote(str(arena.server.data_dir)),
        victim=shlex.quote(str(arena.victim_run)),
        server_pid=arena.server_pid,
        victim_pid=arena.victim_pid,
    )


def _worked(probe: Probe, exit_code: int, output: str) -> bool:
    return exit_code == 0 and (probe.secret is None or probe.secret in output)


# The same probes from a container too: in its tenant's own user namespace (engines/userns.py).
IMAGE = "suanli/debian:bookworm"
WHERE = [
    pytest.param(None, id="bare"),
    pytest.param(
        IMAGE,
        id="image",
        marks=pytest.mark.skipif(
            (not os.environ.get("SUANLI_REGISTRY") or shutil.which("podman") is None)
            and not os.environ.get("CI"),
            reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
        ),
    ),
]


@pytest.mark.parametrize("image", WHERE)
@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_the_probe_fails_inside_a_job(arena: Arena, probe: Probe, image: str | None) -> None:
    command = _fill(arena, probe)
    # The real thing for the signals: kill -9 (kill -0 only checks outside, below).
    command = command.replace("kill -0", "kill -9")
    spec = (
        f"name: probe\nresources: {{accelerator: {{model: T4, count: 1}}}}\n"
        f"run: {json.dumps(command + '; echo probe-exit=$?')}\n"
        + (f"image: {image}\n" if image else "")
    )
    job_id = arena.submit("mallory", spec)

    def ended() -> dict[str, Any] | None:
        job = arena.server.job(job_id)
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_until(ended, timeout=JOB_TIMEOUT_S)
    output = _log(arena.run_dir(job_id))
    assert job["status"] == "succeeded", output
    if image:
        assert "[suanli] resolved sha256:" in output  # it ran in the container
    exit_code = int(output.rsplit("probe-exit=", 1)[1].split()[0])
    assert not _worked(probe, exit_code, output), output
    token = (arena.server.data_dir / "operator.token").read_text().strip()
    assert token not in output
    assert SERVER_SECRET not in output
    assert "SUANLI_DATABASE_URL" not in output.replace(command, "")
    # Nothing happened to the server, the victim or its run.
    assert alive(arena.server_pid)
    assert alive(arena.victim_pid)
    assert not (arena.victim_run / "cancel").exists()
    assert arena.server.job(arena.victim_job)["status"] == "running"


def test_tenants_run_as_their_own_users_in_private_dirs(arena: Arena) -> None:
    work = arena.victim_run / "work"
    owner = work.stat()
    assert owner.st_uid != 0
    assert account_name("victim") == _user(owner.st_uid)
    assert owner.st_mode & 0o777 == 0o700
    for name in ("launch.json", "output.log", "started.json"):
        st = (arena.victim_run / name).stat()
        assert (st.st_uid, st.st_mode & 0o777) == (os.geteuid(), 0o600), name
    for path in (arena.server.data_dir, arena.victim_run, arena.victim_run.parent):
        assert path.stat().st_mode & 0o777 == 0o700, path
    for name in ("operator.token", "suanli.db", "suanli.db-wal", "suanli.db-shm", "server.lock"):
        assert (arena.server.data_dir / name).stat().st_mode & 0o777 == 0o600, name


def _user(uid: int) -> str:
    return pwd.getpwuid(uid).pw_name


def test_every_probe_works_outside_the_sandbox(arena: Arena) -> None:
    """The same commands as the server's own user: each does what the job could not."""
    # What a job inherited before the sandbox: the server's environment.
    env = {**os.environ, **_server_env(arena.server.data_dir)}
    for probe in PROBES:
        command = _fill(arena, probe)
        done = subprocess.run(
            ["/bin/bash", "-c", command],
            capture_output=True,
            text=True,
            env=env,
            cwd=arena.victim_run / "work" if probe.relative else None,
            check=False,
        )
        assert _worked(probe, done.returncode, done.stdout), (probe.name, done.stderr)
    # The write landed: the victim's supervisor reads it as a cancel.
    arena.server.wait_for(arena.victim_job, "cancelled")
