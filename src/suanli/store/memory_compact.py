"""Equal values stored once in the memory stores (a replay keeps ~1M jobs' records).

Most of what a job leaves in the stores repeats from job to job: its events' reasons
(``reason_submitted``, ``reason_placed`` on one pool...), the voucher programmes'
refusals in every settlement (a programme of the wrong kind refuses every compute charge
the same way), the ledger's accounts. The stores keep one instance of each such value and
every record points at it: a record read back is equal, field by field, to the record
written (the store contract suite reads them back), only no longer a copy of its own.
Records are frozen, so a shared value cannot change under another record.

Two values are shared only when they are the same in every observable way, not merely
``==``: ``Decimal("0")`` and ``Decimal("0.00")`` are equal and print differently, so a
value's key keeps each atom's type and exact form (a Decimal's digits and exponent), and a
value holding anything else (a datetime, whose zone may be spelled two ways; a list) is
kept as it came.

Keys that name one job's attempt (``j-.../a1``, ``settle:j-.../a1``) are unique to it but
stored several times (the usage and settlement tables' keys, the charge, the ledger entry
and its tags): each is made anew from its parts where it is needed (``UsageRecord.key``),
so the stores keep one string per value (``key``). The copies of one key come within a
few ticks of each other (metered, settled, posted), so a table of the latest keys (bounded
as the others) finds them; a key seen again after the table started over is kept twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Hashable, Iterator, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from suanli.billing.ledger import Entry, Posting
from suanli.billing.verdicts import Consideration, Outcome
from suanli.billing.vouchers import Deduction
from suanli.domain.jobs import (
    Decision,
    Estimate,
    Job,
    NodeAssignment,
    Placement,
    PoolVerdict,
    Reason,
    Verdicts,
    job_with,
)
from suanli.domain.records import replace
from suanli.store.base import MeteredUsage, Settlement

T = TypeVar("T")
D = TypeVar("D", bound=dt.date | None)
# Values a table keeps at most: a value unique to one job (a dispatch reason naming the
# job's engine key) would otherwise keep its key here for good; past this many the table
# starts again (what is stored stays shared; values that repeat are kept again at once).
# A bound on memory, not a tuned figure: a replay meets a few hundred repeating values.
KEPT_AT_MOST = 1024
_PLAIN = (str, int, bool, float, type(None))


class _Unshared(Exception):
    """A value with a part whose exact form the key cannot hold: kept as it came."""


def _atom(v: object) -> Hashable:
    t = type(v)
    if t in _PLAIN:
        return (t, repr(v)) if t is float else (t, v)  # repr: 0.0 and -0.0 differ
    if isinstance(v, Enum):
        return (t, v.value)
    if t is Decimal:
        return (t, v.as_tuple())  # type: ignore[attr-defined]
    if t is dt.date:
        return (t, v)
    if t is dict:
        return (t, tuple((_atom(k), _atom(x)) for k, x in v.items()))  # type: ignore[attr-defined]
    if t is tuple:
        return (t, tuple(_atom(x) for x in v))  # type: ignore[attr-defined]
    if t is frozenset:
        return (t, frozenset(_atom(x) for x in v))  # type: ignore[attr-defined]
    raise _Unshared


_NAMES: dict[type, tuple[str, ...]] = {}  # each record type's field names, read once


def _key(record: object) -> Hashable | None:
    t = type(record)
    if t is Reason and type(record.params) is dict and not record.params:  # type: ignore[attr-defined]
        return (t, record.code)  # type: ignore[attr-defined] # most reasons: a code alone
    names = _NAMES.get(t)
    if names is None:
        names = _NAMES[t] = tuple(f.name for f in dataclasses.fields(record))  # type: ignore[arg-type]
    try:
        return (t, tuple(_atom(getattr(record, n)) for n in names))
    except _Unshared:
        return None


class SharedValues:
    """One instance per distinct value: reasons, considerations, accounts, empty maps."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, Any] = {}
        # Amounts by their exact form (sign, digits, exponent): a line's gross, the same
        # amount again in its charge and its ledger posting, 0.00 everywhere.
        self._amounts: dict[Hashable, Decimal] = {}
        # Verdict lines already made compact, by the original's identity (the original is
        # held with it, so the identity cannot be reused): lines one cycle shared among
        # several jobs stay shared.
        self._lines: dict[int, tuple[PoolVerdict, PoolVerdict]] = {}
        self._texts: dict[str, str] = {}  # the latest keys (``key``)
        # The latest instants and days (``instant``): a run's end is also its settlement's
        # time, a day is every charge's of that day, jobs arrive in bursts.
        self._instants: dict[Hashable, Any] = {}

    def one(self, record: T) -> T:
        """The kept instance equal to ``record`` (``record`` itself the first time)."""
        return self.seen(record)[0]

    def seen(self, record: T) -> tuple[T, bool]:
        """``one(record)`` and whether an equal value was kept before (False: ``record``
        itself, kept from now on or not kept at all)."""
        key = _key(record)
        if key is None:
            return record, False
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept: T = self._kept.setdefault(key, record)
        return kept, kept is not record

    def amount(self, d: Decimal) -> Decimal:
        """The kept Decimal of exactly this form (``d`` itself the first time)."""
        if type(d) is not Decimal:
            return d
        if len(self._amounts) >= KEPT_AT_MOST:
            self._amounts.clear()
        return self._amounts.setdefault(d.as_tuple(), d)

    def _many(self, records: tuple[T, ...]) -> tuple[T, ...]:
        return self._kept_tuple(tuple(self.one(r) for r in records))

    def _kept_tuple(self, parts: tuple[T, ...]) -> tuple[T, ...]:
        """The kept tuple of these very objects (``parts`` itself the first time)."""
        # The parts are held by the kept tuple while its key lives, so their identities
        # name the tuple exactly.
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept: tuple[T, ...] = self._kept.setdefault((tuple, tuple(map(id, parts))), parts)
        return kept

    def deduction(self, d: Deduction) -> Deduction:
        # Refusals repeat from charge to charge; a programme that applied names this
        # charge's amounts and is kept as it came (with the tuple it sits in).
        considered = (
            self._many(d.considered)
            if _all(d.considered, Consideration)
            and all(c.outcome is not Outcome.APPLIED for c in d.considered)
            else None
        )
        charge = d.charge
        gross, before = self.amount(charge.gross), self.amount(charge.gross_before)
        key, on = self.key(charge.key), self.instant(charge.on)
        if (
            gross is not charge.gross
            or before is not charge.gross_before
            or key is not charge.key
            or on is not charge.on
        ):
            charge = replace(charge, key=key, gross=gross, gross_before=before, on=on)
        if type(charge.attributes) is dict and not charge.attributes:
            empty: dict[str, Any] = self.one_empty()
            if charge.attributes is not empty:
                charge = replace(charge, attributes=empty)
        if considered is None or (considered is d.considered and charge is d.charge):
            return d if charge is d.charge else replace(d, charge=charge)
        return replace(d, charge=charge, considered=considered)

    def one_empty(self) -> dict[str, Any]:
        """The one empty map records without attributes share (never written to)."""
        empty: dict[str, Any] = self._kept.setdefault((dict, ()), {})
        return empty

    def key(self, text: str) -> str:
        """The one string equal to ``text`` the stores keep (a job's attempt, an entry's key)."""
        if type(text) is not str:
            return text
        if len(self._texts) >= KEPT_AT_MOST:
            self._texts.clear()
        return self._texts.setdefault(text, text)

    def instant(self, d: D) -> D:
        """The kept datetime (or date) equal to ``d`` in every way: the same zone object and
        fold (``d`` itself the first time)."""
        if isinstance(d, dt.datetime) and type(d) is dt.datetime:
            key: Hashable = (dt.datetime, d, id(d.tzinfo), d.fold)
        elif type(d) is dt.date:
            key = (dt.date, d)
        else:
            return d
        if len(self._instants) >= KEPT_AT_MOST:
            self._instants.clear()
        kept: D = self._instants.setdefault(key, d)
        return kept

    def entry(self, entry: Entry) -> Entry:
        key, at = self.key(entry.key), self.instant(entry.at)
        tags = entry.tags
        if type(tags) is dict and tags:
            tags = self.tags({k: self.key(v) if type(v) is str else v for k, v in tags.items()})
        if key is not entry.key or tags is not entry.tags or at is not entry.at:
            entry = replace(entry, key=key, tags=tags, at=at)
        postings = self._kept_tuple(tuple(self._posting(p) for p in entry.postings))
        if postings is entry.postings:
            return entry
        return replace(entry, postings=postings)

    def _posting(self, p: Posting) -> Posting:
        """The kept posting of this amount on this account (an attempt's charge to its
        tenant and to its provider: amounts repeat), ``p`` itself the first time."""
        if type(p) is not Posting or type(p.amount) is not Decimal:
            return p
        account, amount = self.one(p.account), self.amount(p.amount)
        if account is not p.account or amount is not p.amount:
            p = Posting(account, amount)
        # The account and the amount are kept objects, held by the kept posting while the
        # key lives: their identities name them exactly.
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept: Posting = self._kept.setdefault((Posting, id(account), id(amount)), p)
        return kept

    def tags(self, tags: dict[str, str]) -> Mapping[str, str]:
        """``tags`` as a ``KeptTags`` with its names shared (an entry's charge and company)."""
        names = tuple(tags)
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept = self._kept.setdefault((KeptTags, names), names)
        return KeptTags(kept, tuple(tags.values()))

    def finished(self, job: Job) -> Job:
        """A finished job with its decision's amounts and lines kept once (read back equal)."""
        pl = placement = job.placement
        if pl is not None:
            # Which nodes and slots: a few hundred shapes over a whole trace.
            nodes = self._many(pl.nodes) if _all(pl.nodes, NodeAssignment) else pl.nodes
            price = self.amount(pl.price_per_hour)
            if nodes is not pl.nodes or price is not pl.price_per_hour:
                placement = replace(pl, nodes=nodes, price_per_hour=price)
            placement = self._placement(placement) if placement is not None else None
        times = tuple(self.instant(getattr(job, n)) for n in _TIMES)
        if any(a is not getattr(job, n) for a, n in zip(times, _TIMES, strict=True)):
            job = job_with(job, **dict(zip(_TIMES, times, strict=True)))
        d = decision = job.decision
        if d is not None:
            # The lines as a plain tuple (equal to the ``Verdicts`` they were read from: a
            # sequence of equal lines), shared by the jobs whose lines are the same objects;
            # the ``Verdicts`` with its slices (~160 B a job) is not kept.
            lines = d.verdicts
            if type(lines) is Verdicts:
                lines = self._kept_tuple(tuple(self._line(v) for v in lines))
            summary = self._summary(d.summary)
            if lines is not d.verdicts or summary is not d.summary:
                decision = Decision(summary, lines, d.chosen)
        if placement is pl and decision is d:
            return job
        return job_with(job, placement=placement, decision=decision)

    def _summary(self, summary: Reason) -> Reason:
        if type(summary) is not Reason:
            return summary
        if any(type(v) is str for v in summary.params.values()):
            # The summary's figures as text ("159.74" net and gross, "0.00"): equal strings once.
            params = {k: sys.intern(v) if type(v) is str else v for k, v in summary.params.items()}
            summary = Reason(summary.code, params)
        # Jobs of one shape on one pool whose estimates round alike say the same: once.
        return self.one(summary)

    def _placement(self, pl: Placement) -> Placement:
        """The kept placement on these very nodes at this very price (a few hundred over a
        trace), ``pl`` itself the first time."""
        if type(pl) is not Placement or type(pl.accelerator) not in (str, type(None)):
            return pl
        # The nodes and the price are kept objects, held by the kept placement while the
        # key lives: their identities name them exactly.
        if type(pl.cluster) is not str or type(pl.pool) is not str:
            return pl
        key = (Placement, pl.cluster, pl.pool, pl.accelerator, id(pl.nodes), id(pl.price_per_hour))
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept: Placement = self._kept.setdefault(key, pl)
        return kept

    def usage(self, m: MeteredUsage) -> MeteredUsage:
        """A meter reading with its price kept once (a pool's price, the same every job)."""
        price = self.amount(m.price_per_accelerator_hour)
        u = m.usage
        started, ended = self.instant(u.started_at), self.instant(u.ended_at)
        if started is not u.started_at or ended is not u.ended_at:
            u = replace(u, started_at=started, ended_at=ended)
        if price is m.price_per_accelerator_hour and u is m.usage:
            return m
        return replace(m, usage=u, price_per_accelerator_hour=price)

    def settlement(self, s: Settlement) -> Settlement:
        """A settlement with its amounts, refusals and empty maps kept once."""
        line = s.line
        price, gross = self.amount(line.price_per_accelerator_hour), self.amount(line.gross)
        if price is not line.price_per_accelerator_hour or gross is not line.gross:
            line = replace(line, price_per_accelerator_hour=price, gross=gross)
        deduction = self.deduction(s.deduction)
        entry_key = self.key(s.entry_key) if s.entry_key is not None else None
        at = self.instant(s.settled_at)
        if (
            line is s.line
            and deduction is s.deduction
            and entry_key is s.entry_key
            and at is s.settled_at
        ):
            return s
        return replace(s, line=line, deduction=deduction, entry_key=entry_key, settled_at=at)

    def _line(self, v: PoolVerdict) -> PoolVerdict:
        done = self._lines.get(id(v))
        if done is not None:
            return done[1]
        e = v.estimate
        estimate = e
        if type(e) is Estimate:
            amounts = (e.gross, e.voucher, e.data_cost, e.net)
            kept = tuple(self.amount(a) for a in amounts)
            if any(a is not b for a, b in zip(amounts, kept, strict=True)):
                gross, voucher, data, net = kept
                estimate = replace(e, gross=gross, voucher=voucher, data_cost=data, net=net)
        price = self.amount(v.price_per_hour) if v.price_per_hour is not None else None
        line = v
        if estimate is not e or price is not v.price_per_hour:
            line = replace(v, price_per_hour=price, estimate=estimate)
        if len(self._lines) >= KEPT_AT_MOST:
            self._lines.clear()
        self._lines[id(v)] = (v, line)
        return line


class KeptTags(Mapping[str, str]):
    """A read-only map kept as its names (a tuple shared by every map with the same names)
    and its values: ~100 B against ~180 B for a small dict. Equal to the dict it was made
    from, printed as it."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, name: str) -> str:
        for n, v in zip(self._names, self._values, strict=True):
            if n == name:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return repr(dict(zip(self._names, self._values, strict=True)))


# A job's instants (``finished_at`` is most often ``updated_at`` itself).
_TIMES = ("submitted_at", "updated_at", "started_at", "finished_at", "queued_at", "preempt_at")


def _all(records: tuple[object, ...], kind: type) -> bool:
    return all(type(r) is kind for r in records)
