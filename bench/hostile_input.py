"""Benchmark: YAML alias and depth bombs against a real server, while another client probes.

Starts a real `suanli up` process (embedded default, ``--api-only``) and, for ``--seconds``:

  * ``--senders`` connections each send hostile submissions back to back, round-robin over
    the bombs below (a 7-level "billion laughs" in a field of the wrong type, the one that
    froze the server for 39 s before; 50,000-deep YAML and JSON lists; a 5,000-deep JSON
    object; a 9 KB YAML whose aliases expand to 1 MB), each checked to be refused 4xx;
  * one prober asks ``GET /healthz`` every 20 ms on its own keep-alive connection.

Prints p50/p99/max of the refusals and of the probes, the counts, and the targets of issue 17
(probe <= 100 ms, refusal <= 50 ms), both as measured on this (shared) machine with its load
average, and the same probe figures with no bombs first, as the baseline in the same run.

    .venv/bin/python bench/hostile_input.py [--seconds 10] [--senders 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from suanli.domain.clock import SystemClock

CLOCK = SystemClock()
SUANLI = Path(sys.executable).with_name("suanli")
TARGET_PROBE_MS, TARGET_REFUSAL_MS = 100.0, 50.0


def laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "name: bomb\nrun: 'true'\npriority:\n  " + "\n  ".join(lines) + "\n"


def expanding(kb: int) -> str:
    # ~9 KB of YAML naming one 1 KB string a thousand times (1 MB once expanded).
    return (
        "name: big\nrun: &r '"
        + "x" * 1024
        + "'\nenv:\n"
        + "".join(f"  V{i}: *r\n" for i in range(kb))
    )


BOMBS: list[tuple[str, bytes]] = [
    ("billion laughs, 7 levels", json.dumps({"spec_yaml": laughs(7)}).encode()),
    ("YAML 50,000-deep list", json.dumps({"spec_yaml": "a: " + "[" * 50_000}).encode()),
    ("YAML 5,000-deep map", json.dumps({"spec_yaml": "a: " + "{a: " * 5000}).encode()),
    ("JSON 50,000-deep list", b'{"spec": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ("JSON 5,000-deep object", b'{"spec": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"),
    ("YAML aliases to 1 MB", json.dumps({"spec_yaml": expanding(1000)}).encode()),
]


@dataclass
class Figures:
    refusals: dict[str, list[float]] = field(default_factory=dict)
    probes: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.5, 0.99)]
    return f"p50 {p[0]:6.1f} ms  p99 {p[1]:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    log = (data_dir.parent / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    args = [str(SUANLI), "up", "--port", str(port), "--data-dir", str(data_dir), "--api-only"]
    proc = subprocess.Popen([*args, "--rate-limit", "1000000"], stdout=log, stderr=log, env=env)
    pause = threading.Event()
    end = CLOCK.monotonic() + 120
    while CLOCK.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"suanli up exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return port, proc
        except OSError:
            pass
        pause.wait(0.2)
    proc.kill()
    raise SystemExit("server did not come up")


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, float]:
    start = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(head[9:12]), time.perf_counter() - start


async def sender(port: int, token: str, until: float, figures: Figures, first: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = first
    while time.perf_counter() < until:
        name, body = BOMBS[i % len(BOMBS)]
        i += 1
        request = (
            f"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        status, took = await exchange(reader, writer, request)
        if not 400 <= status < 500:
            figures.wrong.append(f"{name}: {status}")
        figures.refusals.setdefault(name, []).append(took)
    writer.close()


async def prober(port: int, until: float, figures: Figures) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    while time.perf_counter() < until:
        status, took = await exchange(reader, writer, request)
        if status != 200:
            figures.wrong.append(f"healthz: {status}")
        figures.probes.append(took)
        await asyncio.sleep(0.02)
    writer.close()


async def drive(port: int, token: str, seconds: float, senders: int) -> tuple[Figures, Figures]:
    quiet = Figures()
    await prober(port, time.perf_counter() + min(3.0, seconds), quiet)
    loud = Figures()
    until = time.perf_counter() + seconds
    await asyncio.gather(
        prober(port, until, loud),
        *(sender(port, token, until, loud, i) for i in range(senders)),
    )
    return quiet, loud


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    print(
        f"loopback, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (1 min) "
        f"before; {args.senders} bomb senders, 1 /healthz prober every 20 ms, "
        f"{args.seconds:.0f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        port, proc = start_server(data_dir)
        try:
            token = (data_dir / "operator.token").read_text().strip()
            quiet, loud = asyncio.run(drive(port, token, args.seconds, args.senders))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(f"{'healthz, no bombs (baseline)':<34} {quantiles(quiet.probes)}  n={len(quiet.probes)}")
    print(f"{'healthz, under bombs':<34} {quantiles(loud.probes)}  n={len(loud.probes)}")
    every: list[float] = []
    for name, took in loud.refusals.items():
        every += took
        print(f"{'refused: ' + name:<34} {quantiles(took)}  n={len(took)}")
    print(f"{'refused: all bombs':<34} {quantiles(every)}  n={len(every)}")
    if loud.wrong or quiet.wrong:
        print(f"NOT REFUSED / NOT OK: {(quiet.wrong + loud.wrong)[:10]}")
    probe_max = max(loud.probes, default=float("inf")) * 1000
    refusal_max = max(every, default=float("inf")) * 1000
    print(
        f"targets: /healthz <= {TARGET_PROBE_MS:.0f} ms under bombs: "
        f"{'met' if probe_max <= TARGET_PROBE_MS else 'not met'} (max {probe_max:.1f} ms); "
        f"each refusal <= {TARGET_REFUSAL_MS:.0f} ms: "
        f"{'met' if refusal_max <= TARGET_REFUSAL_MS else 'not met'} (max {refusal_max:.1f} ms); "
        f"load average {os.getloadavg()[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
