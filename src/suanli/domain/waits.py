"""Why a job waits, in one wording: the scheduler builds the reason here, the API renders it
(``reason.message``), and the CLI and the console show that text as it comes.

The reason names the pools that could run the job (the first few, then how many more) and
says "1 pool ... is" or "N pools ... are". When the queue knows the expected start (accelerators
reserved for an earlier job), the queue's own reason ("queue_reserved") says it instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from suanli.domain.jobs import PoolVerdict, Reason, ReasonList

SHOWN_POOLS = 3  # pools named in the sentence; the verdict table lists every one


def capacity_wait(busy: Sequence[PoolVerdict]) -> Reason:
    """The reason for a job that some pools could run, were they not full now (``busy``:
    those pools, best first). With no such pool the job is unschedulable."""
    count = len(busy)
    if count == 0:
        return Reason("unschedulable")
    names = [f"{v.cluster}/{v.pool}" for v in busy[:SHOWN_POOLS]]
    if count > SHOWN_POOLS:
        names.append(f"+{count - SHOWN_POOLS}")
    could = "wait.one" if count == 1 else "wait.many"  # rendered in the reader's language
    return Reason(
        "waiting_for_capacity", {"count": count, "could": could, "pools": ", ".join(names)}
    )


def why_no_pool(excluded: Sequence[tuple[str, Reason]]) -> ReasonList:
    """Why no pool could ever run a job, the telling reasons first: the pools excluded only
    because they hold another accelerator are said in one line ("13 pools have another
    accelerator (...); the job asks for A100"), after the pools of the right kind and
    what rules them out (too few nodes, too little memory)."""
    telling = [(label, r) for label, r in excluded if r.code != "pool_model_mismatch"]
    other = [r for _, r in excluded if r.code == "pool_model_mismatch"]
    if len(other) < 2:
        return ReasonList(tuple(excluded))
    models = sorted({str(r.params.get("model")) for r in other})
    shown = ", ".join(models[: SHOWN_POOLS + 1]) + (
        f", +{len(models) - 4}" if len(models) > 4 else ""
    )
    summary = Reason(
        "excluded_accelerator_summary",
        {"count": len(other), "models": shown, "wanted": other[0].params.get("wanted", "")},
    )
    return ReasonList((*telling, ("", summary)))
