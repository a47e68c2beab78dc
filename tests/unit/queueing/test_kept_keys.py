"""Waiting work's rank keys, kept from decision to decision, are the policy's keys.

``KeptKeys`` keeps a waiting work's key until its ``next_change`` while the policy is of
the same name and settings and informed by the very same history. Random waiting work
(tenants, gang sizes, served before or not, submitted and queued at random) is keyed at
random instants (often the same instant again, often across aging and guard steps) by
every policy, the history of finished jobs sometimes changing, works sometimes replaced
by new ones: every key read through the memo must be the key the policy computes there.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    QueuePolicy,
    QueueSettings,
    ServiceHistory,
    Work,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.gittins import HistoryBuilder
from suanli.scheduler.queueing.kept_keys import KeptKeys
from suanli.scheduler.queueing.policies import Key

# Waiting work: tenant, accelerators, submitted, queued since (after), attained.
WORK = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from([1, 2, 4, 8]),
    st.integers(0, 40_000),
    st.integers(0, 40_000),
    st.sampled_from([0.0, 0.0, 2_000.0, 5_000.0, 90_000.0, 700_000.0]),
)
# Per decision: seconds since the last (0: the same instant), whether the history grows,
# which works are replaced by a new object (a job saved anew).
STEP = st.tuples(
    st.sampled_from([0, 0, 1, 600, 3_599, 7_200, 14_399, 14_400, 30_000]),
    st.booleans(),
    st.lists(st.integers(0, 19), max_size=3),
)
SETTINGS = QueueSettings(aging_s=3_600.0, guard_s=7_200.0)


def make(spec: tuple[str, int, int, int, float], i: int) -> Work:
    tenant, count, submitted, after, served = spec
    return Work(
        f"w{i:02d}",
        tenant,
        count,
        float(submitted),
        attained=served,
        queued_since=float(submitted + after),
    )


def history(n: int) -> ServiceHistory:
    return history_of(
        (("a", "b", "c")[k % 3], 1 << (k % 4), 500.0 * (1 + k % 11)) for k in range(n)
    )


def keys_through(
    memo: KeptKeys, policy: QueuePolicy, learned: ServiceHistory, now: float, works: list[Work]
) -> tuple[list[Key | None], list[Key]]:
    mapping = memo.for_decision(policy, learned, now, {w.id: w for w in works})
    return [mapping.get(w.id) for w in works], [policy.key(w, now) for w in works]


@settings(max_examples=75, deadline=None)
@given(
    st.lists(WORK, min_size=20, max_size=20),
    st.sampled_from(sorted(QUEUE_POLICIES)),
    st.lists(STEP, min_size=2, max_size=12),
)
def test_kept_keys_are_the_policys_keys(
    specs: list[tuple[str, int, int, int, float]],
    name: str,
    steps: list[tuple[int, bool, list[int]]],
) -> None:
    works = [make(s, i) for i, s in enumerate(specs)]
    memo = KeptKeys()
    finished = 30
    learned = history(finished)
    now = 40_000.0
    for seconds, grows, replaced in steps:
        now += seconds
        if grows:
            finished += 7
            learned = history(finished)
        for i in replaced:
            works[i] = make(specs[i], i)
        policy = make_policy(name, SETTINGS).informed(learned)
        kept, fresh = keys_through(memo, policy, learned, now, works)
        assert kept == fresh


def test_a_key_kept_past_its_next_change_is_told_apart() -> None:
    # A never-started job's key rises at each guard step: kept beyond it, it would be stale.
    class Blind:
        """The default policy with ``next_change`` broken on purpose (never)."""

        def __init__(self, inner: QueuePolicy) -> None:
            self.inner = inner
            self.name, self.settings = inner.name, inner.settings

        def key(self, work: Work, now: float) -> Key:
            return self.inner.key(work, now)

        def next_change(self, work: Work, now: float) -> float | None:
            return None

        def learned_for(self, work: Work, now: float) -> object:
            return self.inner.learned_for(work, now)

    learned = history(40)
    policy = make_policy("default", SETTINGS).informed(learned)
    works = [make(("a", 1, 0, 0, 0.0), 0)]
    sound, broken = KeptKeys(), KeptKeys()
    blind: Any = Blind(policy)
    keys_through(broken, blind, learned, 1_000.0, works)
    kept, fresh = keys_through(sound, policy, learned, 1_000.0, works)
    assert kept == fresh
    later = 1_000.0 + SETTINGS.guard_s
    kept, fresh = keys_through(sound, policy, learned, later, works)
    stale, _ = keys_through(broken, blind, learned, later, works)
    assert kept == fresh
    assert stale != fresh


# A history step: finished jobs of one tenant and gang size, each of a service (class rows
# cross ``MIN_SAMPLES`` and ``MIN_ALIVE`` as they grow; the size's and everything's too).
FINISH = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from([1, 2, 4, 8]),
    st.lists(st.sampled_from([100.0, 900.0, 3_000.0, 20_000.0, 95_000.0]), max_size=12),
)


@settings(max_examples=75, deadline=None)
@given(
    st.lists(WORK, min_size=20, max_size=20),
    st.sampled_from(sorted(QUEUE_POLICIES)),
    st.lists(FINISH, max_size=6),
    st.lists(st.tuples(STEP, st.lists(FINISH, max_size=2)), min_size=2, max_size=10),
)
def test_keys_kept_across_a_history_that_moved_elsewhere_are_the_policys(
    specs: list[tuple[str, int, int, int, float]],
    name: str,
    first: list[tuple[str, int, list[float]]],
    steps: list[tuple[tuple[int, bool, list[int]], list[tuple[str, int, list[float]]]]],
) -> None:
    # Jobs finish in a few classes at a time (as in a replay: one or two per event), so
    # most rows stay and their work's keys are kept; each kept key is the policy's.
    works = [make(s, i) for i, s in enumerate(specs)]
    memo = KeptKeys()
    builder = HistoryBuilder()
    for tenant, count, services in first:
        for service in services:
            builder.add(tenant, count, service)
    learned = builder.history()
    now = 40_000.0
    for (seconds, _, replaced), finished in steps:
        now += seconds
        for tenant, count, services in finished:
            for service in services:
                builder.add(tenant, count, service)
        if finished:
            learned = builder.history()
        for i in replaced:
            works[i] = make(specs[i], i)
        policy = make_policy(name, SETTINGS).informed(learned)
        kept, fresh = keys_through(memo, policy, learned, now, works)
        assert kept == fresh


def test_a_key_is_kept_only_while_its_index_is_unchanged() -> None:
    # Tenant a's jobs all finished short: its own row says level 0, its size's row (which b
    # moves) says the higher levels. Jobs of b finish: a's fresh work keeps its very key,
    # a's work at a higher level and b's work are keyed anew (what the policy computes).
    builder = HistoryBuilder()
    for k in range(40):
        builder.add("a", 1, 100.0 * (1 + k % 7))
        builder.add("b", 1, 5_000.0 * (1 + k % 40) ** 1.5)
    before = builder.history()
    t = 100_000.0
    works = [
        Work("fresh-a", "a", 1, t, queued_since=t),
        Work("served-a", "a", 1, t, attained=90_000.0, queued_since=t),
        Work("fresh-b", "b", 1, t, queued_since=t),
    ]
    memo = KeptKeys()
    policy = make_policy("default", SETTINGS).informed(before)
    first = memo.for_decision(policy, before, t, {w.id: w for w in works})
    was = [first[w.id] for w in works]
    for k in range(30):
        builder.add("b", 1, 300_000.0 + k)  # b's row and size 1's move, a's own does not
    after = builder.history()
    moved = make_policy("default", SETTINGS).informed(after)
    kept, fresh = keys_through(memo, moved, after, t, works)
    assert kept == fresh
    assert kept[0] is was[0]  # a's fresh work: level 0, a's own row: kept
    assert kept[1] != was[1]  # a's served work: level 2, size 1's row: anew
    assert kept[2] != was[2]
