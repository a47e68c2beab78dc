"""Benchmark: job submissions per second over loopback, and their latency, bounded in time.

Starts real `suanli up` processes and drives POST /api/v1/jobs from a small load generator
in this process (raw HTTP/1.1 over keep-alive loopback connections, spread over the
processes round-robin; asyncio on uvloop, request bytes built once):

  * sqlite: the embedded default, one process (SQLite allows one per data directory);
  * postgres: two processes over one PostgreSQL database (``--database-url`` or
    SUANLI_TEST_POSTGRES_URL), sharing the data directory, in a schema of their own that
    is dropped afterwards.

Every request carries a full job spec and a real token (authentication, token scope, rate
limit, active-job limit, audit and validation all run; the limits are set high enough not
to refuse). Every answer is checked: 201 with a job id. Afterwards the database is read:
the jobs, their first events and the audit rows of the submissions must be exactly the
accepted ones (warm-up included), or the bench fails.

The servers run ``--api-only`` (no control loop: the figure is the API and its database
path); ``--with-scheduler`` runs the control loop too (in the one process that leads),
placing the submitted jobs on the demo fleet meanwhile.

Prints submissions/s, p50/p99 latency, and the CPU per submission of each part from /proc
(the API processes, the PostgreSQL backends serving them plus its background writers, and
this load generator). On a shared machine the CPU figures are the comparable ones:
2000 / the total = what 2 dedicated cores would sustain.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 32] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import quote

import psycopg

from suanli.domain.clock import SystemClock

CLOCK = SystemClock()
SUANLI = Path(sys.executable).with_name("suanli")
# A whole job file, sent as `suanli submit` sends it (the YAML text, parsed by the server).
# Cheap commands: with --with-scheduler the local engine runs them.
SPEC = """\
name: load-test
description: a small fine-tune, as a tenant would submit it
resources:
  accelerator: {model: [T4, A100], count: 1}
  cpus: 4
  memory_gb: 16
