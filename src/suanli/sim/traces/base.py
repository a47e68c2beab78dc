"""The rows every trace adapter produces, and the registry of adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.throughput import ThroughputTable


@dataclass(frozen=True, slots=True)
class TraceJob:
    """One job of a trace. ``work`` is in the throughput table's units (seconds when the
    trace gives durations): the run time on a model is ``work / rate(job_class, model)``.
    Only the simulated engine reads ``work``; the scheduler sees an estimate only when the
    replay is asked to hand one over (``--estimates exact``)."""

    id: str
    tenant: str
    submit: float  # seconds (trace clock)
    accelerators: int
    work: float
    job_class: str | None = None
    models: frozenset[str] | None = None
    priority: int = 0


@dataclass(frozen=True)
class Trace:
    jobs: list[TraceJob]
    throughput: ThroughputTable | None = None  # the engine's truth, when the trace has one
    skipped: int = 0  # rows the adapter left out (no accelerators, unusable times), counted
    notes: tuple[str, ...] = field(default_factory=tuple)


Reader = Callable[[Path], Trace]
TRACE_FORMATS: dict[str, Reader] = {}


def register(name: str) -> Callable[[Reader], Reader]:
    def add(reader: Reader) -> Reader:
        TRACE_FORMATS[name] = reader
        return reader

    return add


def parse_trace_arg(value: str) -> tuple[str, Path]:
    """``FORMAT:PATH`` -> (format, path); InvalidInput names the field and the formats."""
    _load_plugins()
    fmt, sep, path = value.partition(":")
    if not sep or not path or fmt not in TRACE_FORMATS:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[
                FieldError(
                    "trace",
                    "not_allowed",
                    value,
                    f"FORMAT:PATH, FORMAT one of {', '.join(TRACE_FORMATS)}",
                )
            ],
            source="suanli sim replay",
        )
    return fmt, Path(path)


def read_trace(fmt: str, path: Path) -> Trace:
    _load_plugins()
    if not path.exists():
        raise InvalidInput(
            "invalid_sim_args",
            errors=[FieldError("trace", "not_allowed", str(path), "an existing file or folder")],
            source="suanli sim replay",
        )
    return TRACE_FORMATS[fmt](path)


def _load_plugins() -> None:
    # Importing the adapters registers them; kept lazy so a reader pays only for what it uses.
    from suanli.sim.traces import gavel, openb, philly  # noqa: F401, PLC0415
