"""Domain objects to wire models, rendered in the reader's language."""

from __future__ import annotations

from typing import Any

from suanli.domain.accelerators import AcceleratorModel, Figure
from suanli.domain.fleet import Fleet, Totals, summarize
from suanli.domain.i18n import Lang
from suanli.domain.jobs import Decision, Estimate, Job, JobEvent, Placement, Reason
from suanli.scheduler.snapshot import Snapshot
from suanli.schemas.api import (
    AcceleratorResponse,
    ClusterInventoryResponse,
    ClusterResponse,
    DecisionResponse,
    EstimateResponse,
    EventResponse,
    FigureResponse,
    FleetResponse,
    JobResponse,
    JobSummary,
    NodeAssignmentResponse,
    NodeInventoryResponse,
    PlacementResponse,
    PoolResponse,
    ReasonResponse,
    TotalsResponse,
    VerdictResponse,
)
from suanli.service.inventory import ClusterInventory

REDACTED = "***"


def reason_to_response(r: Reason, lang: Lang) -> ReasonResponse:
    return ReasonResponse(code=r.code, params=r.params, message=r.render(lang))


def job_to_summary(job: Job) -> JobSummary:
    pl = job.placement
    acc = job.spec.resources.accelerator
    return JobSummary(
        id=job.id,
        name=job.spec.name,
        tenant=job.tenant,
        status=job.status.value,
        attempt=job.attempt,
        accelerator=(
            pl.accelerator if pl else (" | ".join(acc.model) if acc and acc.model else None)
        ),
        cluster=pl.cluster if pl else None,
        pool=pl.pool if pl else None,
        submitted_at=job.submitted_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def job_to_response(job: Job, events: list[JobEvent], fleet: Fleet, lang: Lang) -> JobResponse:
    spec: dict[str, Any] = job.spec.model_dump(mode="json", exclude_none=True)
    # Env values may be secrets: never echo them back.
    spec["env"] = dict.fromkeys(job.spec.env, REDACTED)
    return JobResponse(
        **job_to_summary(job).model_dump(),
        spec=spec,
        pinned_cluster=job.pinned_cluster,
        cancel_requested=job.cancel_requested,
        exit_code=job.exit_code,
        engine_key=job.engine_key,
        placement=_placement(job.placement, fleet) if job.placement else None,
        decision=_decision(job.decision, lang) if job.decision else None,
        preemptions=job.preemptions,
        preempting=job.preempt_at is not None,
        borrowed=job.borrowed,
        attained_hours=round(job.attained / 3600, 3),
        image_digest=job.image_digest,
        checkpoint_cluster=job.checkpoint_cluster,
        history=[
            EventResponse(
                at=e.at,
                from_status=e.from_status.value if e.from_status else None,
                to_status=e.to_status.value,
                attempt=e.attempt,
                reason=reason_to_response(e.reason, lang),
            )
            for e in events
        ],
    )


def _placement(p: Placement, fleet: Fleet) -> PlacementResponse:
    cluster = fleet.cluster(p.cluster)
    return PlacementResponse(
        cluster=p.cluster,
        pool=p.pool,
        region=cluster.region if cluster else None,
        accelerator=p.accelerator,
        nodes=[NodeAssignmentResponse(node=n.node, slots=list(n.slots)) for n in p.nodes],
        price_per_hour_yuan=f"{p.price_per_hour:.2f}",
    )


def _decision(d: Decision, lang: Lang) -> DecisionResponse:
    return DecisionResponse(
        summary=reason_to_response(d.summary, lang),
        chosen=list(d.chosen) if d.chosen else None,
        verdicts=[
            VerdictResponse(
                cluster=v.cluster,
                pool=v.pool,
                feasible=v.feasible,
                price_per_hour_yuan=f"{v.price_per_hour:.2f}"
                if v.price_per_hour is not None
                else None,
                reason=reason_to_response(v.reason, lang) if v.reason else None,
                estimate=_estimate(v.estimate) if v.estimate else None,
            )
            for v in d.verdicts
        ],
    )


def _estimate(e: Estimate) -> EstimateResponse:
    return EstimateResponse(
        hours=round(e.hours, 4),
        relative_throughput=round(e.relative_throughput, 4),
        gross_yuan=f"{e.gross:.2f}",
        voucher_yuan=f"{e.voucher:.2f}",
        data_cost_yuan=f"{e.data_cost:.2f}",
        transfer_hours=round(e.transfer_hours, 4),
        net_yuan=f"{e.net:.2f}",
        finish_at=e.finish_at,
    )


def _totals(t: Totals, free: Totals | None = None) -> TotalsResponse:
    return TotalsResponse(
        accelerators=t.accelerators,
        domestic_accelerators=t.domestic_accelerators,
        domestic_share=round(t.domestic_share, 4),
        pflops_fp16=round(t.pflops, 3),
        unrated_accelerators=t.unrated_accelerators,
        free_accelerators=free.accelerators if free else 0,
        free_pflops_fp16=round(free.pflops, 3) if free else 0.0,
    )


def fleet_to_response(
    fleet: Fleet, snapshot: Snapshot, unavailable: frozenset[str]
) -> FleetResponse:
    free = {s.key: sum(len(n.free_slots) for n in s.nodes) for s in snapshot.pools}
    summary = summarize(fleet)
    free_total, free_region, free_provider = Totals(), dict[str, Totals](), dict[str, Totals]()
    for c, q in fleet.pools():
        model = fleet.catalog.get(q.accelerator) if q.accelerator else None
        n = free.get((c.name, q.name), 0)
        free_total = free_total.plus(n, model)
        free_region[c.region] = free_region.get(c.region, Totals()).plus(n, model)
        free_provider[c.provider] = free_provider.get(c.provider, Totals()).plus(n, model)
    clusters = []
    for c in fleet.clusters():
        pools = []
        for q in c.pools:
            model = fleet.catalog.get(q.accelerator) if q.accelerator else None
            pools.append(
                PoolResponse(
                    name=q.name,
                    accelerator=q.accelerator,
                    domestic=model.domestic if model else None,
                    nodes=q.nodes,
                    accelerators_per_node=q.accelerators_per_node,
                    cpus_per_node=q.cpus_per_node,
                    memory_gb_per_node=q.memory_gb_per_node,
                    price_per_accelerator_hour_yuan=f"{q.price_per_accelerator_hour:.2f}",
                    green_share=str(q.green_share),
                    free_accelerators=free.get((c.name, q.name), 0),
                )
            )
        clusters.append(
            ClusterResponse(
                name=c.name,
                provider=c.provider,
                region=c.region,
                engine=c.engine.type,
                available=c.name not in unavailable,
                pools=pools,
            )
        )
    return FleetResponse(
        providers={p.name: p.display_name for p in fleet.providers},
        clusters=clusters,
        total=_totals(summary.total, free_total),
        by_region={k: _totals(v, free_region.get(k)) for k, v in summary.by_region.items()},
        by_provider={k: _totals(v, free_provider.get(k)) for k, v in summary.by_provider.items()},
    )


def _figure(f: Figure) -> FigureResponse:
    return FigureResponse(value=f.value, source=f.source)


def accelerator_to_response(a: AcceleratorModel) -> AcceleratorResponse:
    return AcceleratorResponse(
        model=a.model,
        name=a.name,
        vendor=a.vendor,
        domestic=a.domestic,
        china_market_variant=a.china_market_variant,
        stack=a.stack,
        frameworks=list(a.frameworks),
        fp16_tflops=_figure(a.fp16_tflops),
        memory_gb=_figure(a.memory_gb),
        memory_bandwidth_gbps=_figure(a.memory_bandwidth_gbps),
        interconnect=_figure(a.interconnect),
        notes=a.notes,
    )


def inventory_to_response(found: ClusterInventory, lang: Lang) -> ClusterInventoryResponse:
    inventory = found.inventory
    return ClusterInventoryResponse(
        cluster=found.cluster,
        provider=found.provider,
        region=found.region,
        engine=found.engine,
        state=found.state.value,
        detail=found.error.message(lang) if found.error is not None else None,
        read_at=inventory.at if inventory else None,
        nodes=[
            NodeInventoryResponse(
                name=n.name,
                state=n.state,
                available=n.available,
                cpus=n.cpus,
                free_cpus=n.free_cpus,
                memory_mb=n.memory_mb,
                free_memory_mb=n.free_memory_mb,
                accelerators=dict(n.accelerators),
                free_accelerators=dict(n.free_accelerators),
            )
            for n in (inventory.nodes if inventory else ())
        ],
        free_accelerators=inventory.free_accelerators() if inventory else {},
    )