stacks: [cuda]
regions: [tianjin, beijing]
setup: test -d .
run: echo "epoch $EPOCHS of 3, seed $SEED"
env: {SEED: "7", EPOCHS: "3"}
estimated_hours: 0.5
time_limit_hours: 2
priority: 60
"""
TARGET_RATE, TARGET_P99_MS = 1000.0, 100.0
Parts = Callable[[], dict[int, float]]  # CPU seconds so far of some processes, by pid


@dataclass
class Figures:
    label: str
    processes: int
    seconds: float
    ok: int = 0
    errors: int = 0
    first_error: bytes = b""
    latencies: list[float] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # every job id answered, warm-up included
    cpu: dict[str, float] = field(default_factory=dict)  # part -> CPU s in the window
    stored: str = ""

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def ms_per_submission(self, part: str) -> float:
        return self.cpu[part] * 1000 / max(self.ok, 1)

    def cpu_ms_total(self) -> float:
        return sum(self.ms_per_submission(part) for part in self.cpu)

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_servers(
    data_dir: Path, count: int, database_url: str | None, scheduler: bool
) -> list[tuple[int, subprocess.Popen[bytes]]]:
    servers = []
    for _ in range(count):
        port = free_port()
        args = [
            str(SUANLI),
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *([] if scheduler else ["--api-only"]),
            "--rate-limit",
            "1000000",
            "--max-active-jobs",
            "10000000",
        ]
        if database_url:
            args += ["--database-url", database_url]
        log = (data_dir.parent / f"server-{port}.log").open("wb")
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        servers.append((port, proc))
        wait_healthy(port, proc)
    return servers


def wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    pause = threading.Event()
    end = CLOCK.monotonic() + 60
    while CLOCK.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"suanli up exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        pause.wait(0.2)
    raise SystemExit("server did not come up")


def stop_servers(servers: list[tuple[int, subprocess.Popen[bytes]]]) -> None:
    for _, proc in servers:
        proc.send_signal(signal.SIGINT)
    for _, proc in servers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_of(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of ``pids`` still alive (all its threads)."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two samples; a process born in between counts from zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def request_bytes(token: str) -> bytes:
    body = json.dumps({"spec_yaml": SPEC, "source": "load.yaml"}).encode()
    head = (
        "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _same(submitter: Submitter) -> Submitter:
    """The protocol factory for one connection: the submitter made for it."""
    return submitter


class Submitter(asyncio.Protocol):
    """One keep-alive connection: send a submission, read and check the answer, repeat."""

    def __init__(self, payload: bytes, figures: Figures, warm_until: float, until: float) -> None:
        self.payload, self.figures = payload, figures
        self.warm_until, self.until = warm_until, until
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.start = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._send()

    def _send(self) -> None:
        if self.transport is not None:
            self.start = time.monotonic()
            self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end]
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at) if b"\r\n" in head[at:] else None])
        if len(self.buffer) < head_end + 4 + length:
            return
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        self._answered(head, body, time.monotonic())

    def _answered(self, head: bytes, body: bytes, end: float) -> None:
        f = self.figures
        job_id = json.loads(body).get("id", "") if head.startswith(b"HTTP/1.1 201") else ""
        if job_id.startswith("j-"):
            f.ids.add(job_id)
            if self.start >= self.warm_until:
                f.ok += 1
                f.latencies.append(end - self.start)
        else:
            f.errors += 1
            f.first_error = f.first_error or head + b"\r\n\r\n" + body
        if end < self.until:
            self._send()
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def drive(
    ports: list[int],
    token: str,
    args: argparse.Namespace,
    figures: Figures,
    parts: dict[str, Parts],
) -> None:
    payload = request_bytes(token)
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    warm_until, until = now + args.warmup, now + args.warmup + args.seconds
    submitters = []
    for i in range(args.connections):
        s = Submitter(payload, figures, warm_until, until)
        await loop.create_connection(
            functools.partial(_same, s), "127.0.0.1", ports[i % len(ports)]
        )
        submitters.append(s)
    await asyncio.sleep(warm_until - time.monotonic())
    # Sampled in a thread: the generator keeps answering while the database is asked.
    before = {part: await asyncio.to_thread(sample) for part, sample in parts.items()}
    await asyncio.sleep(until - time.monotonic())
    after = {part: await asyncio.to_thread(sample) for part, sample in parts.items()}
    figures.cpu = {part: spent(before[part], after[part]) for part in parts}
    await asyncio.gather(*(s.done for s in submitters))


def run_loop(coro: object) -> None:
    try:
        import uvloop  # noqa: PLC0415 - optional: the cheaper loop where it builds
    except ImportError:
        asyncio.run(coro)  # type: ignore[arg-type]
    else:
        uvloop.run(coro)  # type: ignore[arg-type]


@contextmanager
def private_schema(url: str) -> Iterator[str]:
    """A fresh schema in the database at ``url``; yields the URL the servers get."""
    schema = f"bench_api_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}&application_name={schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_parts(url: str) -> dict[str, Parts]:
    """Samplers of the PostgreSQL processes: the backends serving the servers (by their
    application name) and the cluster's background processes (WAL writer, checkpointer…)."""
    name = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))["application_name"]

    def pids(ours: bool) -> list[int]:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid, backend_type, application_name FROM pg_stat_activity"
            ).fetchall()
            mine = conn.info.backend_pid
        if ours:
            return [pid for pid, _, app in rows if app == name and pid != mine]
        return [pid for pid, kind, _ in rows if kind not in ("client backend", "walsender")]

    return {
        "postgres backends": lambda: cpu_of(pids(True)),
        "postgres background": lambda: cpu_of(pids(False)),
    }


