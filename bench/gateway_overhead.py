"""Benchmark: what the gateway adds to a request, and a replica killed under load.

Starts real processes: replicas (``python -m tests.replica``: a minimal real
OpenAI-compatible HTTP server answering a few words at once, standing in for llama.cpp's
server until the tiny model is built; the overhead figure is the gateway's either way) and
one gateway process (``Gateway`` under uvicorn with httptools and uvloop, as `suanli up`
serves it; its own SQLite platform, a key, the replicas in a memory route table).

1. Overhead, one replica: small non-streamed chat completions at ``--rate`` requests/s
   (open loop), sent straight to the replica and through the gateway in alternating
   one-second blocks of the same run, so both see the same machine; added p50 and p99.
   Then streamed requests: time to the first body chunk, direct and through the gateway.
2. Failover: ``--replicas`` replicas behind the gateway, steady non-streamed load; one
   replica gets ``kill -9`` a third of the way in while the route table still calls it
   ready (the control plane has not noticed yet). Every request must be answered 200.
3. Scale from zero: one request to a service with no replica; the gateway's process starts
   one when asked (as the control plane would) and the answer's time is compared with the
   replica's own start (process to ready).

The load generator speaks raw HTTP/1.1 over keep-alive loopback connections (request bytes
built once) for the non-streamed requests, and reads streamed answers to their first chunk.
Targets (issue 23): added p50 <= 2 ms, p99 <= 10 ms; first streamed chunk added p99 <= 5 ms;
0 failed requests when a replica is killed; first answer from zero <= the replica's start + 1 s.
Prints the load average: on a shared 2-core
machine the figures move with it.

    .venv/bin/python bench/gateway_overhead.py [--rate 200] [--seconds 10] [--replicas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
import uvloop  # noqa: E402
from tests.access import OPERATOR  # noqa: E402
from tests.gateway.serving import ReplicaProcess, free_port  # noqa: E402

from suanli.api.server import settle_heap  # noqa: E402
from suanli.domain.access import OrgKind, Principal, Role  # noqa: E402
from suanli.domain.serving import ReplicaEndpoint, ServiceRoute  # noqa: E402
from suanli.gateway.app import Gateway  # noqa: E402
from suanli.gateway.memory import MemoryRouteTable  # noqa: E402
from suanli.service import access, apikeys  # noqa: E402
from suanli.service.bootstrap import open_platform  # noqa: E402

ERRORS: collections.Counter[str] = collections.Counter()  # why requests got no answer
CHAT = json.dumps(
    {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
).encode()
STREAM = json.dumps(
    {
        "model": "tiny",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4,
        "stream": True,
    }
).encode()


# -- the gateway process ---------------------------------------------------------------------
def serve_gateway(port: int, urls: list[str], data_dir: str) -> None:
    """Child: a gateway over ``urls`` (one service "tiny"); prints its key, then serves."""

    platform = open_platform(Path(data_dir), detect_gpus=False)
    access.add_organisation(platform, OPERATOR, "acme", OrgKind.TENANT)
    member = Principal("ann", Role.TENANT_MEMBER, "acme", "t", frozenset())
    zero = urls == ["zero"]  # no replica until a request asks for one
    endpoints = (
        () if zero else tuple(ReplicaEndpoint(f"r{i}", u, True) for i, u in enumerate(urls))
    )
    route = ServiceRoute(
        "s1", "tiny", "acme", 1, "tiny", "private", (), "caller", "tiny", "acme", True,
        Decimal(1), Decimal(2), endpoints, 0 if zero else 1, max(1, len(endpoints)),
    )  # fmt: skip
    table = MemoryRouteTable([route])
    started: list[ReplicaProcess] = []

    def start_one(_service_id: str, _at: object) -> None:
        # What the control plane does for a service at zero: start a replica, publish it ready.
        if started:
            return
        begin = time.perf_counter()
        started.append(ReplicaProcess())
        print(f"REPLICA_START {time.perf_counter() - begin:.3f} {started[0].proc.pid}", flush=True)
        table.put(dataclasses.replace(route, replicas=(started[0].endpoint("r0"),)))

    table.on_want = start_one

    platform.route_table = table
    # A rate-limited key by default (--key-rate): every request passes the shared per-key
    # limit (issue 23: leases from the SQLite store), as a metered tenant's would.
    rate = float(os.environ.get("SUANLI_BENCH_KEY_RATE", "0")) or None
    burst = max(1, int(rate / 4)) if rate else None
    key = apikeys.create_key(platform, member, "bench", rate_per_s=rate, burst=burst).text
    print(f"KEY {key}", flush=True)
    settle_heap()  # as `suanli up` does once started (cli/serve.py): no full-GC walks of the app
    uvicorn.run(
        Gateway(platform), host="127.0.0.1", port=port, log_level="error",
        http="httptools", loop="uvloop", access_log=False,
    )  # fmt: skip


class GatewayProcess:
    def __init__(self, urls: list[str], data_dir: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-gateway", str(self.port), data_dir, *urls],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout is not None else ""
        if not line.startswith("KEY "):
            raise SystemExit(f"the gateway did not start: {line!r}")
        self.key = line.split()[1]
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int) -> None:
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # noqa: TID251 - a bench waits on real processes
    raise SystemExit(f"nothing listens on {port}")


# -- raw HTTP/1.1 load -----------------------------------------------------------------------
def request_bytes(port: int, key: str | None, body: bytes) -> bytes:
    head = [
        "POST /v1/chat/completions HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if key:
        head.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Pool:
    port: int
    request: bytes
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = field(
        default_factory=list
    )

    async def one(self) -> tuple[int, float]:
        """(status, seconds) of one whole request; status 0 when the connection failed.

        Like any HTTP client: an idle connection older than 4 s is dropped (servers close
        them after 5 s), and a request on a reused connection the server had just closed
        (nothing read back) is sent again on a fresh one."""
        start = time.perf_counter()
        now = start
        while self.idle and now - self.idle[-1][2] > 4.0:
            self.idle.pop()[1].close()
        reused = bool(self.idle)
        try:
            if reused:
                reader, writer, _ = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                status = await self._exchange(reader, writer)
            except asyncio.IncompleteReadError as exc:
                if not reused or exc.partial:
                    raise
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                status = await self._exchange(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            ERRORS[type(exc).__name__] += 1
            return 0, time.perf_counter() - start
        done = time.perf_counter()
        self.idle.append((reader, writer, done))
        return status, done - start

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        return status

    async def first_chunk(self) -> tuple[int, float]:
        """(status, seconds to the first body bytes) of a streamed request, read to its end."""
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            await reader.readuntil(b"\n\n")  # the first event (after its chunk size line)
            first = time.perf_counter() - start
            while not (await reader.read(65536)).endswith(b"0\r\n\r\n"):
                pass
            return status, first
        finally:
            writer.close()


async def open_loop(
    pools: list[Pool], rate: float, seconds: float, stream: bool = False
) -> list[list[tuple[int, float]]]:
    """Requests at ``rate``/s for ``seconds``, alternating ``pools`` every second."""
    results: list[list[tuple[int, float]]] = [[] for _ in pools]
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = int(rate * seconds)

    async def fire(i: int) -> None:
        which = int(i / rate) % len(pools)
        pool = pools[which]
        results[which].append(await (pool.first_chunk() if stream else pool.one()))

    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(i)))
    await asyncio.gather(*tasks)
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    name: str, direct: list[tuple[int, float]], through: list[tuple[int, float]]
) -> tuple[float, float]:
    d = [s for c, s in direct if c == 200]
    g = [s for c, s in through if c == 200]
    bad = dict(collections.Counter(c for c, _ in direct + through if c != 200))
    p50 = (pct(g, 0.5) - pct(d, 0.5)) * 1000
    p99 = (pct(g, 0.99) - pct(d, 0.99)) * 1000
    print(
        f"{name}: direct p50 {pct(d, 0.5) * 1000:.2f} ms p99 {pct(d, 0.99) * 1000:.2f} ms (n={len(d)}); "
        f"gateway p50 {pct(g, 0.5) * 1000:.2f} ms p99 {pct(g, 0.99) * 1000:.2f} ms (n={len(g)}); "
        f"added p50 {p50:.2f} ms, p99 {p99:.2f} ms; non-200 by status (0: no answer): {bad or 'none'}"
    )
    return p50, p99


async def overhead(args: argparse.Namespace, tmp: str) -> list[tuple[str, bool]]:
    (replica,) = start_replicas(1)
    gw = GatewayProcess([replica.url], tmp + "/one")
    try:
        direct = Pool(replica.port, request_bytes(replica.port, None, CHAT))
        through = Pool(gw.port, request_bytes(gw.port, gw.key, CHAT))
        await open_loop([direct, through], args.rate, 1.0)  # warm-up: connections, caches
        cpu_gw, cpu_rep = cpu_s(gw.proc.pid), cpu_s(replica.proc.pid)
        d, g = await open_loop([direct, through], args.rate, 2 * args.seconds)
        cpu_gw, cpu_rep = cpu_s(gw.proc.pid) - cpu_gw, cpu_s(replica.proc.pid) - cpu_rep
        p50, p99 = report(f"non-streamed at {args.rate:g}/s", d, g)
        print(
            f"  CPU per request (load-independent): gateway process {cpu_gw / len(g) * 1000:.2f} ms; "
            f"replica {cpu_rep / (len(d) + len(g)) * 1000:.2f} ms"
        )
        sd = Pool(replica.port, request_bytes(replica.port, None, STREAM))
        sg = Pool(gw.port, request_bytes(gw.port, gw.key, STREAM))
        d, g = await open_loop([sd, sg], args.stream_rate, 2 * args.seconds, stream=True)
        _, first99 = report(f"streamed, first chunk, at {args.stream_rate:g}/s", d, g)
    finally:
        gw.stop()
        replica.kill()
    return [
        (f"added p50 {p50:.2f} ms <= 2 ms", p50 <= 2.0),
        (f"added p99 {p99:.2f} ms <= 10 ms", p99 <= 10.0),
        (f"first streamed chunk added p99 {first99:.2f} ms <= 5 ms", first99 <= 5.0),
    ]


async def failover(args: argparse.Namespace, tmp: str) -> list[tuple[str, bool]]:
    started = start_replicas(args.replicas)
    gw = GatewayProcess([r.url for r in started], tmp + "/many")
    try:
        through = Pool(gw.port, request_bytes(gw.port, gw.key, CHAT))
        await open_loop([through], args.kill_rate, 1.0)

        async def kill_later() -> None:
            await asyncio.sleep(args.seconds / 3)
            os.kill(started[0].proc.pid, signal.SIGKILL)

        killer = asyncio.ensure_future(kill_later())
        (results,) = await open_loop([through], args.kill_rate, args.seconds)
        await killer
    finally:
        gw.stop()
        for r in started:
            r.kill()
    failed = sum(1 for c, _ in results if c != 200)
    statuses = dict(collections.Counter(c for c, _ in results if c != 200))
    print(
        f"kill -9 of 1 of {args.replicas} replicas under {args.kill_rate:g} requests/s: "
        f"{len(results)} requests, {failed} failed {statuses or ''}"
    )
    return [(f"{failed} failed requests with a replica killed (0 wanted)", failed == 0)]


async def from_zero(tmp: str) -> list[tuple[str, bool]]:
    """One request to a service at zero: answered how long after its replica took to start?"""
    gw = GatewayProcess(["zero"], tmp + "/zero")
    try:
        pool = Pool(gw.port, request_bytes(gw.port, gw.key, CHAT))
        status, first = await pool.one()
        line = await asyncio.to_thread(gw.proc.stdout.readline) if gw.proc.stdout else ""
    finally:
        gw.stop()
    if line.startswith("REPLICA_START"):  # the replica the gateway's process started
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split()[2]), signal.SIGKILL)
    start = float(line.split()[1]) if line.startswith("REPLICA_START") else float("nan")
    print(
        f"scale from zero: first answer {status} after {first:.2f} s; the replica's own start "
        f"(process to ready) {start:.2f} s; difference {first - start:.2f} s"
    )
    held = status == 200 and first - start <= 1.0
    return [
        (f"first answer from zero {first - start:.2f} s after the replica's start (<= 1 s)", held)
    ]


def start_replicas(n: int) -> list[ReplicaProcess]:
    return [ReplicaProcess() for _ in range(n)]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-gateway":
        serve_gateway(int(sys.argv[2]), sys.argv[4:], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="non-streamed requests/s")
    parser.add_argument("--stream-rate", type=float, default=50.0, help="streamed requests/s")
    parser.add_argument("--kill-rate", type=float, default=100.0, help="requests/s while killing")
    parser.add_argument("--seconds", type=float, default=10.0, help="per path")
    parser.add_argument("--replicas", type=int, default=3, help="for the kill -9 run")
    parser.add_argument(
        "--key-rate",
        type=float,
        default=400.0,
        help="the bench key's rate limit, requests/s (burst: a quarter of it); 0: none",
    )
    args = parser.parse_args()
    os.environ["SUANLI_BENCH_KEY_RATE"] = str(args.key_rate)  # the gateway processes read it
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores {os.cpu_count()}"
    )
    print(
        "replica: tests.replica (a minimal real HTTP server, not llama.cpp); gateway: its own process"
    )
    print(f"key rate limit: {args.key_rate:g} requests/s (0: none), shared through SQLite")
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        verdicts = uvloop.run(overhead(args, tmp))
        verdicts += uvloop.run(failover(args, tmp))
        verdicts += uvloop.run(from_zero(tmp))
    if ERRORS:
        print(f"requests without an answer, by error: {dict(ERRORS)}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for text, held in verdicts:
        print(f"  {'met    ' if held else 'NOT MET'}  {text}")


if __name__ == "__main__":
    main()
