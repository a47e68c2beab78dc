"""A rolling update of 3 real replicas under steady load, measured at the control plane's
edge: failed requests and the ready count while revision 2 replaces revision 1.

    python bench/serve_rollout.py [--rps 50] [--cache-s 1.0]

The real control loop and local engine; each replica is Python's http.server on the port
the engine gave it. The client stands in for the gateway (the gateway helper's, measured
with it by the lead after the merge): it reads ``platform.route_table`` at most every
``--cache-s`` seconds (the gateway may cache it a second or two), sends each request to the
next ready replica, and never retries, so every failure the control plane causes (a
replica stopped while still routed) shows. Target of issue 23: 0 failed requests.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from pathlib import Path

import httpx

from suanli.domain.service_spec import ServiceSpec
from suanli.service import services as svc
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.workers.control_loop import ControlLoop

_PAUSE = threading.Event()  # never set: waits are timeouts on it

SPEC = {
    "name": "echo",
    "resources": {"cpus": 1, "memory_gb": 1},
    "run": 'exec python3 -m http.server "$PORT" --bind 127.0.0.1',
    "readiness": {"path": "/", "timeout_s": 60, "period_s": 0.5},
    "replicas": {"min": 3, "max": 3},
    "rollout": {"surge": 1, "max_unavailable": 0, "drain_s": 3},
}


def ready_urls(p: Platform) -> list[str]:
    return [e.url for r in p.route_table.routes() for e in r.replicas if e.ready]


def wait(cond: object, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > end:
            raise SystemExit("timed out")
        _PAUSE.wait(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=float, default=50.0)
    parser.add_argument("--cache-s", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = open_platform(Path(tmp) / "data", detect_gpus=False)
        loop = ControlLoop(p, interval_s=0.2)
        loop.start()
        try:
            run(p, args.rps, args.cache_s)
        finally:
            svc.delete(p, "demo", "echo")
            wait(lambda: not p.services.services(), timeout=60)
            loop.stop()
            p.close()


def run(p: Platform, rps: float, cache_s: float) -> None:
    svc.deploy(p, "demo", ServiceSpec.model_validate(SPEC))
    wait(lambda: len(ready_urls(p)) == 3)
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    fewest = [3]

    def load() -> None:
        urls: list[str] = []
        read_at = -1e9
        turn = itertools.count()
        with httpx.Client(trust_env=False, timeout=5) as client:
            while not stop.is_set():
                if time.monotonic() - read_at >= cache_s:
                    urls, read_at = ready_urls(p), time.monotonic()
                    fewest[0] = min(fewest[0], len(urls))
                url = urls[next(turn) % len(urls)] if urls else None
                try:
                    good = url is not None and client.get(url + "/").status_code == 200
                except httpx.HTTPError:
                    good = False
                counts["ok" if good else "failed"] += 1
                _PAUSE.wait(1 / rps)

    worker = threading.Thread(target=load)
    worker.start()
    _PAUSE.wait(3)
    started = time.monotonic()
    svc.deploy(p, "demo", ServiceSpec.model_validate({**SPEC, "env": {"VERSION": "2"}}))

    def rolled() -> bool:
        live = p.services.replicas(live=True)
        return len(live) == 3 and all(r.revision == 2 and r.ready for r in live)

    wait(rolled)
    took = time.monotonic() - started
    _PAUSE.wait(3)
    stop.set()
    worker.join()
    total = counts["ok"] + counts["failed"]
    print(f"rolling update of 3 replicas, {rps:.0f} requests/s target, routes cached {cache_s} s")
    print(f"  rollout took {took:.1f} s; requests {total}; failed {counts['failed']}")
    print(f"  fewest ready replicas routed during it: {fewest[0]}")


if __name__ == "__main__":
    main()
