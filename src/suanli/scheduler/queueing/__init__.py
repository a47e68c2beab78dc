"""Fair queues: who runs next, on whose quota, and who gives accelerators back.

Pure: a ``QueueView`` in, a ``Plan`` out. The live scheduling cycle and the simulator drive
the same ``decide`` with the same policies (``QUEUE_POLICIES``; ``default`` is live).
"""

from suanli.domain.tenants import ANY, TenantTerms
from suanli.scheduler.queueing.admission import decide
from suanli.scheduler.queueing.gittins import ServiceHistory, history_of
from suanli.scheduler.queueing.model import (
    Move,
    Plan,
    PoolView,
    Preempt,
    QueueSettings,
    QueueView,
    Start,
    Work,
)
from suanli.scheduler.queueing.policies import QUEUE_POLICIES, QueuePolicy, make_policy

__all__ = [
    "ANY",
    "QUEUE_POLICIES",
    "Move",
    "Plan",
    "PoolView",
    "Preempt",
    "QueuePolicy",
    "QueueSettings",
    "QueueView",
    "ServiceHistory",
    "Start",
    "TenantTerms",
    "Work",
    "decide",
    "history_of",
    "make_policy",
]
