"""Which replicas to start and which to stop: scaling and rolling updates, as a pure plan.

Replicas of the revision in force are "new", the others "old". Scaling changes how many
new ones run; a rolling update replaces old with new under two limits, as Kubernetes'
Deployment does: at most ``desired + surge`` live replicas, and at least ``desired -
max_unavailable`` ready ones. With ``max_unavailable`` 0 (the default) a ready old replica
is stopped only once a new one is ready in its place, so a rollout under load loses no
request. Rolling back is a rollout to an older revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplicaView:
    id: str
    revision: int
    ready: bool
    created: float  # seconds on the driver's clock (older first)


@dataclass(frozen=True, slots=True)
class ReplicaPlan:
    start: int  # new replicas of the revision in force
    stop: tuple[str, ...]  # replicas to take out of the routes and stop


def plan_replicas(
    live: Sequence[ReplicaView],
    revision: int,
    desired: int,
    surge: int = 1,
    max_unavailable: int = 0,
) -> ReplicaPlan:
    """The next step toward ``desired`` ready replicas of ``revision`` (``live``: replicas
    starting or ready, none draining). Pure: the same replicas give the same plan."""
    new = [r for r in live if r.revision == revision]
    old = [r for r in live if r.revision != revision]
    stop: list[ReplicaView] = []
    if len(new) > desired:  # scale down: the not ready first, then the newest
        order = sorted(new, key=lambda r: (r.ready, -r.created, r.id))
        stop += order[: len(new) - desired]
        new = order[len(new) - desired :]
    start = max(0, desired - len(new))
    if old:
        # Old replicas not ready serve nothing: they go at once. Ready ones go, oldest
        # first, while the ready count stays at or above desired - max_unavailable.
        going = [r for r in old if not r.ready]
        ready_old = sorted((r for r in old if r.ready), key=lambda r: (r.created, r.id))
        ready = sum(r.ready for r in new) + len(ready_old)
        spare = ready - max(0, desired - max_unavailable)
        going += ready_old[: max(0, spare)]
        stop += going
        room = desired + surge - len(new) - (len(old) - len(going))
        start = max(0, min(start, room))
    return ReplicaPlan(start, tuple(r.id for r in stop))


# A revision whose replicas keep failing is restarted ever more slowly, as Kubernetes does
# for a crash-looping container (CrashLoopBackOff: 10 s, doubled per failure, at most
# 300 s; kubelet's defaults), so a broken command cannot flood the queue with jobs.
BACKOFF_FIRST_S = 10.0
BACKOFF_MAX_S = 300.0


def restart_delay(failed_in_a_row: int) -> float:
    """Seconds to wait after the last failure before a new replica starts."""
    if failed_in_a_row <= 0:
        return 0.0
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** (failed_in_a_row - 1))
