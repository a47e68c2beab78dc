"""Autoscaling target of issue 23, measured in one run (prints figures and ratios).

    python bench/serve_autoscale.py [--traces DIR] [--slo-ttft 2.0] [--start-s 120]

The Azure LLM conversation trace (2023-11-16, one hour, 19,366 requests) against
examples/services/llama8b-vllm-a10.yaml (Llama-3.1-8B on one A10 per replica; latency
model and its sources: suanli/data/llm-latency.yaml). Four provisionings on the same
latency model and TTFT SLO: the default autoscaler, an oracle that knows the coming load
(its replicas' start time plus the next minute), static replicas for the peak minute and
for the mean. The default policy's constants were tuned on the first 30 minutes: figures
are printed for those (tuning), for the last 30 (held out) and for the whole hour.

Target: default replica-hours <= 1.15 x the oracle's, with >= 99% of requests inside
the TTFT SLO.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from suanli.schemas.servicefile import parse_service_text
from suanli.sim.serving.compare import compare
from suanli.sim.serving.latency import replica_model
from suanli.sim.serving.trace import read_azure_llm

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "examples" / "services" / "llama8b-vllm-a10.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=ROOT.parent / "shared" / "traces")
    parser.add_argument("--slo-ttft", type=float, default=2.0)
    parser.add_argument("--start-s", type=float, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path = args.traces / "azure-llm-2023" / "AzureLLMInferenceTrace_conv.csv"
    spec = parse_service_text(SERVICE.read_bytes(), str(SERVICE))
    model = replica_model(spec, "llama-3.1-8b", args.start_s)
    requests = read_azure_llm(path)
    began = time.perf_counter()
    found = compare(requests, spec, model, args.slo_ttft, 1800.0)
    took = time.perf_counter() - began
    if args.json:
        print(json.dumps(found.to_dict(), indent=2))
        return
    print(f"{len(requests)} requests, {model.name}, start {model.start_s:g} s, ", end="")
    print(f"TTFT SLO {found.slo_ttft_s:g} s, scaling {spec.scaling.metric} ", end="")
    print(f"target {spec.scaling.target:g}/replica; {took:.1f} s wall for all four replays")
    head = f"{'policy':<12} {'slice':<9} {'replica-h':>9} {'in SLO':>8} {'TTFT p50':>9} "
    print(head + f"{'TTFT p99':>9} {'TPOT p50':>9} {'TPOT p99':>9} {'e2e p99':>8}")
    for r in found.rows:
        print(
            f"{r.policy:<12} {r.slice:<9} {r.replica_hours:>9.2f} {r.slo_attainment:>8.2%} "
            f"{r.ttft_p50_s:>8.2f}s {r.ttft_p99_s:>8.2f}s {r.tpot_p50_ms:>7.0f}ms "
            f"{r.tpot_p99_ms:>7.0f}ms {r.e2e_p99_s:>7.1f}s"
        )
    print(f"static: peak {found.static_peak} replicas, mean {found.static_mean}")
    for s in ("tuning", "held_out", "whole"):
        d = found.row("default", s)
        ok = found.ratio(s) <= 1.15 and d.slo_attainment >= 0.99
        print(
            f"{s:<9} default/oracle replica-hours {found.ratio(s):.3f} (target <= 1.15), "
            f"default in SLO {d.slo_attainment:.2%} (target >= 99%): {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
