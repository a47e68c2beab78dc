"""Node-level GPU packing: cluster state as arrays, pluggable policies, no I/O.

Pods ask for CPU, memory and either whole GPUs (all on one node) or a share of one GPU;
a policy picks the node and GPU slots among the nodes where the pod fits now.
"""

from suanli.scheduler.packing.base import (
    PackingOptions,
    PackingPolicy,
    PolicyContext,
    PolicyFactory,
    pack_one,
)
from suanli.scheduler.packing.fragmentation import FragmentationMeter, TargetWorkload
from suanli.scheduler.packing.registry import POLICIES
from suanli.scheduler.packing.state import ClusterState
from suanli.scheduler.packing.types import MILLI, NodeSpec, Placement, PodRequest, PodShape

__all__ = [
    "MILLI",
    "POLICIES",
    "ClusterState",
    "FragmentationMeter",
    "NodeSpec",
    "PackingOptions",
    "PackingPolicy",
    "Placement",
    "PodRequest",
    "PodShape",
    "PolicyContext",
    "PolicyFactory",
    "TargetWorkload",
    "pack_one",
]
