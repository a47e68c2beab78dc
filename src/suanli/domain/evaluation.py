"""What the evaluation suite measured, and what placement and the report make of it (pure).

A record is one evaluation job's result on one pool: the hardware it found (backend,
device, driver), the software (framework versions) and one item per measurement. From
the records this module derives:

- the measured throughput table (``measured_table``): rates per (job class, model), taken
  only from records whose hardware *is* the pool's model (a local engine that emulates an
  H100 on the host CPU measured a CPU, and says so: its figures never stand for an H100);
- the measured incompatibilities (``compatibility``): a framework that is missing on a
  pool or whose FP32 operators fail conformance, a job class whose model step failed; a
  job that declares that framework or class is kept off that pool (``pool_exclusion``);
- regressions: an item that failed after passing, or whose figure fell by more than
  ``REGRESSION_DROP`` from one steady measurement of a pool to the next;
- steadiness: a figure the suite flagged unsteady (its median may be off by more than the
  suite's bound, or the hypervisor stole CPU time meanwhile: ``suanli.evalsuite.host``) is
  kept and shown, but placement and regressions take the pool's newest *steady* figure of
  that item instead (``set_aside`` says which figure was set aside and why); a figure
  without the flag (results older than the flag) counts as steady, as it did before;
- measured against the datasheet: dense FP16/BF16 GEMM over the catalog's figure.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from suanli.domain.accelerators import Catalog
from suanli.domain.jobs import Reason
from suanli.domain.spec import JobSpec
from suanli.domain.throughput import ThroughputTable

# A figure this much below the pool's previous one is flagged. Stated, not tuned: twice the
# 5% run-to-run variation the GEMM figures are held to (bench/eval_suite.py measures it).
REGRESSION_DROP = 0.10
MEASURED_SOURCE = "measured by suanli eval"
# Precisions whose conformance failures exclude a pool: a job does not declare its
# precision, and FP32 is what every framework's default path uses. Half-precision failures
# are in the report's matrix for the job's owner to read.
EXCLUDING_DTYPES = frozenset({"fp32"})
FRAMEWORK_ALIASES = {"torch": "pytorch", "pytorch": "pytorch", "torch_npu": "pytorch"}
THROUGHPUT_KINDS = frozenset({"micro", "models"})


@dataclass(frozen=True)
class EvalItem:
    name: str
    kind: str  # micro | models | conformance
    framework: str
    status: str  # passed | failed | skipped
    value: float | None = None
    unit: str | None = None
    detail: str = ""
    cv: float | None = None
    job_class: str | None = None
    op: str | None = None
    dtype: str | None = None
    tolerance: float | None = None
    steady: bool | None = None  # None: not judged (an older result, or not a timed figure)
    error: float | None = None  # the median's standard error, a fraction of it
    steal: float | None = None  # the hypervisor's share of the host's CPU time meanwhile

    @property
    def unsteady(self) -> bool:
        return self.steady is False

    def unsteady_why(self, lang: str = "en") -> str:
        """Why the suite flagged the figure (its own words, en or zh), else the figures."""
        if not self.unsteady:
            return ""
        marker = "UNSTEADY: "
        if marker in self.detail:
            en, _, zh = self.detail.split(marker, 1)[1].partition(" / 不稳定：")
            text = zh if lang.startswith("zh") and zh else en
            if text.strip():
                return text.strip()
        parts = []
        if self.error is not None:
            parts.append(f"median ±{self.error:.1%}")
        if self.steal is not None:
            parts.append(f"{self.steal:.1%} stolen")
        return ", ".join(parts) or "unsteady"


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation job: where it ran, what it found, what it measured."""

    job_id: str
    run_id: str
    suites: tuple[str, ...]
    cluster: str
    pool: str
    model: str | None  # the pool's catalog model (None: a CPU pool)
    state: str  # running | measured | failed
    created_at: dt.datetime
    measured_at: dt.datetime | None = None
    backend: str | None = None  # cpu | cuda | npu
    device: str | None = None
    driver: str | None = None
    software: Mapping[str, str | None] = field(default_factory=dict)
    items: tuple[EvalItem, ...] = ()
    error: str = ""  # why a failed run has no result
    seconds: float | None = None  # how long the suite ran

    def hardware_is_model(self, catalog: Catalog) -> bool:
        """The measured device is the pool's model (a CPU pool measured on the CPU counts)."""
        if self.state != "measured" or self.device is None:
            return False
        if self.model is None:
            return self.backend == "cpu"
        entry, found = catalog.get(self.model), catalog.get(self.device)
        return entry is not None and found is entry and self.backend != "cpu"

    def version(self, framework: str) -> str | None:
        key = "torch" if framework == "pytorch" else framework
        return self.software.get(key)


