"""Step 5 of a queueing decision (``admission.decide``): admitted waiting work on nodes.

Consolidated: one node when it fits, else whole nodes. When the nodes are not free yet (a
preempted job still stopping), the work waits with a reservation for the nodes that free
first, and running work that would delay it may be asked to stop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

from suanli.domain.jobs import Reason
from suanli.scheduler.queueing.model import Move, Plan, Preempt, QueueView, Start, Work
from suanli.scheduler.queueing.policies import Key, QueuePolicy


def ranker(view: QueueView, policy: QueuePolicy) -> Callable[[Work], Key]:
    """The policy's key of work at the view's instant: the driver's where it gave one."""
    now, key, known = view.now, policy.key, view.keys
    if known is None:
        return lambda w: key(w, now)
    return lambda w: known.get(w.id) or key(w, now)


def place_admitted(
    plan: Plan,
    admitted: list[tuple[Work, str, bool]],
    view: QueueView,
    policy: QueuePolicy,
    explain: bool,
) -> None:
    pools = {p.name: p for p in view.pools}
    free: dict[str, list[int]] = {}  # each pool's free accelerators, copied when first used
    # Running work kept where it runs by this plan, that a gang waiting for whole nodes may
    # displace (work admitted onto another pool is moving away: its nodes free up anyway);
    # listed when a gang first waits for nodes.
    kept: list[Work] | None = None
    # Accelerators that this plan's preemptions free on each node once they have stopped:
    # a gang that fits there waits for them instead of clearing more nodes (policies that
    # clear nodes only: FIFO/SJF/SRTF, as Helios', neither clear nor hold nodes).
    freeing: dict[str, list[int]] = {}
    for p in plan.preempts if policy.reserves_nodes else ():
        v = p.work
        if v.pool is not None and v.nodes:
            soon = freeing.get(v.pool)
            if soon is None:
                soon = freeing[v.pool] = [0] * len(pools[v.pool].free)
            for node, count in v.nodes:
                soon[node] += count
    for w, pool, borrowed in admitted:
        if pool == w.pool:
            continue
        per_node = pools[pool].per_node
        room = free.get(pool)
        if room is None:
            room = free[pool] = list(pools[pool].free)
        nodes = fit_nodes(room, per_node, w.accelerators)
        if w.running:  # a move: only onto free nodes, else it stays where it runs
            if nodes is not None:
                for node, count in nodes:
                    room[node] -= count
                plan.moves.append(Move(w, pool, nodes))
            continue
        if nodes is None:
            plan.awaiting_nodes.append(w.id)
            # It waits for what this plan's preemptions free if that fits, else clears nodes.
            if not _take_freeing(room, freeing.get(pool), per_node, w.accelerators):
                if kept is None:
                    kept = (
                        [v for v, at, _ in admitted if v.running and v.nodes and at == v.pool]
                        if policy.reserves_nodes
                        else []
                    )
                if kept:
                    _reserve(plan, w, pool, room, per_node, kept, ranker(view, policy), view.now)
            if explain:
                plan.waits[w.id] = Reason(
                    "queue_awaiting_nodes", {"pool": pool, "need": w.accelerators}
                )
            continue
        for node, count in nodes:
            room[node] -= count
        plan.starts.append(Start(w, pool, nodes, borrowed))


def _take_freeing(free: list[int], soon: list[int] | None, per_node: int, need: int) -> bool:
    """Whether ``need`` fits on ``free`` plus ``soon`` (what preempted work frees once it
    has stopped); if so, those accelerators are taken from both, kept from later starts."""
    if not soon:
        return False
    nodes = fit_nodes([f + g for f, g in zip(free, soon, strict=True)], per_node, need)
    if nodes is None:
        return False
    for node, count in nodes:
        now = min(free[node], count)
        free[node] -= now
        soon[node] -= count - now
    return True


def _reserve(
    plan: Plan,
    w: Work,
    pool: str,
    free: list[int],
    per_node: int,
    kept: list[Work],
    rank: Callable[[Work], Key],
    now: float,
) -> None:
    """Clear nodes for gang ``w``, admitted but fragmented out: running work ranking after
    it on the fewest nodes that would give it room is asked to stop, and those nodes are
    kept from later starts in this plan, so small jobs do not refill them first."""
    mine = rank(w)
    lower = [v for v in kept if v.pool == pool and rank(v) > mine]
    held: dict[int, int] = defaultdict(int)
    on: dict[int, list[Work]] = defaultdict(list)
    for v in lower:
        for node, count in v.nodes:
            held[node] += count
            on[node].append(v)
    nodes = _clearable(free, held, per_node, w.accelerators)
    if nodes is None:
        return
    victims: dict[str, Work] = {}
    for node, count in nodes:
        if free[node] < count:
            for v in on[node]:
                victims[v.id] = v
        free[node] -= count  # reserved: later starts in this plan do not take them
    for v in victims.values():
        kept.remove(v)
        ran = round(now - (v.started if v.started is not None else now))
        code = "preempt_outranked" if v.resumes else "preempt_restart"  # priced (restart.py)
        plan.preempts.append(Preempt(v, Reason(code, {"ran": ran})))


def _clearable(
    free: list[int], held: Mapping[int, int], per_node: int, need: int
) -> list[tuple[int, int]] | None:
    """Nodes that give ``need`` once the work ``held`` on them stops, fewest stopped first."""
    whole, rest = divmod(need, per_node) if need > per_node else (0, need)
    order = sorted(range(len(free)), key=lambda i: (held.get(i, 0), i))
    chosen = [(i, per_node) for i in order if free[i] + held.get(i, 0) == per_node][:whole]
    if len(chosen) < whole:
        return None
    if rest:
        taken = {i for i, _ in chosen}
        tail = next(
            (i for i in order if i not in taken and free[i] + held.get(i, 0) >= rest), None
        )
        if tail is None:
            return None
        chosen.append((tail, rest))
    return chosen


def fit_nodes(free: list[int], per_node: int, need: int) -> tuple[tuple[int, int], ...] | None:
    """Consolidated gang placement: the fullest node that fits, or whole nodes plus one."""
    if need <= 0:
        return ()
    if need <= per_node:
        best = -1
        for i, f in enumerate(free):
            if f >= need and (best < 0 or f < free[best]):
                best = i
                if f == need:
                    break
        return ((best, need),) if best >= 0 else None
    whole, rest = divmod(need, per_node)
    empty = [i for i, f in enumerate(free) if f == per_node]
    if len(empty) < whole:
        return None
    chosen = [(i, per_node) for i in empty[:whole]]
    if rest:
        taken = set(empty[:whole])
        tail = [i for i, f in enumerate(free) if i not in taken and f >= rest]
        if not tail:
            return None
        last = min(tail, key=lambda i: free[i])
        chosen.append((last, rest))
    return tuple(chosen)
