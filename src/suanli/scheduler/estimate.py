"""What a job would cost and when it would finish on a pool: throughput, vouchers, data movement.

Run time scales with relative throughput: a spec's ``estimated_hours`` are hours on the
reference accelerator (A100, 312 dense FP16 TFLOPS), and is never more than the spec's hard
``time_limit_hours`` (the job is stopped then). The speed of a pool's model relative
to the reference comes from what ``suanli eval`` measured of the job's class on that model
(``Fleet.measured``), else from the fleet's throughput table, else from dense TFLOPS; a model with neither is taken at the reference
speed, and the explanation says so (relative throughput 1.0).

A measured table gives rates in its own unit, so only ratios count: when the class was
measured on the reference model too, the speed is the plain ratio of the two rates; when
not (Gavel measured K80, P100 and V100 only), the class's rates are tied to the reference
through the models it was measured on, by their dense TFLOPS (the geometric mean of
``tflops(m) / tflops(A100) / rate(m)`` over them), so the measured *ratios between*
models are kept and the level is the catalog's.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from suanli.domain.fleet import Cluster, Fleet, Pool
from suanli.domain.jobs import Estimate
from suanli.domain.money import FEN, floor_fen, round_fen
from suanli.domain.spec import JobSpec
from suanli.domain.throughput import ThroughputTable

REFERENCE_MODEL = "A100"
REFERENCE_HOURS = 1.0  # pools are compared on one reference hour when the spec gives none
_ZERO = Decimal(0)
_NO_COST = _ZERO.quantize(FEN)


def relative_throughput(fleet: Fleet, pool: Pool, job_class: str | None = None) -> float | None:
    """Speed of ``pool``'s accelerator relative to the reference (None: no figure at all)."""
    return Estimator(fleet, dt.datetime.min.replace(tzinfo=dt.UTC)).speed(
        job_class, pool.accelerator
    )


def estimate(
    spec: JobSpec,
    cluster: Cluster,
    pool: Pool,
    fleet: Fleet,
    now: dt.datetime,
    voucher_rate: Decimal = _ZERO,
) -> Estimate:
    """Cost (gross, voucher, data movement, net) and finish time of ``spec`` on ``pool``."""
    return Estimator(fleet, now).estimate(spec, cluster, pool, voucher_rate)[0]