@dataclass(frozen=True)
class Incompatibility:
    """What a pool was measured unable to run, and the evidence."""

    framework: str | None  # jobs declaring it are excluded
    job_class: str | None  # jobs of this class are excluded
    what: str  # e.g. "matmul_fp32: error 3e-2 > tolerance 1e-5"
    job_id: str
    measured_at: dt.datetime


@dataclass(frozen=True)
class SetAside:
    """A pool's newest figure of an item, flagged unsteady, and what is used in its place."""

    cluster: str
    pool: str
    framework: str
    item: str
    job_class: str | None
    value: float | None  # the unsteady figure, not used
    why: str  # en
    why_zh: str
    job_id: str
    measured_at: dt.datetime
    used: float | None  # the pool's previous steady figure (None: the fallback table)
    used_job_id: str | None


@dataclass(frozen=True)
class Measurements:
    """What placement takes from the records: measured rates and incompatibilities."""

    table: ThroughputTable = field(default_factory=ThroughputTable)
    incompatible: Mapping[tuple[str, str], tuple[Incompatibility, ...]] = field(
        default_factory=dict
    )
    set_aside: tuple[SetAside, ...] = ()

    def of(self, cluster: str, pool: str) -> tuple[Incompatibility, ...]:
        return self.incompatible.get((cluster, pool), ())


def pool_exclusion(
    spec: JobSpec, cluster: str, pool: str, measured: Measurements | None
) -> Reason | None:
    """Why the records keep ``spec`` off ``cluster/pool`` (None: nothing measured against it)."""
    if measured is None:
        return None
    found = measured.of(cluster, pool)
    if not found:
        return None
    frameworks = {_framework(f) for f in spec.frameworks}
    for x in found:
        hit = (x.framework is not None and x.framework in frameworks) or (
            x.job_class is not None and x.job_class == spec.job_class
        )
        if hit:
            return Reason(
                "pool_eval_incompatible",
                {
                    "what": x.framework or x.job_class or "",
                    "detail": x.what,
                    "job": x.job_id,
                    "at": x.measured_at.isoformat(timespec="minutes"),
                },
            )
    return None


def latest_items(
    records: Iterable[EvalRecord],
) -> dict[tuple[str, str], dict[tuple[str, str], tuple[EvalRecord, EvalItem]]]:
    """Per pool, the newest measurement of each (framework, item)."""
    found: dict[tuple[str, str], dict[tuple[str, str], tuple[EvalRecord, EvalItem]]] = {}
    for r in sorted(_measured(records), key=_when):
        pool = found.setdefault((r.cluster, r.pool), {})
        for i in r.items:
            pool[(i.framework, i.name)] = (r, i)
    return found


def latest_steady(
    records: Iterable[EvalRecord],
) -> dict[tuple[str, str], dict[tuple[str, str], tuple[EvalRecord, EvalItem]]]:
    """Per pool, the newest measurement of each (framework, item) not flagged unsteady."""
    found: dict[tuple[str, str], dict[tuple[str, str], tuple[EvalRecord, EvalItem]]] = {}
    for r in sorted(_measured(records), key=_when):
        pool = found.setdefault((r.cluster, r.pool), {})
        for i in r.items:
            if not i.unsteady:
                pool[(i.framework, i.name)] = (r, i)
    return found


def set_aside(records: Iterable[EvalRecord]) -> tuple[SetAside, ...]:
    """Each pool's newest figure that is flagged unsteady, and the steady one used instead."""
    kept = list(records)
    steady = latest_steady(kept)
    out = []
    for (cluster, pool), items in sorted(latest_items(kept).items()):
        for key, (r, i) in sorted(items.items()):
            if not i.unsteady:
                continue
            before = steady.get((cluster, pool), {}).get(key)
            out.append(
                SetAside(
                    cluster,
                    pool,
                    i.framework,
                    i.name,
                    i.job_class,
                    i.value,
                    i.unsteady_why("en"),
                    i.unsteady_why("zh"),
                    r.job_id,
                    r.measured_at or r.created_at,
                    before[1].value if before else None,
                    before[0].job_id if before else None,
                )
            )
    return tuple(out)


