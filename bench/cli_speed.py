"""Benchmark: how long the CLI takes to answer, and how long the server takes to stop.

Runs, as subprocesses of this one, each several times:

  * ``suanli --help``;
  * ``suanli status`` against a real ``suanli up`` server (the demo fleet, a fresh data dir
    under a temporary directory) that this bench starts on a free port and stops by PID;
  * ``python -X importtime -m suanli.cli.main status``, once, for the top imports by
    cumulative time;
  * then SIGINT to the server (what Ctrl-C sends): the seconds until it exits, and whether
    it logged "Cancel N running task(s)" with a ``suanli logs --follow`` stream open.

Prints wall p50 and CPU (user+sys of the child) p50 per command, and the load average
before and after. On a shared machine the CPU figure is the comparable one; the wall figure
is what a user waits. Baselines in the same run: ``python -c pass`` (the interpreter's own
start), ``python -S -c pass`` (the same without ``site``: what the venv's .pth files cost)
and ``python -c "import typer"`` (the floor any Typer CLI pays).

    .venv/bin/python bench/cli_speed.py [--runs 7] [--baseline-src ../main/src]

With ``--baseline-src`` the same two commands also run from another checkout's ``src`` (on
PYTHONPATH, same interpreter and server), and the ratios are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PYTHON = Path(sys.executable)
SUANLI = PYTHON.with_name("suanli")
# A job that runs until the server is gone: `logs --follow` stays open on it.
SLEEPER = """name: sleeper
resources:
  accelerator: {model: T4, count: 1}
run: sleep 300
time_limit_hours: 0.1
"""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) for one run; fails loudly on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _measure(name: str, argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    _timed(argv, env)  # warm the page cache and the .pyc files
    walls, cpus = zip(*(_timed(argv, env) for _ in range(runs)), strict=True)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"{name:<34} wall p50 {wall:6.3f} s (min {min(walls):.3f})   CPU p50 {cpu:6.3f} s")
    return wall, cpu


def _entry(src: str, *args: str) -> list[str]:
    """The CLI's entry point run from ``src`` (what the `suanli` script does)."""
    code = f"import sys; sys.argv = ['suanli', *{list(args)!r}]; from suanli.cli.main import run; run()"
    return ["env", f"PYTHONPATH={src}", str(PYTHON), "-c", code]


def _top_imports(env: dict[str, str], count: int = 12) -> None:
    run = "import sys; sys.argv = ['suanli', 'status']; from suanli.cli.main import run; run()"
    argv = [str(PYTHON), "-X", "importtime", "-c", run]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = (p.strip() for p in line[12:].split("|"))
        rows.append((int(cumulative_us), int(self_us), name))
    heavy = [
        n
        for n in ("numpy", "sqlalchemy", "alembic", "scipy", "fastapi", "httpx", "suanli.schemas")
        if any(r[2].strip() == n for r in rows)
    ]
    print(
        f"top imports of `suanli status` (cumulative ms; heavy modules imported: {heavy or 'none'}):"
    )
    for cumulative, own, name in sorted(rows, reverse=True)[:count]:
        print(f"  {cumulative / 1000:8.1f}  (self {own / 1000:6.1f})  {name}")


def _start_server(
    data_dir: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir.parent / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SUANLI), "up", "--port", str(port), "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"suanli up exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # noqa: TID251 - a bench waits on real time
    proc.kill()
    raise SystemExit("suanli up did not answer in 60 s")


def _stop_job(data_dir: Path) -> None:
    """The sleeper outlives the server by design (jobs survive a restart): stop it by PID."""
    for started in data_dir.glob("runs/*/*/started.json"):
        info = json.loads(started.read_text())
        group = info.get("group")
        if group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(group), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(info["pid"]), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-src", help="another checkout's src directory to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suanli-cli-speed-") as tmp:
        data_dir = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(SUANLI_DATA_DIR=str(data_dir), SUANLI_LANG="en", NO_PROXY="127.0.0.1")
        env["SUANLI_CREDENTIALS"] = str(Path(tmp) / "credentials.json")
        proc, url, log = _start_server(data_dir, env)
        env["SUANLI_SERVER"] = url
        try:
            print(f"load average before: {_load()}")
            _measure("python -c pass (baseline)", [str(PYTHON), "-c", "pass"], env, args.runs)
            _measure(
                "python -S -c pass (no site)", [str(PYTHON), "-S", "-c", "pass"], env, args.runs
            )
            _measure(
                "python -c 'import typer' (floor)",
                [str(PYTHON), "-c", "import typer"],
                env,
                args.runs,
            )
            _measure("suanli --help", [str(SUANLI), "--help"], env, args.runs)
            # One job for `status` to list and `logs --follow` to stream.
            spec = Path(tmp) / "sleeper.yaml"
            spec.write_text(SLEEPER)
            submitted = subprocess.run(
                [str(SUANLI), "submit", "--json", str(spec)],
                env=env,
                capture_output=True,
                check=True,
            )
            job_id = json.loads(submitted.stdout)["id"]
            _measure("suanli status", [str(SUANLI), "status"], env, args.runs)
            if args.baseline_src:
                here = str(Path(__file__).resolve().parents[1] / "src")
                for command in ("--help", "status"):
                    new = _measure(f"{command} (this src)", _entry(here, command), env, args.runs)
                    old = _measure(
                        f"{command} (baseline src)",
                        _entry(args.baseline_src, command),
                        env,
                        args.runs,
                    )
                    print(
                        f"  {command}: baseline / this = {old[0] / new[0]:.1f}x wall, "
                        f"{old[1] / new[1]:.1f}x CPU"
                    )
            print(f"load average after: {_load()}")
            _top_imports(env)
            follow = subprocess.Popen(
                [str(SUANLI), "logs", "--follow", job_id],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # noqa: TID251 - let the stream open
            start = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            stopped = time.perf_counter() - start
            follow.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            _stop_job(data_dir)
        text = log.read_text(errors="replace")
        cancelled = "Cancel" in text and "running task" in text
        print(
            f"server stop after SIGINT with a `logs --follow` open: {stopped:.2f} s; "
            f"'Cancel N running task(s)' logged: {'yes' if cancelled else 'no'}"
        )


if __name__ == "__main__":
    main()
