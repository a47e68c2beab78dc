"""The real inference server for tests: llama.cpp's OpenAI-compatible server (installed by
scripts/inference.sh under /opt/suanli/llama) serving the tiny model the project builds.

Tests that need it call :func:`llama_or_skip` (skips with the reason, outside CI) and start
a :class:`LlamaServer` on a free port of 127.0.0.1; it is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

import httpx
import pytest
import yaml

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
PREFIX = Path(
    os.environ.get("SUANLI_LLAMA_PREFIX")
    or Path(os.environ.get("SUANLI_TENANT_PREFIX", "/opt/suanli")) / "llama"
)
PYTHON = PREFIX / "bin" / "python"
MODELS = Path(os.environ.get("SUANLI_MODELS_DIR", "/var/lib/suanli/models"))


def llama_or_skip() -> Path:
    """The inference environment's python; a skip saying how to get it (an error in CI)."""
    ok = PYTHON.is_file() and (
        subprocess.run(
            [str(PYTHON), "-c", "import llama_cpp.server, gguf, tokenizers"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not ok:
        why = f"no llama.cpp server under {PREFIX} (run scripts/inference.sh as root)"
        if os.environ.get("CI"):
            raise RuntimeError(f"CI must run the inference tests: {why}")
        pytest.skip(why)
    return PYTHON


def build_model(out_dir: Path = MODELS) -> dict[str, object]:
    """Build (or find) the tiny model; its JSON line: path, link, digest, fresh."""
    done = subprocess.run(
        [
            *(str(llama_or_skip()), "-m", "suanli.modelbuild", "--root", str(ROOT)),
            *("--out-dir", str(out_dir), "--json"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    found: dict[str, object] = json.loads(done.stdout)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


EXAMPLE = ROOT / "examples" / "services" / "tiny-llama-cpu.yaml"


def example_flags(model: Path, port: int, n_ctx: int) -> list[str]:
    """The server's arguments as the example service's ``run`` line gives them (after its
    python), for ``model`` on ``port``: the tests run the server as the example runs it."""
    run = yaml.safe_load(EXAMPLE.read_text())["run"]
    words = shlex.split(
        run.replace("$MODEL_PATH", str(model))
        .replace("$PORT", str(port))
        .replace("$HOST", "127.0.0.1")
    )
    flags = words[1:]
    flags[flags.index("--n_ctx") + 1] = str(n_ctx)
    return flags


class LlamaServer:
    """``python -m llama_cpp.server`` on a free port, as the example service runs it."""

    def __init__(self, model: Path, log: Path, n_ctx: int = 2048) -> None:
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._n_ctx = n_ctx
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LlamaServer:
        args = [str(llama_or_skip()), *example_flags(self.model, self.port, self._n_ctx)]
        args += ["--seed", "7"]
        with self._log.open("wb") as out:
            self._proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._ready, timeout=120, every=0.2)
        return self

    def _ready(self) -> bool | None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise AssertionError(f"llama server exited: {self._log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200 or None
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
