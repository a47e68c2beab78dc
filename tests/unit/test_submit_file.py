"""`suanli submit` on hostile files (issue 17): exit 2 naming the field or the file, having
read at most the size limit, before anything is sent (the server named here is never up:
trying to reach it would exit 1, not 2)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli.main import app
from suanli.domain.spec import MAX_SPEC_BYTES


def _nowhere() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def submit(path: Path | str) -> tuple[int, str]:
    env = {"SUANLI_SERVER": _nowhere(), "SUANLI_TOKEN": "sl_x_y", "LANG": "en_US.UTF-8"}
    result = CliRunner().invoke(app, ["submit", str(path)], env=env)
    return result.exit_code, result.output


GOOD = "name: a\nrun: echo hi\n"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('name: a\nrun: x\nenv: {A: "x\\0y"}\n', "env.A"),
        ("name: a\nrun: x\npriority: " + "9" * 5000 + "\n", "priority"),
        ("name: a\nrun: x\ndeadline: 2026-02-30T00:00:00Z\n", "deadline"),
        ("name: a\nrun: x\ndeadline: 9999-99-99\n", "deadline"),
        ("name: a\nrun: x\nname: b\n", "line 3"),
        ("name: a\nrun: &r x\nsetup: *r\n", "setup"),
    ],
    ids=["nul", "huge-int", "feb-30", "month-99", "duplicate", "alias"],
)
def test_a_hostile_spec_exits_2_naming_the_field(tmp_path: Path, text: str, named: str) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    code, output = submit(spec)
    assert code == 2, output
    assert named in output
    assert "Traceback" not in output


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_without_reading_it() -> None:
    code, output = submit("/dev/zero")
    assert code == 2, output
    assert "not a regular file" in output


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "job.yaml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block for ever
    code, output = submit(fifo)
    assert code == 2, output
    assert "not a regular file" in output


def test_a_file_over_the_limit_is_refused_by_size(tmp_path: Path) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text(GOOD + "# " + "x" * MAX_SPEC_BYTES + "\n")
    code, output = submit(spec)
    assert code == 2, output
    assert str(MAX_SPEC_BYTES) in output
