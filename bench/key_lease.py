"""Benchmark: what the shared per-key rate limit costs the gateway per request.

One process, same run: ``KeyCheck.take`` for a key without a limit, and for a limited key
whose bucket is in SQLite (``SqlKeyBuckets``, one upsert per lease) at a rate the load
never reaches, so every request is admitted and a lease is taken every ``lease`` requests.
Prints microseconds of CPU per request, each request's wait in ``take`` (p50, p99, max)
and the store writes made. Leases are taken ahead (in the background) once half of one is
spent, so a request waits for the store only when a key's tokens ran out.

    .venv/bin/python bench/key_lease.py [--requests 20000] [--rate 400]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from suanli.domain.apikeys import ApiKey
from suanli.domain.clock import SystemClock
from suanli.gateway.keys import KeyCheck, lease_size
from suanli.store.ratelimits import Lease
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.ratelimits import SqlKeyBuckets


class CountingBuckets(SqlKeyBuckets):
    leases = 0

    def lease(self, key_id: str, rate_per_s: float, burst: int, want: int, at: float) -> Lease:
        CountingBuckets.leases += 1
        return super().lease(key_id, rate_per_s, burst, want, at)


def key(rate: float | None) -> ApiKey:
    return ApiKey(
        id="a1b2c3d4e5f6" if rate else "f6e5d4c3b2a1",
        tenant="acme",
        name="bench",
        secret_hash="0" * 64,
        services=(),
        created_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        created_by="bench",
        rate_per_s=rate,
        burst=int(rate / 4) if rate else None,
    )


async def spend(check: KeyCheck, k: ApiKey, n: int, period: float) -> tuple[float, list[float]]:
    cpu = time.process_time()
    waits: list[float] = []
    for _ in range(n):
        began = time.perf_counter()
        await check.take(k)
        waits.append(time.perf_counter() - began)
        await asyncio.sleep(period)  # the requests' pace: the bucket refills meanwhile
    return time.process_time() - cpu, sorted(waits)


def pct(waits: list[float], q: float) -> float:
    return waits[min(len(waits) - 1, int(q * len(waits)))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=400.0, help="the key's limit, requests/s")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(sqlite_url(Path(tmp) / "bench.db"))
        buckets = CountingBuckets(engine)
        check = KeyCheck(None, SystemClock(), buckets=buckets)
        period = 1.0 / (args.rate / 2)  # half the key's rate: never refused
        n = args.requests
        free_cpu, free = asyncio.run(spend(check, key(None), n, period))
        limited_cpu, limited = asyncio.run(spend(check, key(args.rate), n, period))
        engine.dispose()
    lease = lease_size(args.rate, int(args.rate / 4))
    print(
        f"{n} requests at {args.rate / 2:g}/s to a key limited to {args.rate:g}/s (lease {lease})"
    )
    print(f"  store writes (leases): {CountingBuckets.leases}")
    print(
        f"  CPU per request: no limit {free_cpu / n * 1e6:.1f} us, shared limit {limited_cpu / n * 1e6:.1f} us, added {(limited_cpu - free_cpu) / n * 1e6:.1f} us"
    )
    for name, waits in (("no limit", free), ("shared limit", limited)):
        print(
            f"  {name}: take() p50 {pct(waits, 0.5):.3f} ms, p99 {pct(waits, 0.99):.3f} ms, "
            f"max {waits[-1] * 1e3:.3f} ms"
        )


if __name__ == "__main__":
    main()
