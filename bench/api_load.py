"""Benchmark: job submissions per second over loopback, and their latency, bounded in time.

Starts real `suanli up` processes and drives POST /api/v1/jobs from a small asyncio load
generator (raw HTTP/1.1 keep-alive connections, spread over the processes round-robin):

  * sqlite: the embedded default, one process (SQLite allows one per data directory);
  * postgres: two processes over one PostgreSQL database (``--database-url`` or
    SUANLI_TEST_POSTGRES_URL), sharing the data directory.

The servers run ``--api-only`` (no control loop: the figure is the API and its database
path, not the scheduling of the jobs submitted); ``--with-scheduler`` runs the control loop
too (in the one process that leads), placing and running the submitted jobs on the demo
fleet's local engine meanwhile, to see that it does not starve the API. Per-token rate
limits and the per-tenant job limit are switched off. Every request carries a real token (authentication,
audit and JSON validation all run). Prints submissions/s, p50/p99 latency and the ratio,
and the API processes' own CPU per submission (from /proc), which a shared machine's load
does not distort: 1000 / that = what one dedicated core would sustain.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 32] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.clock import SystemClock

CLOCK = SystemClock()
SUANLI = Path(sys.executable).with_name("suanli")
SPEC = "name: load\nresources: {accelerator: {model: T4, count: 1}}\nrun: echo hi\n"


@dataclass
class Figures:
    label: str
    processes: int
    ok: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_s: float = 0.0  # CPU the API processes used in the measured window

    @property
    def cpu_ms_per_submission(self) -> float:
        return self.server_cpu_s * 1000 / max(self.ok, 1)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=1000)[int(q * 1000) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_servers(
    data_dir: Path, count: int, database_url: str | None, scheduler: bool = False
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
            "0",
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


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far (from /proc; the machine may be shared)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def request_bytes(token: str) -> bytes:
    body = json.dumps({"spec_yaml": SPEC}).encode()
    head = (
        "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def one_connection(
    port: int, payload: bytes, until: float, warm_until: float, figures: Figures
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while CLOCK.monotonic() < until:
            start = CLOCK.monotonic()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            end = CLOCK.monotonic()
            if start < warm_until:
                continue  # warm-up: connections, caches, JIT-less Python warming its paths
            if head.startswith(b"HTTP/1.1 201"):
                figures.ok += 1
                figures.latencies.append(end - start)
            else:
                figures.errors += 1
    finally:
        writer.close()


async def drive(
    ports: list[int], pids: list[int], token: str, args: argparse.Namespace, figures: Figures
) -> None:
    payload = request_bytes(token)
    now = CLOCK.monotonic()
    warm_until, until = now + args.warmup, now + args.warmup + args.seconds

    async def measure_cpu() -> None:
        await asyncio.sleep(warm_until - CLOCK.monotonic())
        start = cpu_seconds(pids)
        await asyncio.sleep(until - CLOCK.monotonic())
        figures.server_cpu_s = cpu_seconds(pids) - start

    await asyncio.gather(
        measure_cpu(),
        *(
            one_connection(ports[i % len(ports)], payload, until, warm_until, figures)
            for i in range(args.connections)
        ),
    )


def run(label: str, count: int, database_url: str | None, args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        servers = start_servers(data_dir, count, database_url, args.with_scheduler)
        try:
            token = (data_dir / "operator.token").read_text().strip()
            figures = Figures(label, count, 0, 0, args.seconds, [])
            ports, pids = [p for p, _ in servers], [proc.pid for _, proc in servers]
            asyncio.run(drive(ports, pids, token, args, figures))
            return figures
        finally:
            for _, proc in servers:
                proc.send_signal(signal.SIGINT)
            for _, proc in servers:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def report(f: Figures) -> None:
    print(
        f"{f.label:<28} {f.processes} proc  {f.rate:8.0f} submissions/s  "
        f"p50 {f.quantile(0.5) * 1000:6.1f} ms  p99 {f.quantile(0.99) * 1000:6.1f} ms  "
        f"({f.ok} ok, {f.errors} not 201, {f.seconds:.0f} s)\n"
        f"{'':<28} server CPU {f.cpu_ms_per_submission:.2f} ms per submission -> "
        f"{1000 / max(f.cpu_ms_per_submission, 1e-9):.0f} submissions/s per dedicated core"
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
    args = parser.parse_args()
    print(
        f"loopback, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
        f"{args.connections} connections, {args.seconds:.0f} s each"
        + (", control loop running" if args.with_scheduler else ", API only")
    )
    sqlite = run("sqlite (embedded default)", 1, None, args)
    report(sqlite)
    if not args.database_url:
        print("postgres: skipped (no --database-url and no SUANLI_TEST_POSTGRES_URL)")
        return
    postgres = run("postgres", 2, args.database_url, args)
    report(postgres)
    print(f"ratio postgres(2 proc) / sqlite(1 proc): {postgres.rate / max(sqlite.rate, 1e-9):.2f}")
    print("target: >= 1000 submissions/s with p99 <= 100 ms on PostgreSQL")


if __name__ == "__main__":
    main()
