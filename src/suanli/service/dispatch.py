"""Hand placed jobs to their engines: persist the intent (STARTING + key), then launch."""

from __future__ import annotations

from suanli.domain.errors import EngineUnavailable, SuanliError
from suanli.domain.ids import engine_key
from suanli.domain.jobs import Job, JobStatus, Reason, job_with
from suanli.domain.lifecycle import transition
from suanli.engines.base import EngineAdapter, LaunchRequest
from suanli.engines.sharing import share_env
from suanli.service.deps import Platform
from suanli.store.base import Outcome

S = JobStatus


def dispatch_placed(p: Platform) -> int:
    """Launch every PLACED job; returns how many were handed over."""
    started = 0
    for job in p.jobs.list([S.PLACED], limit=1000):
        if job.placement is None:
            continue
        engine = p.engine(job.placement.cluster)
        if engine is None:
            continue
        attempt = job.attempt + 1
        key = engine_key(job.id, attempt)
        reason = Reason("reason_dispatching", {"engine": engine.name, "key": key})
        after, event = transition(
            job, S.STARTING, p.clock.now(), reason, attempt=attempt, engine_key=key, exit_code=None
        )
        # The intent is durable before the side effect: a crash after this line leaves a
        # STARTING job whose key the reconciler launches (idempotently) or adopts.
        if p.jobs.save(job, after, [event]) is not Outcome.APPLIED:
            continue
        after = job_with(after, version=job.version + 1)
        if launch(p, engine, after):
            started += 1
    return started


def launch(p: Platform, engine: EngineAdapter, job: Job) -> bool:
    """Launch ``job``'s current attempt; on refusal, fail it with the engine's words."""
    if job.placement is None or job.engine_key is None:
        return False
    model = p.fleet.catalog.get(job.placement.accelerator) if job.placement.accelerator else None
    request = LaunchRequest(
        job.engine_key,
        job.id,
        job.attempt,
        job.spec,
        job.placement,
        share_env(job.spec, model.memory if model else None),
        stop_grace_s=p.queue_settings.grace_s,
        tenant=job.tenant,
    )
    try:
        engine.launch(request)
    except EngineUnavailable:
        # Nothing was refused: the job stays STARTING; the reconciler launches it when the
        # engine answers again, or gives it up with its cluster after the grace period.
        return False
    except SuanliError as exc:
        after, event = transition(
            job,
            S.FAILED,
            p.clock.now(),
            Reason("reason_dispatch_failed", {"detail": exc.message("en")}),
        )
        p.jobs.save(job, after, [event])
        return False
    return True
