"""The control plane's Prometheus metrics: replicas wanted, by status, and the revision in
force, per service (text exposition format 0.0.4; the gateway exports its own)."""

from __future__ import annotations

from suanli.domain.services import ReplicaStatus
from suanli.service.deps import Platform

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SHOWN = (ReplicaStatus.STARTING, ReplicaStatus.READY, ReplicaStatus.DRAINING)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def control_plane_metrics(p: Platform, owner: str | None = None) -> str:
    """Every service's lines (``owner``: that tenant's services only)."""
    desired = [
        "# HELP suanli_service_replicas_desired Replicas a service wants now.",
        "# TYPE suanli_service_replicas_desired gauge",
    ]
    replicas = [
        "# HELP suanli_service_replicas Replicas of a service by status.",
        "# TYPE suanli_service_replicas gauge",
    ]
    revision = [
        "# HELP suanli_service_revision The revision in force (latest: the newest).",
        "# TYPE suanli_service_revision gauge",
    ]
    live = p.services.replicas(live=True)
    for s in p.services.services(owner):
        who = f'owner="{_label(s.owner)}",service="{_label(s.name)}"'
        desired.append(f"suanli_service_replicas_desired{{{who}}} {s.desired}")
        mine = [r for r in live if r.service_id == s.id]
        for status in SHOWN:
            count = sum(r.status is status for r in mine)
            replicas.append(f'suanli_service_replicas{{{who},status="{status.value}"}} {count}')
        revision.append(f'suanli_service_revision{{{who},which="in_force"}} {s.revision}')
        revision.append(f'suanli_service_revision{{{who},which="latest"}} {s.latest}')
    return "\n".join([*desired, *replicas, *revision]) + "\n"
