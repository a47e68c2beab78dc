"""Issue 24's targets, measured side by side in one run (prints figures and ratios).

    python bench/eval_suite.py [--runs 3] [--skip-suite] [--traces DIR] [--gavel N]
        [--noise SIGMA] [--seeds 3]      (--runs 0, --gavel 0: leave that part out)

1. The whole suite (micro + models + conformance) on the CPU backend, one process, wall
   seconds (target <= 600), with the host's load average beside it (this CI host is
   shared: its 2 cores carry other sessions' work).
2. GEMM repeatability: the micro suite ``--runs`` times in fresh processes; the
   coefficient of variation of each GEMM figure (a run's median of its windows, see
   ``suanli.evalsuite.timing`` for the method) across the runs (target <= 5%), with the
   load average, each run's window spread, the share of its CPUs it had, the hypervisor's
   steal, and how many runs the suite itself flagged unsteady (``suanli.evalsuite.host``).
3. The Gavel replay (36 V100 + 36 P100 + 36 K80, msr seed=0 traces at --load 1), through
   the live cycle (``sim.live.LiveReplay``): the first ``--gavel-jobs`` jobs (default 500,
   a few CPU minutes) of each trace: job run times always follow Gavel's measured matrix
   (the truth: the simulated engine runs a job's work at its class's rate on the model it
   was placed on); the figures in docs/ came from the retired old path, which also moved
   running work (docs/sim-fidelity.md). The default policy places from
   (a) Gavel's table, (b) a *measured* table and (c) catalog dense TFLOPS, same jobs, same
   run. No K80, P100 or V100 was measured here: the measured table is Gavel's published
   per-class measurements (taken on real K80/P100/V100 by Gavel's authors) carried through
   suanli's own path (eval records -> ``measured_table`` -> placement), each rate scaled
   by log-normal noise at the run-to-run variation this host's GEMM figures showed in
   step 2 (what re-measuring with our suite would add). What it shows is that the
   measured path and our measurement noise keep Gavel-table placement, not that our suite
   measured those cards.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from suanli.domain.accelerators import Catalog
from suanli.domain.evaluation import EvalItem, EvalRecord, measured_table
from suanli.domain.throughput import ThroughputTable
from suanli.evalsuite.timing import cv as variation
from suanli.scheduler.estimate import REFERENCE_MODEL
from suanli.sim.load import at_load
from suanli.sim.scenario import load_scenario, setup_for, windowed
from suanli.sim.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "SUANLI-EVAL-RESULT "
GEMMS = ("gemm_fp32", "gemm_fp16", "gemm_bf16")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def suite(which: str, only: str | None = None) -> tuple[dict[str, Any], float]:
    """One run of the suite in a fresh process: its result and wall seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "suanli.evalsuite", "--suite", which]
        + (["--only", only] if only else []),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith(PREFIX))
    return json.loads(line[len(PREFIX) :]), wall