def stored_rows(data_dir: Path, database_url: str | None) -> tuple[set[str], int, int]:
    """(job ids, submission events, submission audit rows) in the database afterwards."""
    queries = (
        "SELECT id FROM jobs",
        "SELECT count(*) FROM job_events WHERE reason_code = 'reason_submitted'",
        "SELECT count(*) FROM audit_events WHERE action = 'POST /api/v1/jobs' AND status = 201",
    )
    if database_url is None:
        with sqlite3.connect(data_dir / "suanli.db") as conn:
            ids = {r[0] for r in conn.execute(queries[0])}
            counts = [conn.execute(q).fetchone()[0] for q in queries[1:]]
    else:
        with psycopg.connect(database_url) as conn:
            ids = {r[0] for r in conn.execute(queries[0]).fetchall()}
            counts = [conn.execute(q).fetchone()[0] for q in queries[1:]]  # type: ignore[index]
    return ids, int(counts[0]), int(counts[1])


def run(label: str, count: int, database_url: str | None, args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        servers = start_servers(data_dir, count, database_url, args.with_scheduler)
        try:
            token = (data_dir / "operator.token").read_text().strip()
            figures = Figures(label, count, args.seconds)
            ports, pids = [p for p, _ in servers], [proc.pid for _, proc in servers]
            parts: dict[str, Parts] = {"API processes": lambda: cpu_of(pids)}
            if database_url:
                parts.update(postgres_parts(database_url))
            parts["load generator"] = lambda: cpu_of([os.getpid()])
            run_loop(drive(ports, token, args, figures, parts))
        finally:
            stop_servers(servers)
        ids, events, audits = stored_rows(data_dir, database_url)
    answered = len(figures.ids)
    figures.stored = f"stored: {len(ids)} jobs, {events} submission events, {audits} audit rows"
    if ids != figures.ids or events != answered or audits != answered:
        print(figures.stored, f"but {answered} accepted")
        raise SystemExit(f"{label}: the database does not hold exactly the accepted jobs")
    return figures


def report(f: Figures) -> None:
    print(
        f"{f.label:<26} {f.processes} proc {f.rate:7.0f} submissions/s  "
        f"p50 {f.quantile(0.5) * 1000:6.1f} ms  p99 {f.quantile(0.99) * 1000:6.1f} ms  "
        f"({f.ok} in {f.seconds:.0f} s, {f.errors} not 201; {f.stored})"
    )
    if f.first_error:
        print(f"{'':<26} first refusal: {f.first_error[:400]!r}")
    total = f.cpu_ms_total()
    split = ", ".join(f"{part} {f.ms_per_submission(part):.2f}" for part in f.cpu)
    print(
        f"{'':<26} CPU ms per submission: {split}; all {total:.2f} "
        f"-> {2000 / max(total, 1e-9):.0f} submissions/s on 2 dedicated cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get("SUANLI_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--with-scheduler", action="store_true", help="run the control loop too (one leads)"
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    print(
        f"loopback, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        f"(1 min) before, {args.connections} connections, {args.seconds:.0f} s each"
        + (", control loop running" if args.with_scheduler else ", API only")
    )
    sqlite = None if args.skip_sqlite else run("sqlite (embedded default)", 1, None, args)
    if sqlite:
        report(sqlite)
    if not args.database_url:
        print("postgres: skipped (no --database-url and no SUANLI_TEST_POSTGRES_URL)")
        return
    with private_schema(args.database_url) as url:
        postgres = run("postgres", 2, url, args)
    report(postgres)
    if sqlite:
        ratio = postgres.rate / max(sqlite.rate, 1e-9)
        by_cpu = sqlite.cpu_ms_total() / max(postgres.cpu_ms_total(), 1e-9)
        print(
            f"ratio postgres(2 proc) / sqlite(1 proc): {ratio:.2f} measured, "
            f"{by_cpu:.2f} from the CPU per submission"
        )
    met = postgres.rate >= TARGET_RATE and postgres.quantile(0.99) * 1000 <= TARGET_P99_MS
    print(
        f"target >= {TARGET_RATE:.0f} submissions/s with p99 <= {TARGET_P99_MS:.0f} ms "
        f"on PostgreSQL: {'met' if met else 'not met'} "
        f"(load average {os.getloadavg()[0]:.1f} after)"
    )


if __name__ == "__main__":
    main()