def measured_table(records: Iterable[EvalRecord], catalog: Catalog) -> ThroughputTable:
    """Rates per (job class, model): the median over pools of each pool's newest *steady*
    figure (an unsteady one is set aside: the previous steady figure stands, else none)."""
    by_key: dict[tuple[str, str], list[float]] = {}
    for items in latest_steady(records).values():
        for r, i in items.values():
            if (
                i.job_class
                and i.status == "passed"
                and i.value
                and r.model is not None
                and r.hardware_is_model(catalog)
            ):
                by_key.setdefault((i.job_class, r.model), []).append(i.value)
    rates = {key: statistics.median(values) for key, values in by_key.items()}
    return ThroughputTable(rates, source=MEASURED_SOURCE)


def compatibility(
    records: Iterable[EvalRecord],
) -> dict[tuple[str, str], tuple[Incompatibility, ...]]:
    """Per pool, what its newest measurements say it cannot run."""
    found: dict[tuple[str, str], tuple[Incompatibility, ...]] = {}
    for pool, items in latest_items(records).items():
        out: dict[tuple[str | None, str | None], Incompatibility] = {}
        for r, i in items.values():
            when = r.measured_at or r.created_at
            key: tuple[str | None, str | None]
            if i.kind == "conformance" and i.dtype in EXCLUDING_DTYPES and i.status != "passed":
                key = (i.framework, None)
                out.setdefault(key, Incompatibility(i.framework, None, _what(i), r.job_id, when))
            elif i.kind == "models" and i.status == "failed" and i.job_class:
                key = (None, i.job_class)
                out.setdefault(key, Incompatibility(None, i.job_class, _what(i), r.job_id, when))
        if out:
            found[pool] = tuple(out.values())
    return found


def measurements(records: Iterable[EvalRecord], catalog: Catalog) -> Measurements:
    kept = list(records)
    return Measurements(measured_table(kept, catalog), compatibility(kept), set_aside(kept))


@dataclass(frozen=True)
class Regression:
    cluster: str
    pool: str
    framework: str
    item: str
    before: float | None
    after: float | None
    before_status: str
    after_status: str
    unit: str | None
    job_id: str

    @property
    def change(self) -> float | None:
        if self.before and self.after is not None:
            return self.after / self.before - 1
        return None


def regressions(records: Iterable[EvalRecord], drop: float = REGRESSION_DROP) -> list[Regression]:
    """Items whose newest measurement on a pool failed after passing, or fell by ``drop``.

    Figures flagged unsteady are left out: a drop is judged between steady figures only."""
    history: dict[tuple[str, str, str, str], list[tuple[EvalRecord, EvalItem]]] = {}
    for r in sorted(_measured(records), key=_when):
        for i in r.items:
            if i.unsteady:
                continue
            history.setdefault((r.cluster, r.pool, i.framework, i.name), []).append((r, i))
    found = []
    for (cluster, pool, framework, name), seen in sorted(history.items()):
        if len(seen) < 2:
            continue
        (_, old), (new_r, new) = seen[-2], seen[-1]
        fell = (
            new.kind in THROUGHPUT_KINDS
            and old.status == new.status == "passed"
            and old.value
            and new.value is not None
            and new.value < old.value * (1 - drop)
        )
        broke = old.status == "passed" and new.status == "failed"
        if fell or broke:
            found.append(
                Regression(
                    cluster,
                    pool,
                    framework,
                    name,
                    old.value,
                    new.value,
                    old.status,
                    new.status,
                    new.unit,
                    new_r.job_id,
                )
            )
    return found


def _measured(records: Iterable[EvalRecord]) -> list[EvalRecord]:
    return [r for r in records if r.state == "measured"]


def _when(r: EvalRecord) -> tuple[dt.datetime, str]:
    return (r.measured_at or r.created_at, r.job_id)


def _what(i: EvalItem) -> str:
    return f"{i.name}: {i.detail}" if i.detail else f"{i.name}: {i.status}"


def _framework(name: str) -> str:
    folded = name.strip().lower()
    return FRAMEWORK_ALIASES.get(folded, folded)
