"""What the replay remembers between events (waiting heads, months) is what it would compute."""

from __future__ import annotations

import datetime as dt
import random

from suanli.scheduler.queueing import QueueSettings, Work, make_policy
from suanli.scheduler.queueing.policies import Key
from suanli.sim.replay_queue import _month_after, _Queue

HOUR = 3600.0


def fresh_heads(queue: _Queue, k: int, now: float) -> dict[tuple[str, int], list[tuple[Key, str]]]:
    """Each class's first ``k`` waiting jobs by key at ``now``, computed from scratch."""
    by_class: dict[tuple[str, int], list[tuple[Key, str]]] = {}
    for w in queue.works.values():
        by_class.setdefault((w.tenant, w.accelerators), []).append(
            (queue.policy.key(w, now), w.id)
        )
    return {cls: sorted(entries)[:k] for cls, entries in by_class.items()}


def shown_heads(
    queue: _Queue, k: int, now: float
) -> tuple[dict[tuple[str, int], list[tuple[Key, str]]], set[tuple[str, int]]]:
    works, keys, cut = queue.heads(k, now)
    by_class: dict[tuple[str, int], list[tuple[Key, str]]] = {}
    for w, key in zip(works, keys, strict=True):
        by_class.setdefault((w.tenant, w.accelerators), []).append((key, w.id))
    return {c: sorted(e) for c, e in by_class.items()}, {
        (given[0].tenant, given[0].accelerators) for given in cut
    }


def test_remembered_heads_match_heads_computed_afresh_as_work_comes_goes_and_ages() -> None:
    # Aging every hour: waiting work of service levels above 0 changes key on the hour.
    policy = make_policy("default", QueueSettings(aging_s=HOUR))
    queue = _Queue(policy)
    rng = random.Random(8)
    now, n = 0.0, 0
    for _ in range(3000):
        now += rng.choice([0.0, 1.0, 0.25 * HOUR, HOUR])
        if queue.works and rng.random() < 0.45:
            queue.remove(queue.works[rng.choice(sorted(queue.works))])
        else:
            n += 1
            w = Work(
                f"j{n:05d}", rng.choice("ab"), rng.choice([1, 2, 4]), submitted=now - rng.random()
            )
            # Preempted work comes back with service (a level above 0) and ages from now.
            w.attained = rng.choice([0.0, 0.0, 20_000.0, 100_000.0])
            w.queued_since = now
            queue.add(w)
        k = rng.choice([4, 4, 4, 16])
        shown, cut = shown_heads(queue, k, now)
        assert shown == fresh_heads(queue, k, now)
        assert cut == {c for c, size in queue.sizes.items() if size > k}
    assert queue.shown  # heads were remembered, not only computed


def test_the_month_of_an_offset_is_the_dates_month_even_a_hair_from_midnight() -> None:
    start = dt.date(2025, 1, 1)
    rng = random.Random(1)
    months: dict[int, tuple[int, int]] = {}
    day = 86400.0
    offsets = [0.0, day, 31 * day, 31 * day - 1e-7, 31 * day + 1e-7, 59 * day - 4e-7]
    offsets += [rng.uniform(0, 400 * day) for _ in range(2000)]
    offsets += [rng.randrange(400) * day + rng.uniform(-2e-3, 2e-3) for _ in range(2000)]
    for offset in offsets:
        when = start + dt.timedelta(seconds=max(offset, 0.0))
        assert _month_after(start, max(offset, 0.0), months) == (when.year, when.month)
