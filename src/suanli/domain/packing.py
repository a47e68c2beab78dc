"""The named options of the packing policies: configuration (a fleet file's ``packing:``
section, or ``suanli sim pack --packing FILE``), never chosen by who calls the core."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackingOptions:
    """How nodes are chosen within a pool (``scheduler.packing``).

    ``spread_shares`` (``default`` only): where requests exceed the cluster and never leave,
    spread large shares over GPUs whole-GPU requests will not need
    (``SuanliDefault.choose``). Off by default: on a cluster where jobs end, whole GPUs kept
    whole serve the next ones.

    ``kubernetes_scores`` (``best-fit`` and ``fgd``): score as the FGD artifact's
    Kubernetes score plugins do (integers 0-100, its fixed normalisation, its node order
    for ties), to reproduce its published figures (``sim.pack``'s ``fgd`` protocol).
    """

    spread_shares: bool = False
    kubernetes_scores: bool = False
