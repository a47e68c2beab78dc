"""The arguments of a replay, checked at the edge (field, value, what is allowed)."""

from __future__ import annotations

from collections.abc import Sequence

from suanli.domain.errors import FieldError, InvalidInput
from suanli.scheduler.queueing import QUEUE_POLICIES
from suanli.sim.traces import TraceJob

# none: the scheduler knows no run times; exact: each job's trace run time is handed over
# as its ``estimated_hours`` (an oracle, for sjf and srtf).
ESTIMATES = ("none", "exact")


def check_replay_args(policy: str, estimates: str) -> None:
    errors = []
    if policy not in QUEUE_POLICIES:
        errors.append(FieldError("policy", "not_allowed", policy, ", ".join(QUEUE_POLICIES)))
    if estimates not in ESTIMATES:
        errors.append(FieldError("estimates", "not_allowed", estimates, ", ".join(ESTIMATES)))
    if errors:
        raise InvalidInput("invalid_sim_args", errors=errors, source="suanli sim replay")


# ``--jobs``: at most this many (a hundred times the 82k-job Philly trace); 0 means all.
MAX_JOBS = 10_000_000


def window_of(jobs: Sequence[TraceJob], skip: int, count: int) -> list[TraceJob]:
    """Jobs ``skip`` .. ``skip + count`` in submission order (``count`` 0: to the end), as
    ``bench/live_figures.py --skip --jobs`` picks them; each bound checked against the
    trace (field, value, what is allowed)."""
    check_window(skip, count, len(jobs))
    ordered = sorted(jobs, key=lambda j: j.submit)[skip:]
    return ordered[:count] if count else ordered


def check_window(skip: int, count: int, available: int | None = None) -> None:
    """``--skip`` and ``--jobs`` in bounds; ``skip`` also inside ``available`` jobs once
    the trace is read (None: not yet)."""
    errors = []
    if not 0 <= count <= MAX_JOBS:
        errors.append(FieldError("jobs", "out_of_range", count, f"0 .. {MAX_JOBS:,}"))
    if skip < 0 or (available is not None and skip > 0 and skip >= available):
        # Figures only: the message around them is in the reader's language.
        allowed = "≥ 0" if available is None else f"0 .. {max(available - 1, 0):,}"
        errors.append(FieldError("skip", "out_of_range", skip, allowed))
    if errors:
        raise InvalidInput("invalid_sim_args", errors=errors, source="suanli sim replay")
