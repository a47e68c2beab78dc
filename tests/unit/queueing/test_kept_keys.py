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
