"""The packing policy protocol, what every policy is built from, and the one-pod decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from suanli.domain.packing import PackingOptions as PackingOptions  # configured, not chosen here
from suanli.scheduler.packing.fragmentation import FloatArray, TargetWorkload
from suanli.scheduler.packing.state import ClusterState
from suanli.scheduler.packing.types import Placement, PodRequest

TIE_TOLERANCE = 1e-9
"""Scores closer than this are equal: float noise must not decide between equal nodes."""


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may know besides the cluster: the expected workload, a seed and the
    configured options."""

    workload: TargetWorkload
    seed: int = 0
    # Replays break exact ties at random (as the Kubernetes scheduler does); the live
    # scheduler takes the lowest node index, so a placement reads the same every time.
    random_ties: bool = True
    options: PackingOptions = field(default_factory=PackingOptions)


class PackingPolicy(Protocol):
    """Chooses the node (and GPU slots) for one pod among the nodes where it fits now."""

    name: str

    def choose(
        self, state: ClusterState, pod: PodRequest, candidates: NDArray[np.intp]
    ) -> Placement:
        """Return a placement of ``pod`` on one of ``candidates``.

        ``candidates`` is non-empty and holds exactly the node indices where ``pod`` fits
        now (``ClusterState.candidates``). Must not mutate ``state``; may keep caches keyed
        by ``state.version``. Deterministic for a given seed and call sequence; no I/O.
        """
        ...


PolicyFactory = Callable[[PolicyContext], PackingPolicy]
TieBreak = Callable[[NDArray[np.intp]], FloatArray]
"""Second score for the positions (into the candidates) that tie on the first."""


def pack_one(state: ClusterState, pod: PodRequest, policy: PackingPolicy) -> Placement | None:
    """Place ``pod`` where ``policy`` says and apply it to ``state``; None when nothing fits."""
    candidates = state.candidates(pod)
    if not candidates.size:
        return None
    placement = policy.choose(state, pod, candidates)
    state.place(pod, placement)
    return placement


def pick_lowest(
    scores: FloatArray,
    rng: np.random.Generator | None,
    *,
    then: TieBreak | Sequence[TieBreak] | None = None,
) -> int:
    """Index of the lowest score; ties go to the lowest ``then`` (each in turn, when several),
    remaining ties at random (to the first of them without ``rng``).

    Random tie-breaking (seeded) is what the Kubernetes scheduler does among equal nodes;
    always taking the first would bias every policy towards low node numbers.
    """
    tied = np.flatnonzero(scores <= scores.min() + TIE_TOLERANCE)
    breaks = () if then is None else (then,) if callable(then) else tuple(then)
    for tie_break in breaks:
        if tied.size == 1:
            break
        sub = tie_break(tied)
        tied = tied[sub <= sub.min() + TIE_TOLERANCE]
    return int(tied[0] if tied.size == 1 or rng is None else rng.choice(tied))