class Estimator:
    """``estimate`` for the many pools of one fleet at one instant, with what pools share
    remembered: the speed per (job class, model), the run hours per (estimate, class,
    model), the data movement per (inputs, region)."""

    def __init__(self, fleet: Fleet, now: dt.datetime) -> None:
        self.fleet = fleet
        self.now = now
        self._speeds: dict[tuple[str | None, str | None], float | None] = {}
        self._hours: dict[
            tuple[float | None, float, str | None, str | None], tuple[float, Decimal]
        ] = {}
        self._data: dict[tuple[tuple[tuple[str, float], ...], str], tuple[Decimal, float]] = {}
        self._finish: dict[float, dt.datetime] = {}
        self._measured: dict[tuple[int, str], dict[str, float]] = {}
        self._spec: JobSpec | None = None
        self._units = _ZERO
        self._inputs: tuple[tuple[str, float], ...] = ()

    def speed(self, job_class: str | None, model: str | None) -> float | None:
        """Relative throughput of ``model`` for ``job_class``; None when nothing is known."""
        key = (job_class, model)
        if key in self._speeds:
            return self._speeds[key]
        found: float | None = 1.0
        if model is not None:
            found = self._measured_speed(job_class, model)
            if found is None:
                found = self._tflops_ratio(model)
        self._speeds[key] = found
        return found

    def estimate(
        self, spec: JobSpec, cluster: Cluster, pool: Pool, voucher_rate: Decimal = _ZERO
    ) -> tuple[Estimate, Decimal]:
        """The estimate of ``spec`` on ``pool`` and the job's price per hour there."""
        if spec is not self._spec:  # a costing asks for one spec on every pool in turn
            self._spec = spec
            self._units = spec.accelerator_units
            self._inputs = tuple((d.region, d.size_gb) for d in spec.inputs)
        units = self._units if pool.accelerator else Decimal(spec.resources.nodes)
        price = pool.price_per_accelerator_hour * units
        hours, dec_hours, speed = self._run_hours(spec, pool.accelerator)
        gross = round_fen(price * dec_hours)
        voucher = floor_fen(gross * voucher_rate)  # a rate is a ceiling
        data_cost, transfer_hours = self._moving(cluster.region)
        total = transfer_hours + hours
        finish = self._finish.get(total)
        if finish is None:
            finish = self._finish[total] = self.now + dt.timedelta(hours=total)
        est = Estimate(
            hours=hours,
            relative_throughput=speed if speed is not None else 1.0,
            gross=gross,
            voucher=voucher,
            data_cost=data_cost,
            transfer_hours=transfer_hours,
            net=gross - voucher + data_cost,
            finish_at=finish,
        )
        return est, price

    def _run_hours(self, spec: JobSpec, model: str | None) -> tuple[float, Decimal, float | None]:
        speed = self.speed(spec.job_class, model)
        key = (spec.estimated_hours, spec.time_limit_hours, spec.job_class, model)
        found = self._hours.get(key)
        if found is None:
            hours = (spec.estimated_hours or REFERENCE_HOURS) / (speed or 1.0)
            # The hard time limit stops the job: it never runs (or costs) longer than that.
            hours = min(hours, spec.time_limit_hours)
            found = self._hours[key] = (hours, _dec(hours))
        return found[0], found[1], speed

    def _moving(self, region: str) -> tuple[Decimal, float]:
        """Yuan and hours to move the current spec's inputs into ``region``."""
        if not self._inputs:
            return _NO_COST, 0.0
        key = (self._inputs, region)
        found = self._data.get(key)
        if found is None:
            cost = _ZERO
            hours = 0.0
            for source, size_gb in self._inputs:
                link = self.fleet.network.link(source, region)
                cost += link.price_per_gb * _dec(size_gb)
                if size_gb and link.gbps != float("inf"):
                    hours += size_gb * 8 / link.gbps / 3600
            found = self._data[key] = (round_fen(cost), hours)
        return found

    def _tflops_ratio(self, model: str) -> float | None:
        catalog = self.fleet.catalog
        entry, reference = catalog.get(model), catalog.get(REFERENCE_MODEL)
        if entry is None or reference is None or entry.tflops is None or not reference.tflops:
            return None
        return entry.tflops / reference.tflops

    def _measured_speed(self, job_class: str | None, model: str) -> float | None:
        """From the first table that measured ``job_class`` on ``model``: what ``suanli
        eval`` measured, then the fleet's file; tied to the reference (the module's doc)."""
        if job_class is None:
            return None
        for table in self._tables():
            rates = self._rates_of(table, job_class)
            rate = rates.get(model)
            if rate is None:
                continue
            reference = rates.get(REFERENCE_MODEL)
            if reference is not None:
                return rate / reference
            logs = [
                math.log(ratio / r)
                for m, r in rates.items()
                if (ratio := self._tflops_ratio(m)) is not None
            ]
            if logs:
                return rate * math.exp(sum(logs) / len(logs))
        return None

    def _tables(self) -> list[ThroughputTable]:
        measured, table = self.fleet.measured, self.fleet.throughput
        found = [measured.table] if measured is not None and measured.table.rates else []
        return found + ([table] if table is not None else [])

    def _rates_of(self, table: ThroughputTable, job_class: str) -> dict[str, float]:
        """``table``'s rates of ``job_class`` by catalog model id (aliases folded)."""
        key = (id(table), job_class)
        found = self._measured.get(key)
        if found is None:
            catalog = self.fleet.catalog
            found = {}
            for name, rate in table.of_class(job_class).items():
                entry = catalog.get(name)
                found[entry.model if entry else name] = rate
            self._measured[key] = found
        return found


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))
