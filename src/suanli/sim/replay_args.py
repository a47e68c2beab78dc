"""The arguments of a replay, checked at the edge (field, value, what is allowed)."""

from __future__ import annotations

from suanli.domain.errors import FieldError, InvalidInput
from suanli.scheduler.queueing import QUEUE_POLICIES

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
