"""Each waiting work's rank key kept from one decision to the next while it cannot move.

A policy's key (``QueuePolicy.key``) reads the work, the instant and what the policy
learned from finished jobs. Waiting work does not change while it waits (the live fair
queue hands the very ``Work`` to decision after decision until its job changes), so its
key moves on its own only at ``next_change`` (an aging or guard step, a promotion): it is
kept until then, as long as the policy is of the same name and settings and informed by
the very same history. Running work is keyed by the policy each decision (its service
moves; not every policy's ``next_change`` follows that). ``decide`` reads the keys
through ``QueueView.keys``; only the keys it asks for are computed, as without the memo.
The decisions are the same (tests/unit/queueing/test_turn_memo.py, test_kept_keys.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from suanli.scheduler.queueing.model import Work
from suanli.scheduler.queueing.policies import Key, QueuePolicy

# A key is kept until a little before its ``next_change``: the instant is computed in
# another order of float operations than the key (e.g. ``a + n x g`` against ``(t - a) //
# g``), which may disagree in the last bits; this relative margin (1e-9: a 1.8 s margin at
# today's epoch seconds, ~1e6 times any rounding there) makes the key be computed anew
# instead. A margin, not a tuned figure: no decision depends on it.
SLACK = 1e-9

_Entry = tuple[Work, float, float, Key]  # the work, valid from, until, its key


class KeptKeys:
    """The keys of the last decision's waiting works, by work id, and what the policy that
    made them had learned (the driver keeps this object from decision to decision)."""

    def __init__(self) -> None:
        self.kept: dict[str, _Entry] = {}
        self.basis: tuple[str, object, object] | None = None

    def for_decision(
        self,
        policy: QueuePolicy,
        history: object,
        now: float,
        waiting: Mapping[str, Work],
    ) -> Mapping[str, Key]:
        """The keys of ``waiting`` work (by id) at ``now`` for ``policy`` informed by
        ``history``: kept where still valid, the others computed when asked. Running work
        is not kept (its service moves; ``decide`` keys it). Entries of works not asked
        for in this decision are dropped (memory: the works of now, no more)."""
        last = self.basis
        old = self.kept
        if (
            last is None
            or last[0] != policy.name
            or last[1] != policy.settings
            or last[2] is not history
        ):
            old = {}  # another policy, settings or learning: every key anew
        self.basis = (policy.name, policy.settings, history)
        fresh: dict[str, _Entry] = {}
        self.kept = fresh
        return _Keys(policy, now, waiting, old, fresh)


class _Keys(Mapping[str, Key]):
    """One decision's keys: a kept entry while valid, else the policy's key (kept)."""

    def __init__(
        self,
        policy: QueuePolicy,
        now: float,
        works: Mapping[str, Work],
        old: dict[str, _Entry],
        fresh: dict[str, _Entry],
    ) -> None:
        self.policy, self.now, self.works = policy, now, works
        self.old, self.fresh = old, fresh

    def __getitem__(self, ident: str) -> Key:
        found = self.get(ident)
        if found is None:
            raise KeyError(ident)
        return found

    def get(self, ident: str, default: Key | None = None) -> Key | None:  # type: ignore[override]
        found = self.fresh.get(ident)
        if found is not None:
            return found[3]
        work = self.works.get(ident)
        if work is None:
            return default
        now = self.now
        entry = self.old.get(ident)
        if entry is None or entry[0] is not work or not entry[1] <= now < entry[2]:
            key = self.policy.key(work, now)
            change = self.policy.next_change(work, now)
            until = math.inf if change is None else change - SLACK * (abs(change) + 1.0)
            entry = (work, now, until, key)
        self.fresh[ident] = entry
        return entry[3]

    def __iter__(self) -> Iterator[str]:
        return iter(self.works)

    def __len__(self) -> int:
        return len(self.works)
