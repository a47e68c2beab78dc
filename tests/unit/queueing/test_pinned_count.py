"""Step 1 of a decision counts pinned running work as counting each work alone would.

``admission._count_pinned`` looks each (tenant, pool)'s terms up once and adds its counts
once; each work's share (a float, whose sum depends on its order) is added work by work.
Random running work (tenants with quotas, cohorts, weights that do not divide evenly,
pools of speeds that do not multiply evenly, work stopping, not preemptible, borrowed,
resuming or not, young and old, on a pool that left the fleet) is counted both ways, by
every policy, with and without reservations: the work left movable, each pool's room and
promises' list, every tenant's and cohort's usage, every share to the last bit and the
ledger's count of changes must be the same.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    PoolView,
    QueueSettings,
    Work,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.admission import (
    _count_pinned,
    _is_borrowed,
    _Ledger,
    _pinned,
    _PoolRoom,
)
from suanli.scheduler.queueing.reservation import ends_at
from suanli.scheduler.queueing.restart import RestartPrice, restart_price

TENANTS = {
    "a": TenantTerms("a", quota={"V100": 4, "T4": 2}, cohort="c", borrow=True),
    "b": TenantTerms("b", weight=0.3, quota={"V100": 2}, cohort="c", borrow=True),
    "c": TenantTerms("c", weight=2.7, quota={"T4": 4}, cohort="c", borrow=False),
    "d": TenantTerms("d", weight=1.1),
}
POOLS = {"v100": ("V100", 0.40064102564102566), "t4": ("T4", 0.20833333333333334)}
# Running work: tenant, accelerators, pool, start, borrowed, stopping, preemptible, resumes.
RUNNING = st.tuples(
    st.sampled_from(sorted(TENANTS)),
    st.sampled_from([1, 1, 2, 3, 4, 8]),
    st.sampled_from(["v100", "t4", "gone"]),  # gone: its pool left the fleet
    st.integers(0, 60_000),
    st.booleans(),
    st.sampled_from([False, False, True]),
    st.sampled_from([True, True, False]),
    st.booleans(),
)
NOW = 60_000.0


def state(reserving: bool) -> tuple[dict[str, _PoolRoom], _Ledger]:
    rooms = {
        name: _PoolRoom(PoolView(name, model, 4, [4] * 8, speed), 32, 20)
        for name, (model, speed) in POOLS.items()
    }
    if reserving:
        for r in rooms.values():
            r.holding = []
    return rooms, _Ledger(TENANTS)


def works(specs: list[tuple[Any, ...]]) -> list[Work]:
    out = []
    for i, (tenant, count, pool, started, borrowed, stopping, preemptible, resumes) in enumerate(
        specs
    ):
        w = Work(f"w{i}", tenant, count, 0.0, preemptible=preemptible, resumes=resumes)
        w.pool, w.started, w.borrowed, w.stopping = pool, float(started), borrowed, stopping
        w.estimate_s = 3_600.0 * (1 + i % 3) if i % 2 else None
        w.limit_s = 7_200.0 if i % 5 == 0 else None
        out.append(w)
    return out


def count_each(
    running: list[Work],
    policy: Any,
    rooms: dict[str, _PoolRoom],
    ledger: _Ledger,
    price: RestartPrice | None = None,
) -> list[Work]:
    """Step 1 as it was: each work looked up, counted and added alone."""
    movable = []
    for w in running:
        if (
            w.stopping
            or not w.preemptible
            or _pinned(w, policy, NOW, _is_borrowed(w, ledger, rooms), price)
        ):
            room = rooms.get(w.pool or "")
            if room is None:
                continue
            room.room -= w.accelerators
            ledger.add(w.tenant, w.accelerators, room.view.model, room.view.speed)
            if room.holding is not None:
                room.holding.append((ends_at(w, NOW, policy.settings.grace_s), w.accelerators))
        else:
            movable.append(w)
    return movable


def counted(rooms: dict[str, _PoolRoom], ledger: _Ledger) -> tuple[Any, ...]:
    return (
        {n: (r.room, r.idle, r.holding) for n, r in rooms.items()},
        {k: v for k, v in ledger.used.items() if v},
        {k: v for k, v in ledger.cohort_used.items() if v},
        {t: s.hex() for t, s in ledger.share.items() if s},  # to the last bit
        ledger.changes,
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(RUNNING, max_size=40),
    st.sampled_from(sorted(QUEUE_POLICIES)),
    st.booleans(),
    st.lists(
        st.tuples(st.sampled_from(sorted(TENANTS)), st.sampled_from(sorted(POOLS))), max_size=4
    ),
    st.sampled_from([None, 1.0, 4.0]),
)
def test_pinned_work_counts_alike_together_and_one_by_one(
    specs: list[tuple[Any, ...]],
    name: str,
    reserving: bool,
    held: list[tuple[str, str]],
    factor: float | None,
) -> None:
    # With a restart price (``restart.py``), work that does not resume is movable where a
    # waiting job's gain pays for its restart: the price reaches ``_pinned`` both ways.
    queue = QueueSettings(min_run_s=600.0, restart_price=factor)
    learned = history_of(
        (t, 1 + k % 4, 400.0 * (1 + k % 13)) for k in range(90) for t in sorted(TENANTS)
    )
    policy = make_policy(name, queue).informed(learned)
    waiting = [Work(f"q{i}", t, 1 + i % 2, 0.0) for i, t in enumerate(sorted(TENANTS))]
    price = restart_price(policy, waiting)
    outcomes = []
    for count in (_count_pinned, count_each):
        rooms, ledger = state(reserving)
        for tenant, pool in held:  # summarised work first, as ``decide`` counts it
            rooms[pool].room -= 3
            ledger.add(tenant, 3, rooms[pool].view.model, rooms[pool].view.speed)
        running = works(specs)
        movable = (
            count(running, policy, rooms, ledger, NOW, price)
            if count is _count_pinned
            else count_each(running, policy, rooms, ledger, price)
        )
        outcomes.append(([w.id for w in movable], counted(rooms, ledger)))
    assert outcomes[0] == outcomes[1]


def test_the_check_tells_a_share_summed_per_tenant_and_pool_apart() -> None:
    # Three pinned (stopping) works of ``b`` on one pool: counted together, then the check
    # above against a step 1 broken on purpose, adding the group's share once.
    specs = [("b", c, "v100", 0, False, True, True, True) for c in (1, 1, 3)]
    policy = make_policy("default", QueueSettings())
    rooms, ledger = state(False)
    assert _count_pinned(works(specs), policy, rooms, ledger, NOW) == []
    each_rooms, each = state(False)
    count_each(works(specs), policy, each_rooms, each)
    assert counted(rooms, ledger) == counted(each_rooms, each)
    broken_rooms, broken = state(False)
    broken_rooms["v100"].room -= 5
    broken.add("b", 5, "V100", POOLS["v100"][1])
    broken.changes = 3
    assert counted(broken_rooms, broken)[:3] == counted(each_rooms, each)[:3]
    assert counted(broken_rooms, broken) != counted(each_rooms, each)  # the last bit