def whole_suite() -> None:
    result, wall = suite("all")
    hw, sw = result["hardware"], result["software"]
    counts = {
        s: sum(i["status"] == s for i in result["items"]) for s in ("passed", "failed", "skipped")
    }
    print(
        f"suite: {hw['device']} ({hw['backend']}, {hw['threads']} threads), numpy "
        f"{sw['numpy']}, torch {sw['torch']}: {len(result['items'])} items {counts}"
    )
    for i in result["items"]:
        if i["kind"] != "conformance" or i["status"] != "passed":
            value = f"{i['value']:.4g} {i['unit']}" if i["value"] is not None else i["status"]
            print(f"  {i['kind']:<11} {i['name']:<22} {i['framework']:<8} {value}  {i['detail']}")
    print(
        f"whole suite on the CPU backend: {wall:.1f} s wall (target <= 600), "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def repeatability(runs: int) -> float:
    """CV across ``runs`` fresh micro runs of each GEMM figure: the median of a run's
    windows (the reported value) and its best window; the worst median CV is returned."""
    figures: dict[tuple[str, str], list[float]] = {}
    unsteady: dict[str, int] = {}
    for n in range(runs):
        result, wall = suite("micro", ",".join(GEMMS))
        gemms = [i for i in result["items"] if i["name"] in GEMMS and i["status"] == "passed"]
        for i in gemms:
            figures.setdefault((i["name"], "median"), []).append(i["value"])
            figures.setdefault((i["name"], "best"), []).append(i["best"])
            unsteady[i["name"]] = unsteady.get(i["name"], 0) + (not i.get("steady", True))
            if i.get("steady", True):
                figures.setdefault((i["name"], "median, steady runs only"), []).append(i["value"])
        print(f"micro run {n + 1}: {wall:.1f} s, load average {os.getloadavg()[0]:.1f}")
        for i in gemms:
            print(
                f"  {i['name']} {i['value']:.4g} TFLOPS (best window {i['best']:.4g}, wall "
                f"clock {i.get('wall_value', 0):.4g}): {i['detail']}"
            )
    worst = 0.0
    for (name, kind), values in sorted(figures.items()):
        if len(values) < 2:
            continue
        cv = variation(values)
        worst = max(worst, cv) if kind == "median" else worst  # every run, flagged or not
        flagged = f", flagged unsteady in {unsteady.get(name, 0)}" if kind == "median" else ""
        print(
            f"{name} ({kind} of the windows): {', '.join(f'{v:.4g}' for v in values)} TFLOPS "
            f"over {len(values)} runs{flagged}, CV {cv:.1%} (target <= 5%)"
        )
    return worst


def published_records(table: ThroughputTable, noise: float, seed: int) -> list[EvalRecord]:
    """Gavel's per-class figures as eval records of the models they were measured on,
    each scaled by log-normal noise of sigma ``noise`` (honestly: not measured here)."""
    rng = random.Random(seed)
    by_model: dict[str, list[EvalItem]] = {}
    for (job_class, model), rate in sorted(table.rates.items()):
        noisy = rate * math.exp(rng.gauss(0, noise))
        by_model.setdefault(model, []).append(
            EvalItem(
                job_class,
                "models",
                "pytorch",
                "passed",
                noisy,
                "steps/s",
                detail="published: Gavel OSDI'20 simulation_throughputs.json",
                job_class=job_class,
            )
        )
    return [
        EvalRecord(
            f"j-{model.lower()}",
            "e-published",
            ("models",),
            "gavel",
            model.lower(),
            model,
            "measured",
            T0,
            T0,
            "cuda",
            model,
            items=tuple(items),
        )
        for model, items in by_model.items()
    ]


def tflops_table(catalog: Catalog, models: set[str]) -> ThroughputTable:
    ref = catalog.get(REFERENCE_MODEL)
    if ref is None or not ref.tflops:
        raise SystemExit(f"the catalog has no dense TFLOPS for {REFERENCE_MODEL}")
    fallback = {}
    for m in models:
        entry = catalog.get(m)
        if entry is not None and entry.tflops:
            fallback[m] = entry.tflops / ref.tflops
    return ThroughputTable({}, fallback, source="catalog dense TFLOPS")


def gavel(traces: Path, count: int, load: float, noise: float, seeds: int, first: int) -> None:
    scen = load_scenario(ROOT / "examples" / "sim" / "gavel-36x3.yaml")
    folder = traces / "gavel-osdi20" / "traces" / "msr" / "seed=0"
    paths = [f for f in sorted(folder.glob("*.trace")) if len(f.read_text().splitlines()) >= 500]
    rows = []
    for path in paths[:count]:
        trace = read_trace("gavel", path)
        setup = setup_for(scen, trace)
        truth = setup.throughput
        if truth is None:
            raise SystemExit(f"{path}: no throughput matrix beside the trace")
        jobs, _, _ = at_load(windowed(scen, trace.jobs), load, setup.fleet, truth)
        jobs = jobs[:first] if first > 0 else jobs
        models = {p.accelerator for _, p in setup.fleet.pools() if p.accelerator}
        catalog = setup.fleet.catalog
        tables = {
            "gavel": truth,
            "tflops": tflops_table(catalog, models),
            "exact": measured_table(published_records(truth, 0.0, 0), catalog),
        }
        for seed in range(seeds):
            tables[f"noisy{seed}"] = measured_table(published_records(truth, noise, seed), catalog)
        jct = {}
        for name, table in tables.items():
            # The table as the fleet's (what the live placement ranks models by).
            told = dataclasses.replace(
                setup, fleet=dataclasses.replace(setup.fleet, throughput=table)
            )
            jct[name] = told.replay("default").run(jobs).avg_jct_s
        noisy = [jct[f"noisy{s}"] for s in range(seeds)]
        jct["measured"] = statistics.fmean(noisy)
        jct["worst"] = max(noisy)
        rows.append(jct)
        print(
            f"gavel {path.name}: {len(jobs)} jobs, avg JCT (s) from Gavel's table "
            f"{jct['gavel']:,.0f}, measured path exact {jct['exact']:,.0f}, measured with "
            f"{noise:.1%} noise {', '.join(f'{x:,.0f}' for x in noisy)}, catalog TFLOPS "
            f"{jct['tflops']:,.0f}",
            flush=True,
        )

    def geo(top: str, bottom: str) -> float:
        return float(math.prod(r[top] / r[bottom] for r in rows) ** (1 / len(rows)))

    print(
        f"gavel replay, {len(rows)} traces at load {load}, geometric means of avg-JCT ratios: "
        f"measured-exact/gavel {geo('exact', 'gavel'):.3f}; measured-noisy (mean of {seeds} "
        f"seeds, sigma {noise:.1%})/gavel {geo('measured', 'gavel'):.3f}, worst seed "
        f"{geo('worst', 'gavel'):.3f} (target <= 1: no worse); measured-noisy/tflops "
        f"{geo('measured', 'tflops'):.3f}, worst seed {geo('worst', 'tflops'):.3f} "
        f"(target < 1: better); gavel/tflops {geo('gavel', 'tflops'):.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--runs", type=int, default=3, help="micro-suite runs for the GEMM CV (0: none)"
    )
    ap.add_argument("--skip-suite", action="store_true", help="no whole-suite run")
    ap.add_argument("--traces", type=Path, default=ROOT.parent / "shared" / "traces")
    ap.add_argument("--gavel", type=int, default=3, help="how many msr traces (>= 500 jobs)")
    ap.add_argument(
        "--gavel-jobs", type=int, default=500, help="each trace's first N jobs (0: all)"
    )
    ap.add_argument("--load", type=float, default=1.0)
    ap.add_argument("--noise", type=float, help="sigma of the measured table's noise")
    ap.add_argument("--seeds", type=int, default=3, help="noise draws of the measured table")
    args = ap.parse_args()
    noise = args.noise if args.noise is not None else 0.05
    if not args.skip_suite:
        whole_suite()
    if args.runs > 1:
        worst = repeatability(args.runs)
        noise = args.noise if args.noise is not None else worst
    if args.gavel > 0:
        gavel(args.traces, args.gavel, args.load, noise, args.seeds, args.gavel_jobs)


if __name__ == "__main__":
    main()
