"""The snapshot's capacity kept across cycles equals the one built from every holding job."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.scheduler import capacity as capacity_module
from suanli.scheduler.capacity import LiveCapacity
from suanli.scheduler.nodes import Growths, NodeRows, node_rows
from suanli.scheduler.policies import POLICIES as PLACEMENT
from suanli.scheduler.snapshot import PoolState, Snapshot, build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec
from tests.unit.test_fast_cycle import comparable

FLEET = make_fleet(
    ("lab", "beijing", [make_pool("a100", "A100", nodes=3, per_node=4), make_pool("t4", "T4")]),
    ("far", "shanghai", [make_pool("h800", "H800", nodes=2, per_node=8)]),
)
SPECS = [
    make_spec(name="w", resources={"accelerator": {"model": "A100", "count": n}, "cpus": c})
    for n, c in ((1, 2), (2, 4), (4, 8))
] + [
    make_spec(name="share", resources={"accelerator": {"model": "A100", "count": 0.3}}),
    make_spec(name="half", resources={"accelerator": {"model": "A100", "count": 0.5}}),
    make_spec(name="cpu", resources={"cpus": 3, "memory_gb": 5}),
]
WHERE = [("lab", "a100", "A100", 3, 4), ("lab", "t4", "T4", 2, 8), ("far", "h800", "H800", 2, 8)]


def placed(job_id: str, rnd: random.Random) -> Job:
    """A job somewhere on the fleet, in any status, sometimes over-committing a slot,
    sometimes on a node or a pool the fleet does not have (it must not count)."""
    cluster, pool, model, nodes, per_node = rnd.choice(WHERE)
    if rnd.random() < 0.05:
        pool = "gone"
    count = rnd.randrange(1, 3)
    chosen = rnd.sample(range(nodes + 1), count)  # node ``nodes`` does not exist
    assignments = tuple(
        NodeAssignment(f"{pool}-n{n}", tuple(rnd.sample(range(per_node + 1), rnd.randrange(3))))
        for n in chosen
    )
    return dataclasses.replace(
        make_job(rnd.choice(SPECS), job_id, status=rnd.choice(list(JobStatus)), at=T0),
        placement=None
        if rnd.random() < 0.1
        else Placement(cluster, pool, model, assignments, Decimal(1)),
    )


def shown(pools: list[PoolState]) -> list[tuple[object, ...]]:
    return [
        (
            s.key,
            s.available,
            [(n.name, n.free_milli, n.free_cpus, n.free_memory_gb) for n in s.nodes],
        )
        for s in pools
    ]


def test_capacity_moved_by_each_change_equals_the_snapshot_built_anew() -> None:
    # Jobs are placed, moved, finished, preempted and dropped in a random order, a few at a
    # time as between two cycles; after each batch the kept pools equal build_snapshot's.
    rnd = random.Random(11)
    capacity = LiveCapacity(FLEET)
    stored: dict[JobId, Job] = {}
    for batch in range(300):
        changed: list[tuple[JobId, Job | None]] = []
        for _ in range(rnd.randrange(1, 6)):
            job_id = JobId(f"j-{rnd.randrange(40)}")
            if job_id in stored and rnd.random() < 0.2:
                del stored[job_id]
                changed.append((job_id, None))
            else:
                stored[job_id] = placed(job_id, rnd)
                changed.append((job_id, stored[job_id]))
        capacity.update(changed)
        down = frozenset({"far"}) if batch % 7 == 0 else frozenset()
        anew = build_snapshot(T0, FLEET, stored.values(), [], down)
        assert shown(capacity.available(down)) == shown(anew.pools)
    assert any(n.free_milli[0] == 0 for s in capacity.pools for n in s.nodes)  # over-committed


def test_a_job_told_twice_counts_once() -> None:
    rnd = random.Random(3)
    job = placed("j-1", rnd)
    while not (job.status.holds_capacity and job.placement and job.placement.pool != "gone"):
        job = placed("j-1", rnd)
    capacity = LiveCapacity(FLEET)
    capacity.update([(job.id, job), (job.id, job)])
    anew = build_snapshot(T0, FLEET, [job], [])
    assert shown(capacity.available(frozenset())) == shown(anew.pools)


def rows_of(rows: NodeRows) -> tuple[object, ...]:
    return (rows.gpu, rows.cpu, rows.memory, rows.whole, rows.most, rows.state, rows.names)


def test_rows_follow_a_node_put_in_another_s_place() -> None:
    # The rows of a list none of whose nodes counted a change are kept without a walk;
    # a node put in another's place (the same count of changes) is still derived anew.
    capacity = LiveCapacity(FLEET)
    state = capacity.available(frozenset())[0]
    memo = Growths()
    width = max(1, state.pool.accelerators_per_node)
    before = rows_of(node_rows(state, memo))
    assert rows_of(node_rows(state, memo)) == before  # nothing changed
    old = state.nodes[0]
    state.nodes[0] = dataclasses.replace(
        old, name="other", free_milli=[0] * len(old.free_milli), free_cpus=0
    )
    anew = NodeRows([dataclasses.replace(n) for n in state.nodes])
    anew.follow(width, memo)
    assert rows_of(node_rows(state, memo)) == rows_of(anew) != before


def test_placement_rows_kept_across_changes_equal_rows_derived_anew() -> None:
    # Placement keeps what it derived from each node of the kept pools and derives again
    # only the nodes that changed: after each batch of changes its rows equal rows derived
    # from copies of the nodes, and it places a queue as on the snapshot built anew.
    rnd = random.Random(5)
    capacity = LiveCapacity(FLEET)
    stored: dict[JobId, Job] = {}
    queue = [
        make_job(rnd.choice(SPECS), f"q-{i}", at=T0 + dt.timedelta(seconds=i)) for i in range(12)
    ]
    memo = Growths()
    for batch in range(60):
        changed: list[tuple[JobId, Job | None]] = []
        for _ in range(rnd.randrange(0, 4)):
            job_id = JobId(f"j-{rnd.randrange(40)}")
            stored[job_id] = placed(job_id, rnd)
            changed.append((job_id, stored[job_id]))
        capacity.update(changed)
        if batch % 30 == 0:
            memo = Growths()  # another workload's numbering: every state numbered again
        for state in capacity.available(frozenset()):
            copies = [dataclasses.replace(n, free_milli=list(n.free_milli)) for n in state.nodes]
            anew = NodeRows(copies)
            anew.follow(max(1, state.pool.accelerators_per_node), memo)
            assert rows_of(node_rows(state, memo)) == rows_of(anew)
        kept = Snapshot(T0, FLEET, capacity.available(frozenset()), queue)
        built = build_snapshot(T0, FLEET, stored.values(), queue)
        assert comparable(PLACEMENT["default"].decide(kept)) == comparable(
            PLACEMENT["default"].decide(built)
        )


@pytest.mark.parametrize("per_node", [capacity_module.TOUCHED_PER_NODE, 1])
def test_rows_follow_the_log_of_touched_nodes(
    per_node: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Placement derives again only the nodes logged as touched since it last read a pool's
    # log (and every node when the log started over, or the numbering did): after each
    # batch of changes its rows equal rows derived from copies of the nodes.
    monkeypatch.setattr(capacity_module, "TOUCHED_PER_NODE", per_node)
    rnd = random.Random(17)
    capacity = LiveCapacity(FLEET)
    stored: dict[JobId, Job] = {}
    memo = Growths()
    logs: dict[int, list[int]] = {}  # each pool's logs, kept alive: ids are not reused
    for batch in range(80):
        for _ in range(rnd.randrange(0, 5)):
            job_id = JobId(f"j-{rnd.randrange(30)}")
            stored[job_id] = placed(job_id, rnd)
            capacity.update([(job_id, stored[job_id])])
        if batch % 25 == 0:
            memo = Growths(memo.states if batch % 50 else None)  # another workload
        for state in capacity.available(frozenset()):
            logs[id(state.touched)] = state.touched
            copies = [dataclasses.replace(n, free_milli=list(n.free_milli)) for n in state.nodes]
            anew = NodeRows(copies)
            anew.follow(max(1, state.pool.accelerators_per_node), memo)
            assert rows_of(node_rows(state, memo)) == rows_of(anew)
    assert (len(logs) > len(list(FLEET.pools()))) is (per_node == 1)  # a log started over


def test_a_change_not_logged_is_still_followed() -> None:
    # A writer that counts a change without logging it: the counts no longer match the
    # log, and every node is looked at again.
    capacity = LiveCapacity(FLEET)
    state = capacity.available(frozenset())[0]
    memo = Growths()
    node_rows(state, memo)
    job = dataclasses.replace(
        make_job(SPECS[1], "j-1", status=JobStatus.RUNNING, at=T0),
        placement=Placement(
            "lab", "a100", "A100", (NodeAssignment("a100-n0", (0, 1)),), Decimal(1)
        ),
    )
    capacity.update([(job.id, job)])  # logged
    state.nodes[2].free_cpus -= 1  # not logged
    state.nodes[2].changes += 1
    copies = [dataclasses.replace(n, free_milli=list(n.free_milli)) for n in state.nodes]
    anew = NodeRows(copies)
    anew.follow(max(1, state.pool.accelerators_per_node), memo)
    assert rows_of(node_rows(state, memo)) == rows_of(anew)
