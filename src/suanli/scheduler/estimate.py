"""What a job would cost and when it would finish on a pool: throughput, vouchers, data movement.

Run time scales with relative throughput: a spec's ``estimated_hours`` are hours on the
reference accelerator (A100, 312 dense FP16 TFLOPS); a pool whose model has no sourced
TFLOPS figure is taken at the reference speed, and the explanation says so.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from suanli.domain.fleet import Cluster, Fleet, Pool
from suanli.domain.jobs import Estimate
from suanli.domain.spec import JobSpec
from suanli.scheduler.feasibility import job_price_per_hour

REFERENCE_MODEL = "A100"
REFERENCE_HOURS = 1.0  # pools are compared on one reference hour when the spec gives none
FEN = Decimal("0.01")


def relative_throughput(fleet: Fleet, pool: Pool) -> float | None:
    """Speed of ``pool``'s accelerator relative to the reference, from dense TFLOPS."""
    if pool.accelerator is None:
        return 1.0
    model = fleet.catalog.get(pool.accelerator)
    reference = fleet.catalog.get(REFERENCE_MODEL)
    if model is None or reference is None or model.tflops is None or not reference.tflops:
        return None
    return model.tflops / reference.tflops


def estimate(
    spec: JobSpec,
    cluster: Cluster,
    pool: Pool,
    fleet: Fleet,
    now: dt.datetime,
    voucher_rate: Decimal = Decimal(0),
) -> Estimate:
    """Cost (gross, voucher, data movement, net) and finish time of ``spec`` on ``pool``."""
    speed = relative_throughput(fleet, pool)
    hours = (spec.estimated_hours or REFERENCE_HOURS) / (speed or 1.0)
    gross = (job_price_per_hour(spec, pool) * _dec(hours)).quantize(FEN, ROUND_HALF_UP)
    voucher = (gross * voucher_rate).quantize(FEN, ROUND_DOWN)  # a rate is a ceiling
    data_cost = Decimal(0)
    transfer_hours = 0.0
    for data in spec.inputs:
        link = fleet.network.link(data.region, cluster.region)
        data_cost += link.price_per_gb * _dec(data.size_gb)
        if data.size_gb and link.gbps != float("inf"):
            transfer_hours += data.size_gb * 8 / link.gbps / 3600
    data_cost = data_cost.quantize(FEN, ROUND_HALF_UP)
    finish = now + dt.timedelta(hours=transfer_hours + hours)
    return Estimate(
        hours=hours,
        relative_throughput=speed if speed is not None else 1.0,
        gross=gross,
        voucher=voucher,
        data_cost=data_cost,
        transfer_hours=transfer_hours,
        net=gross - voucher + data_cost,
        finish_at=finish,
    )


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))
