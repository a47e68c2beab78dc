"""What `suanli --help` and `suanli status` import: only what each needs (bench/cli_speed.py
has the figures). Each probe runs the real CLI in a fresh interpreter; `status` asks a real
HTTP server (the standard library's, in the probe) for a job list."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from typing import Any

import pytest
from typer._click.utils import make_default_short_help
from typer.testing import CliRunner

from suanli.cli import main
from suanli.cli.lazy import LAZY, load
from suanli.client.rows import JobPage, JobRow, WireShapeError, wire_fields
from suanli.schemas.api import JobListResponse, JobSummary

# Never imported by `suanli --help` nor `suanli status` (the job list).
HEAVY = (
    "numpy",
    "scipy",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "yaml",
    "httpx",  # imports its own CLI: click, rich.progress, pygments
    "click",
    "pygments",
    "suanli.schemas",
    "suanli.sim",
    "suanli.scheduler",
    "suanli.service",
)
# `--help` prints no table and asks no server. (A command that runs imports pydantic itself:
# Typer 0.29 coerces every parameter through a pydantic TypeAdapter; the API's wire models,
# suanli.schemas, are what `status` leaves out.)
HELP_ALSO = (
    "pydantic",
    "rich",
    "suanli.client",
    "suanli.cli.jobs",
    "suanli.cli.billing",
    "suanli.cli.sim",
)

ROW = {
    "id": "j-abc123",
    "name": "hello",
    "tenant": "demo",
    "status": "running",
    "attempt": 1,
    "accelerator": "T4",
    "cluster": "tj-binhai-1",
    "pool": "t4",
    "submitted_at": "2026-12-07T07:00:00Z",
    "updated_at": "2026-12-07T07:01:00+00:00",
    "started_at": "2026-12-07T07:01:00+00:00",
    "finished_at": None,
}
PAGE = {"jobs": [ROW], "total": 1, "limit": 20, "offset": 0}

PROBE = """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

PAGE = {page!r}

class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(PAGE).encode()
        self.send_response(200 if self.path.startswith("/api/v1/jobs?") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Api)
threading.Thread(target=server.serve_forever, daemon=True).start()
before = set(sys.modules)
from suanli.cli.main import app
try:
    app({args!r})
except SystemExit:
    pass
print("IMPORTED=" + ",".join(sorted(set(sys.modules) - before)))
"""


def _imported(args: list[str]) -> tuple[str, set[str]]:
    code = PROBE.format(page=PAGE, args=args)
    # The server URL is only known inside the probe: pass it through the environment.
    code = code.replace(
        "from suanli.cli.main import app",
        "import os\n"
        "os.environ['SUANLI_SERVER'] = f'http://127.0.0.1:{server.server_port}'\n"
        "os.environ['SUANLI_TOKEN'] = 'probe'\n"
        "from suanli.cli.main import app",
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "SUANLI_LANG": "en", "COLUMNS": "120"},
    )
    output, _, imported = done.stdout.rpartition("IMPORTED=")
    return output + done.stderr, set(imported.strip().split(","))


def _named(imported: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported if any(m == n or m.startswith(n + ".") for n in names))


def test_help_imports_no_command_module_no_rich_and_no_wire_models() -> None:
    output, imported = _imported(["--help"])
    assert "submit" in output
    assert "eval" in output  # a lazy command is listed from its registered line
    assert _named(imported, HEAVY + HELP_ALSO) == []


def test_status_asks_the_server_and_prints_without_pydantic_or_httpx() -> None:
    output, imported = _imported(["status"])
    assert "j-abc123" in output
    assert "tj-binhai-1/t4" in output
    assert _named(imported, HEAVY) == []
    assert "suanli.cli.billing" not in imported  # other commands' modules stay unread


def test_each_lazy_line_matches_its_command_and_loads() -> None:
    assert len(LAZY) >= 17
    for name, entry in LAZY.items():
        command = load(name, entry)
        assert command.name == name
        wanted = command.help if command.help else ""
        # The line --help shows is the command's own first paragraph.
        assert make_default_short_help(entry.help, 200) == make_default_short_help(wanted, 200)


def test_a_lazy_command_runs_with_the_root_options() -> None:
    result = CliRunner().invoke(main.app, ["--lang", "zh", "bill", "demo", "--month", "2026-13"])
    assert result.exit_code == 2
    assert "错误" in result.output


def test_the_plain_job_rows_are_the_wire_models_fields() -> None:
    assert wire_fields(JobRow) == set(JobSummary.model_fields)
    assert wire_fields(JobPage) == set(JobListResponse.model_fields)
    page = JobPage.read(PAGE)
    model = JobListResponse.model_validate(PAGE)
    for f in fields(JobRow):
        assert getattr(page.jobs[0], f.name) == getattr(model.jobs[0], f.name)
    assert page.sent == PAGE


@pytest.mark.parametrize(
    "bad",
    [
        {"jobs": None, "total": 1, "limit": 1, "offset": 0},
        {"jobs": [{**ROW, "attempt": "1"}], "total": 1, "limit": 1, "offset": 0},
        {"jobs": [{**ROW, "submitted_at": "yesterday"}], "total": 1, "limit": 1, "offset": 0},
        {"jobs": [{**ROW, "id": None}], "total": 1, "limit": 1, "offset": 0},
        {"jobs": [], "total": True, "limit": 1, "offset": 0},
    ],
)
def test_a_job_list_of_another_shape_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(WireShapeError):
        JobPage.read(json.loads(json.dumps(bad)))


def test_a_server_on_this_machine_is_reached_without_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from suanli.client.wire import Wire, WireError

    # A proxy that does not exist: a request through it would fail as unreachable.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server = _serve_once()
    reply = Wire(f"http://127.0.0.1:{server.server_port}/api/v1", {}, 5).request(
        "GET", "/jobs", {"limit": 1, "follow": True, "status": ["a", "b"]}
    )
    server.server_close()
    assert reply.status_code == 200
    assert reply.json() == PAGE
    assert server.seen == ["/api/v1/jobs?limit=1&follow=true&status=a&status=b"]
    with pytest.raises(WireError) as caught:
        Wire("http://remote.invalid/api/v1", {}, 5).request("GET", "/jobs")
    assert caught.value.kind in ("refused", "name")  # the proxy at :9 refuses


def _serve_once() -> Any:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[str] = []

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps(PAGE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Api)
    server.seen = seen  # type: ignore[attr-defined]
    threading.Thread(target=server.handle_request, daemon=True).start()
    return server
