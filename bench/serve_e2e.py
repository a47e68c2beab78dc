"""Issue 23's targets that need the control plane, the gateway and metering together, through
the real `suanli up` server, its local engine and the real llama.cpp server (scripts/
inference.sh) serving the tiny model (suanli.modelbuild).

    .venv/bin/python bench/serve_e2e.py [--rps 8] [--trace-minutes 10] [--trace-speedup 10]

1. Scale from zero: the replica's own start (llama.cpp on the tiny model, process to
   ``/v1/models`` 200, measured here in the same run) and the first answer of a request
   sent while the service has no replica. Target: first answer <= own start + 1 s.
2. Rolling update of 3 replicas under steady non-streamed load (``--rps``, through the
   gateway), then ``kill -9`` of one replica's process group under the same load.
   Target: 0 failed requests in both.
3. A stream cut by a dead replica: a long stream on every replica, one replica killed;
   each stream must end with ``[DONE]`` or with a clear error event, never silently, within
   ``--stream-deadline`` seconds (a stream over it counts as failed and is printed).
4. Live: the first ``--trace-minutes`` of the Azure LLM 2023 conversation trace
   (../shared/traces/azure-llm-2023), arrivals sped up ``--trace-speedup`` times and
   token counts scaled down (prompt words = ContextTokens / 20, at most 100; max_tokens =
   GeneratedTokens / 10, 1..24) so that 2 shared cores can serve it; the scaling is the
   bench's own choice, not tuned on anything. Targets: the metered tokens of every
   request (the server's usage store, by the gateway's x-request-id) equal the server's
   own counts (the ``usage`` of the replica's answer); the eligible caller's (demo:
   E-Town, domestic base model) bill shows the 50 % model voucher.

Prints figures and the load average (2 cores shared with other work: figures move with it).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.server import Server, kill_leftover_runs
from tests.inference import LlamaServer, build_model

from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.usage import SqlUsageStore

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "examples" / "services" / "tiny-llama-cpu.yaml"
TRACE = REPO.parent / "shared" / "traces" / "azure-llm-2023" / "AzureLLMInferenceTrace_conv.csv"
PUBLISHER, CALLER = "haidian-vision", "demo"
NAME = "tiny-llama"
_PAUSE = threading.Event()  # never set: waits are timeouts on it
WORDS = [
    "the",
    "gateway",
    "counts",
    "tokens",
    "of",
    "every",
    "request",
    "and",
    "the",
    "meter",
    "bills",
    "them",
    "once",
]


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def wait(cond: Any, timeout: float = 180.0, every: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {getattr(cond, '__name__', cond)}")
        _PAUSE.wait(every)


def chat(prompt: str, max_tokens: int = 8, **kw: Any) -> dict[str, Any]:
    return {
        "model": NAME,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        **kw,
    }


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.server = Server(tmp / "data")
        self.spec = tmp / "tiny.yaml"
        self.spec.write_text(
            TINY.read_text()
            .replace(
                'input_price_per_million_yuan: "0.50"', 'input_price_per_million_yuan: "5000"'
            )
            .replace(
                'output_price_per_million_yuan: "1.00"', 'output_price_per_million_yuan: "10000"'
            )
            .replace("  max: 2\n", "  max: 3\n")
            .replace("  cpus: 2\n  memory_gb: 2\n", "  cpus: 1\n  memory_gb: 1\n")  # 3 + surge fit
        )
        self.key: dict[str, str] = {}

    def cli(self, *args: str) -> Any:
        done = self.server.cli(*args, "--json")
        if done.returncode != 0:
            raise SystemExit(f"suanli {' '.join(args)}: {done.stderr}")
        return json.loads(done.stdout)

    def status(self) -> dict[str, Any]:
        return dict(self.cli("serve", "status", NAME, "--tenant", PUBLISHER))

    def ready(self, revision: int | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.status()["replicas"]
            if r["status"] == "ready" and revision in (None, r["revision"])
        ]

    def group_of(self, job_id: str) -> int:
        [started] = self.server.data_dir.glob(f"runs/*/suanli-{job_id}-a*/started.json")
        return int(json.loads(started.read_text())["group"])

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, trust_env=False, timeout=120, headers=self.key
        )


def own_start(tmp: Path, model: Path) -> float:
    began = time.monotonic()
    with LlamaServer(model, tmp / "own.log"):
        return time.monotonic() - began


def from_zero(b: Bench, tmp: Path, model: Path) -> None:
    start = own_start(tmp, model)
    b.cli("serve", "up", str(b.spec), "--tenant", PUBLISHER)
    with b.client() as c:
        began = time.monotonic()
        r = c.post("/v1/chat/completions", json=chat("hello"))
        first = time.monotonic() - began
    print(f"1. scale from zero ({load()})")
    print(f"   replica's own start (llama.cpp, tiny model, process to ready): {start:.2f} s")
    print(f"   first answer from zero: status {r.status_code} after {first:.2f} s")
    print(
        f"   difference {first - start:+.2f} s (target <= +1 s): {'met' if first - start <= 1 else 'NOT met'}"
    )


class Steady:
    """Non-streamed requests at ``rps`` from a thread pool; failures counted by kind."""

    def __init__(self, b: Bench, rps: float) -> None:
        self.b, self.rps = b, rps
        self.ok = 0
        self.failed: dict[str, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(4)]

    def __enter__(self) -> Steady:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def take(self) -> tuple[int, dict[str, int]]:
        with self._lock:
            got = (self.ok, dict(self.failed))
            self.ok, self.failed = 0, {}
        return got

    def _run(self, i: int) -> None:
        period = 4 / self.rps
        with self.b.client() as c:
            nxt = time.monotonic() + i * period / 4
            while not self._stop.is_set():
                self._stop.wait(max(0.0, nxt - time.monotonic()))
                nxt += period
                try:
                    r = c.post("/v1/chat/completions", json=chat("steady load"))
                    kind = None if r.status_code == 200 else f"{r.status_code} {r.text[:80]}"
                except httpx.HTTPError as e:
                    kind = type(e).__name__
                with self._lock:
                    if kind is None:
                        self.ok += 1
                    else:
                        self.failed[kind] = self.failed.get(kind, 0) + 1


def rollout_and_kill(b: Bench, rps: float) -> None:
    b.cli("serve", "scale", NAME, "3", "--tenant", PUBLISHER)
    wait(lambda: len(b.ready()) == 3)
    with Steady(b, rps) as steady:
        _PAUSE.wait(3)
        steady.take()
        began = time.monotonic()
        v2 = b.spec.with_name("tiny-v2.yaml")
        text = b.spec.read_text().replace("  MODEL_PATH:", "  VERSION: '2'\n  MODEL_PATH:")
        v2.write_text(text)
        b.cli("serve", "rollout", str(v2), "--tenant", PUBLISHER)
        wait(lambda: len(b.ready(2)) == 3 and len(b.ready()) == 3, timeout=300)
        _PAUSE.wait(3)
        took = time.monotonic() - began
        ok, failed = steady.take()
        print(f"2a. rolling update of 3 replicas under {rps:.0f} requests/s ({load()})")
        print(
            f"   rollout took {took:.1f} s; requests {ok + sum(failed.values())}; failed {sum(failed.values())} {failed or ''}"
        )
        victim = b.ready()[0]
        os.killpg(b.group_of(victim["job_id"]), signal.SIGKILL)
        _PAUSE.wait(10)
        ok, failed = steady.take()
        print(f"2b. kill -9 of one of 3 replicas under {rps:.0f} requests/s, 10 s ({load()})")
        print(
            f"   requests {ok + sum(failed.values())}; failed {sum(failed.values())} {failed or ''}"
        )
    # replaced, or fewer wanted now: the autoscaler may lower it under this light load
    wait(lambda: len(b.ready()) == b.status()["desired"], timeout=300)


def cut_stream(b: Bench, deadline_s: float) -> None:
    """One long stream per ready replica (least outstanding requests puts one on each), one
    replica killed once every stream has its first event. Each stream has ``deadline_s``:
    one still open then counts as failed and is printed, so this part always ends."""
    b.cli("serve", "scale", NAME, "3", "--tenant", PUBLISHER)
    wait(lambda: len(b.ready()) == 3, timeout=300)
    ready = b.ready()
    count = len(ready)
    ends: dict[int, str] = {}
    first_chunk = threading.Barrier(count + 1)

    def one(i: int) -> None:
        end = "silent"
        began = time.monotonic()
        events = 0
        with b.client() as c:
            # 200 tokens: llama-cpp-python 0.3.36 streams in time that grows faster than the
            # output (300 tokens: 29 s streamed against 1.2 s whole, measured on this host),
            # so a 1,500-token stream trickles for many minutes: it looked like a hang.
            body = chat("tell a long story", max_tokens=200, stream=True)
            try:
                with c.stream("POST", "/v1/chat/completions", json=body, timeout=deadline_s) as r:
                    for line in r.iter_lines():
                        if line.startswith("data: {"):
                            events += 1
                            if events == 1:
                                first_chunk.wait(timeout=60)
                        if line == "data: [DONE]":
                            end = "done"
                        elif line.startswith("data: {") and '"error"' in line:
                            end = "error: " + json.loads(line[6:])["error"]["message"][:100]
                        if time.monotonic() - began > deadline_s:
                            end = f"over the {deadline_s:g} s deadline"
                            break
            except httpx.HTTPError as e:
                end = f"transport {type(e).__name__}"
            except threading.BrokenBarrierError:
                end = "no first event within 60 s"
        ends[i] = f"{end} ({events} events, {time.monotonic() - began:.1f} s)"

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    try:
        first_chunk.wait(timeout=60)
    except threading.BrokenBarrierError:
        print("   not every stream had its first event within 60 s")
    os.killpg(b.group_of(ready[0]["job_id"]), signal.SIGKILL)
    until = time.monotonic() + deadline_s + 5
    for t in threads:
        t.join(timeout=max(0.0, until - time.monotonic()))
    print(f"3. {count} long streams, one per replica, one replica killed mid-stream ({load()})")
    for i in range(count):
        print(f"   stream ended: {ends.get(i, f'still open after the {deadline_s:g} s deadline')}")
    failed = [e for e in ends.values() if not (e.startswith(("done", "error")))]
    failed += ["open"] * (count - len(ends))
    errors = sum(e.startswith("error") for e in ends.values())
    print(
        f"   silent, unclear or late ends: {len(failed)} (target 0); error events: {errors} (expected 1)"
    )


def trace_rows(minutes: float) -> list[tuple[float, int, int]]:
    rows: list[tuple[float, int, int]] = []
    with TRACE.open() as f:
        t0 = None
        for rec in csv.DictReader(f):
            at = dt.datetime.fromisoformat(rec["TIMESTAMP"][:26])
            t0 = t0 or at
            s = (at - t0).total_seconds()
            if s > minutes * 60:
                break
            rows.append((s, int(rec["ContextTokens"]), int(rec["GeneratedTokens"])))
    return rows


def live(b: Bench, minutes: float, speedup: float) -> None:
    rows = trace_rows(minutes)
    answers: dict[str, dict[str, int]] = {}
    failed: list[str] = []
    lock = threading.Lock()
    began = time.monotonic()

    def one(i: int, ctx: int, gen: int) -> None:
        words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(min(100, max(1, ctx // 20))))
        with b.client() as c:
            try:
                r = c.post("/v1/chat/completions", json=chat(words, max(1, min(24, gen // 10))))
            except httpx.HTTPError as e:
                with lock:
                    failed.append(type(e).__name__)
                return
        with lock:
            if r.status_code == 200:
                answers[r.headers["x-request-id"]] = r.json()["usage"]
            else:
                failed.append(str(r.status_code))

    threads: list[threading.Thread] = []
    for i, (s, ctx, gen) in enumerate(rows):
        _PAUSE.wait(max(0.0, began + s / speedup - time.monotonic()))
        t = threading.Thread(target=one, args=(i, ctx, gen))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    took = time.monotonic() - began
    store = SqlUsageStore(open_database(sqlite_url(b.server.data_dir / "suanli.db")))

    def all_metered() -> bool:
        return all(store.get(rid) is not None for rid in answers)

    wait(all_metered, timeout=60)
    same = 0
    for rid, u in answers.items():
        got = store.get(rid)
        if got is not None and (got.event.prompt_tokens, got.event.completion_tokens) == (
            u["prompt_tokens"],
            u["completion_tokens"],
        ):
            same += 1
    print(
        f"4. live: first {minutes:g} min of the Azure LLM 2023 conversation trace, {speedup:g}x ({load()})"
    )
    print(
        f"   {len(rows)} requests in {took:.0f} s; answered {len(answers)}; failed {len(failed)} {sorted(set(failed))}"
    )
    print(f"   metered tokens equal to the server's own counts: {same} of {len(answers)} requests")

    def billed() -> dict[str, Any] | None:
        u = dict(b.cli("usage", "--tenant", CALLER))
        return u if u["charges"] and not store.unsettled() else None

    u = wait(billed, timeout=120, every=0.5)
    gross, voucher = Decimal(u["gross"]), Decimal(u["voucher"])
    print(
        f"   caller {CALLER}: {u['requests']} requests, {u['prompt_tokens']} + {u['completion_tokens']} tokens; "
        f"gross {gross} yuan, model voucher {voucher} ({voucher / gross:.1%}), cash {u['net']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rps", type=float, default=8.0, help="steady non-streamed requests/s")
    parser.add_argument("--trace-minutes", type=float, default=10.0)
    parser.add_argument("--trace-speedup", type=float, default=10.0)
    parser.add_argument(
        "--stream-deadline", type=float, default=120.0, help="seconds a stream of part 3 may take"
    )
    parser.add_argument(
        "--skip", default="", help="comma list of parts to skip: zero,roll,cut,live"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = Path(str(build_model()["link"]))
        b = Bench(tmp)
        try:
            b.server.start(timeout=120)  # a loaded machine: the server's start is not measured
            b.server.cli("org", "add", CALLER, "--kind", "tenant")
            b.key = {
                "Authorization": f"Bearer {b.cli('apikey', 'create', 'bench', '--tenant', CALLER)['key']}"
            }
            print(f"server {b.server.url}; {load()}")
            if "zero" not in skip:
                from_zero(b, tmp, model)
            else:
                b.cli("serve", "up", str(b.spec), "--tenant", PUBLISHER)
                b.cli("serve", "scale", NAME, "1", "--tenant", PUBLISHER)
                wait(lambda: len(b.ready()) >= 1)
            if "roll" not in skip:
                rollout_and_kill(b, args.rps)
            if "cut" not in skip:
                cut_stream(b, args.stream_deadline)
            if "live" not in skip:
                live(b, args.trace_minutes, args.trace_speedup)
        finally:
            b.server.stop()
            kill_leftover_runs(b.server.data_dir)


if __name__ == "__main__":
    main()
