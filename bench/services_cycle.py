"""What the services step adds to one scheduling cycle (prints figures and ratios).

    python bench/services_cycle.py [--services 20] [--replicas 3] [--ticks 40]

A simulated platform (the demo fleet on simulated engines, a fixed clock) on a SQLite file
store, the same store kind `suanli up` keeps by default. Steady state: every service's
replicas ready, the gateways' load reported every 5 s. Baseline in the same run: the same
platform's scheduling cycle with no service at all. Wall time per call of
``run_services_step`` and of a whole ``tick``, medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from suanli.domain.clock import FixedClock
from suanli.domain.service_spec import ServiceSpec
from suanli.domain.serving import LoadSample
from suanli.service import services as svc
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.services_control import run_services_step
from suanli.service.services_probe import ProbeTarget
from suanli.store.sql.database import sqlite_url
from suanli.workers.control_loop import tick

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class AlwaysReady:
    def check(self, targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        return {t.replica_id: True for t in targets}


def platform(root: Path) -> tuple[Platform, FixedClock]:
    clock = FixedClock(T0)
    p = open_platform(
        root / "data",
        clock=clock,
        database_url=sqlite_url(root / "bench.db"),
        detect_gpus=False,
        simulated_engines=True,
    )
    p.readiness = AlwaysReady()
    return p, clock


def median_ms(fn: Callable[[], object], ticks: int, clock: FixedClock) -> float:
    times = []
    for _ in range(ticks):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        clock.advance(0.5)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, base_clock = platform(Path(tmp) / "empty")
        empty_tick = median_ms(lambda: tick(base), args.ticks, base_clock)
        empty_step = median_ms(lambda: run_services_step(base), args.ticks, base_clock)
        p, clock = platform(Path(tmp) / "busy")
        n = args.replicas
        for i in range(args.services):
            spec = ServiceSpec.model_validate(
                {
                    "name": f"svc-{i}",
                    "resources": {"cpus": 1},
                    "run": "serve $PORT",
                    "replicas": {"min": n, "max": n},
                    "scaling": {"metric": "rps", "target": 100},
                }
            )
            svc.deploy(p, "demo", spec)
        for _ in range(20):  # replicas placed, started, addressed, probed
            tick(p)
            clock.advance(1)
        ready = sum(r.ready for r in p.services.replicas(live=True))

        def loaded() -> None:
            end = clock.now()
            for s in p.services.services():
                p.load_sink.observe(
                    LoadSample(s.id, "gw:1", end - dt.timedelta(seconds=5), end, 1, 50, 0, 0)
                )

        loaded()
        full_tick = median_ms(lambda: tick(p), args.ticks, clock)
        loaded()
        step = median_ms(lambda: run_services_step(p), args.ticks, clock)
        base.close()
        p.close()
    print(
        f"{args.services} services x {n} replicas ({ready} ready), SQLite, medians of {args.ticks}"
    )
    print(f"  services step, no service:      {empty_step:8.2f} ms")
    print(
        f"  services step, all services:    {step:8.2f} ms ({step / args.services:.2f} ms a service)"
    )
    print(f"  whole tick, no service:         {empty_tick:8.2f} ms")
    print(f"  whole tick, all services:       {full_tick:8.2f} ms ({full_tick / empty_tick:.1f}x)")


if __name__ == "__main__":
    main()
