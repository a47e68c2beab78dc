"""Benchmark: jobs in images on the local engine, against bare processes, in one run.

* ``start``: launch-to-finished of a job that does nothing (``true``), N times as a bare
  process and N times in ``suanli/debian:bookworm`` (already on the node), alternating;
  prints p50/p90 of each and the container's overhead (the issue's target: <= 1.5 s p50).
* ``chaos``: N container starts, each launched by a "server" process (a child that holds a
  LocalEngine and launches the runs) that is ``kill -9``-ed at random moments and started
  again (launch is idempotent: it launches every key again); afterwards every run must have
  finished once: 0 duplicate containers (each job prints one line per start), 0 lost.
  Then ``podman run`` alone: a new tenant's mapping (first start), the same again, and no
  mapping (the host's user namespace), interleaved, with the store's layer count.
* ``pull``: the first start of an image not on the node (pulled from the region's mirror)
  and a second start of it (cached): their launch-to-running times and the pull share.

Needs podman and SUANLI_REGISTRY with the images (scripts/registry-up.sh,
scripts/images-build.sh).

    .venv/bin/python bench/container_start.py start [--n 20]
    .venv/bin/python bench/container_start.py chaos [--n 50]
    .venv/bin/python bench/container_start.py pull [--image suanli/pytorch:2.13-cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.domain.spec import JobSpec
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.container import oci_runtime, own_ulimits
from suanli.engines.local import LocalEngine

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
BASE = "suanli/debian:bookworm"
CLOCK = SystemClock()
PAUSE = threading.Event()


def request(key: str, run: str, image: str | None) -> LaunchRequest:
    spec = JobSpec.model_validate(
        {"name": "bench", "run": run, "image": image, "resources": {"cpus": 1, "memory_gb": 1}}
    )
    placement = Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal(0))
    return LaunchRequest(key, "j-bench", 1, spec, placement, tenant="bench")


def wait(engine: LocalEngine, key: str, until: RunState | None = None) -> RunStatus:
    while True:
        status = engine.status(key)
        if (until is None and status.state.is_final) or status.state is until:
            return status
        if status.state.is_final:
            raise SystemExit(f"{key}: {status}")
        PAUSE.wait(0.02)


def timed(engine: LocalEngine, key: str, image: str | None, until: RunState | None) -> float:
    start = CLOCK.monotonic()
    engine.launch(request(key, "true", image))
    status = wait(engine, key, until)
    if until is None and status.state is not RunState.SUCCEEDED:
        raise SystemExit(f"{key}: {status}")
    return CLOCK.monotonic() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_bench(root: Path, n: int) -> None:
    engine = LocalEngine(root, CLOCK, registry=REGISTRY)
    timed(engine, "warm-bare", None, None)
    timed(engine, "warm-image", BASE, None)  # the image is on the node from here on
    bare, boxed = [], []
    for i in range(n):
        bare.append(timed(engine, f"bare-{i}", None, None))
        boxed.append(timed(engine, f"image-{i}", BASE, None))
    overhead = statistics.median(boxed) - statistics.median(bare)
    print(f"bare process   p50 {pct(bare, 0.5):.3f} s  p90 {pct(bare, 0.9):.3f} s  (n={n})")
    print(f"container      p50 {pct(boxed, 0.5):.3f} s  p90 {pct(boxed, 0.9):.3f} s  (n={n})")
    verdict = "met" if overhead <= 1.5 else "NOT met"
    print(f"overhead p50   {overhead:.3f} s  (target <= 1.5 s: {verdict})")
    launch = json.loads((engine.root / "image-0" / "launch.json").read_text())
    mapped = bool(launch["container"].get("user"))
    print(f"user namespace  {'the tenant range (userns.py)' if mapped else 'none (not root)'}")
    new_mapping_bench(n)


def new_mapping_bench(n: int) -> None:
    """A mapping podman has never seen (a new tenant's range) against the same one again,
    ``podman run`` alone: podman maps the image's layers with idmapped mounts, so a new
    mapping should copy nothing (the store's layer count says whether it did)."""
    image = f"{REGISTRY}/{BASE}"
    argv = ["podman", "run", "--rm", "--pull=never"]
    argv += [f"--ulimit={k}={a}:{b}" for k, (a, b) in own_ulimits().items()]
    if oci_runtime():
        argv[1:1] = ["--runtime", str(oci_runtime())]
    layers_before = _layers()
    first: list[float] = []
    again: list[float] = []
    unmapped: list[float] = []
    rng = random.Random()
    for _ in range(n):
        idmap = userns.for_tenant(f"bench-{rng.getrandbits(64):x}")
        for into, flags in ((first, idmap.argv()), (again, idmap.argv()), (unmapped, [])):
            start = CLOCK.monotonic()
            subprocess.run([*argv, *flags, image, "true"], check=True)
            into.append(CLOCK.monotonic() - start)
    print(f"new mapping    p50 {pct(first, 0.5):.3f} s  max {max(first):.3f} s  (n={n})")
    print(f"same again     p50 {pct(again, 0.5):.3f} s  max {max(again):.3f} s")
    print(f"no mapping     p50 {pct(unmapped, 0.5):.3f} s  max {max(unmapped):.3f} s")
    print(f"layers in podman's store: {layers_before} before, {_layers()} after")


def _layers() -> int:
    """Layers in podman's store (a mapped copy of an image's layers would add some)."""
    done = subprocess.run(
        ["podman", "info", "--format", "{{.Store.GraphRoot}} {{.Store.GraphDriverName}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    root, driver = done.stdout.split()
    return len(json.loads((Path(root) / f"{driver}-layers" / "layers.json").read_text()))


SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, {bench!r})
from container_start import request, CLOCK, REGISTRY, BASE
from suanli.engines.local import LocalEngine
engine = LocalEngine(Path({root!r}), CLOCK, registry=REGISTRY)
for i in range({n}):
    engine.launch(request(f"chaos-{{i}}", "echo once; sleep 1", BASE))
print("all launched", flush=True)
"""


def chaos_bench(root: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    script = SERVER.format(bench=str(Path(__file__).parent), root=str(root), n=n)
    kills = 0
    while True:
        server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        PAUSE.wait(rng.uniform(0.2, 3.0))
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
            kills += 1
        out, _ = server.communicate()
        if b"all launched" in out:
            break
    engine = LocalEngine(root, CLOCK, registry=REGISTRY)  # the server, for the last time
    states: dict[str, int] = {}
    duplicates = lost = 0
    for i in range(n):
        key = f"chaos-{i}"
        engine.launch(request(key, "echo once; sleep 1", BASE))
        status = wait(engine, key)
        states[status.state.value] = states.get(status.state.value, 0) + 1
        ran = engine.read_log(key, 0).data.decode().count("\nonce\n")
        duplicates += max(0, ran - 1)
        lost += status.state is not RunState.SUCCEEDED
    print(f"{n} container starts, server killed -9 {kills} times at random moments")
    print(f"final states {states}; duplicate starts {duplicates}; lost {lost}")


def pull_bench(root: Path, image: str) -> None:
    engine = LocalEngine(root, CLOCK, registry=REGISTRY)
    local = f"{REGISTRY}/{image}"
    subprocess.run(["podman", "rmi", "--force", "--ignore", local], check=False)
    size = 0
    first = timed(engine, "pull-first", image, None)
    second = timed(engine, "pull-second", image, None)
    done = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", local],
        capture_output=True,
        text=True,
        check=False,
    )
    size = int(done.stdout.strip() or 0)
    print(f"image {local}: {size / 1e9:.2f} GB on the node")
    print(f"first start (pulled from the mirror) {first:.2f} s; second start {second:.2f} s")
    print(
        f"pull share of the first start {first - second:.2f} s; second/first {second / first:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("start", "chaos", "pull"))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--image", default="suanli/pytorch:2.13-cpu")
    args = parser.parse_args()
    if not REGISTRY:
        raise SystemExit("SUANLI_REGISTRY is unset: scripts/registry-up.sh, images-build.sh")
    with tempfile.TemporaryDirectory(prefix="suanli-bench-") as tmp:
        root = Path(tmp) / "runs"
        if args.mode == "start":
            start_bench(root, args.n)
        elif args.mode == "chaos":
            chaos_bench(root, args.n, args.seed)
        else:
            pull_bench(root, args.image)


if __name__ == "__main__":
    main()
