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
from collections.abc import Hashable, Sequence
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
    JobEvent,
    NodeAssignment,
    PoolVerdict,
    Reason,
    Verdicts,
)
from suanli.store.base import MeteredUsage, Settlement

T = TypeVar("T")
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

    def one(self, record: T) -> T:
        """The kept instance equal to ``record`` (``record`` itself the first time)."""
        key = _key(record)
        if key is None:
            return record
        if len(self._kept) >= KEPT_AT_MOST:
            self._kept.clear()
        kept: T = self._kept.setdefault(key, record)
        return kept

    def amount(self, d: Decimal) -> Decimal:
        """The kept Decimal of exactly this form (``d`` itself the first time)."""
        if type(d) is not Decimal:
            return d
        if len(self._amounts) >= KEPT_AT_MOST:
            self._amounts.clear()
        return self._amounts.setdefault(d.as_tuple(), d)

    def _many(self, records: tuple[T, ...]) -> tuple[T, ...]:
        shared = tuple(self.one(r) for r in records)
        # The parts are kept instances (held by ``shared`` while the key lives), so their
        # identities name the tuple exactly.
        kept: tuple[T, ...] = self._kept.setdefault((tuple, tuple(map(id, shared))), shared)
        return kept

    def events(self, events: Sequence[JobEvent]) -> list[JobEvent]:
        out = []
        for e in events:
            reason = self.one(e.reason) if type(e.reason) is Reason else e.reason
            out.append(e if reason is e.reason else dataclasses.replace(e, reason=reason))
        return out

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
        key = self.key(charge.key)
        if gross is not charge.gross or before is not charge.gross_before or key is not charge.key:
            charge = dataclasses.replace(charge, key=key, gross=gross, gross_before=before)
        if type(charge.attributes) is dict and not charge.attributes:
            empty: dict[str, Any] = self.one_empty()
            if charge.attributes is not empty:
                charge = dataclasses.replace(charge, attributes=empty)
        if considered is None or (considered is d.considered and charge is d.charge):
            return d if charge is d.charge else dataclasses.replace(d, charge=charge)
        return dataclasses.replace(d, charge=charge, considered=considered)

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

    def entry(self, entry: Entry) -> Entry:
        key = self.key(entry.key)
        tags = entry.tags
        if type(tags) is dict and any(type(v) is str for v in tags.values()):
            tags = {k: self.key(v) if type(v) is str else v for k, v in tags.items()}
        if key is not entry.key or tags is not entry.tags:
            entry = dataclasses.replace(entry, key=key, tags=tags)
        postings = tuple(
            p
            if (a := self.one(p.account)) is p.account and self.amount(p.amount) is p.amount
            else Posting(a, self.amount(p.amount))
            for p in entry.postings
        )
        if all(p is q for p, q in zip(postings, entry.postings, strict=True)):
            return entry
        return dataclasses.replace(entry, postings=postings)

    def finished(self, job: Job) -> Job:
        """A finished job with its decision's amounts and lines kept once (read back equal)."""
        pl = placement = job.placement
        if pl is not None:
            # Which nodes and slots: a few hundred shapes over a whole trace.
            nodes = self._many(pl.nodes) if _all(pl.nodes, NodeAssignment) else pl.nodes
            price = self.amount(pl.price_per_hour)
            if nodes is not pl.nodes or price is not pl.price_per_hour:
                placement = dataclasses.replace(pl, nodes=nodes, price_per_hour=price)
        d = job.decision
        if d is None or type(d.verdicts) is not Verdicts:
            return job if placement is pl else dataclasses.replace(job, placement=placement)
        lines = tuple(self._line(v) for v in d.verdicts)
        summary = d.summary
        if type(summary) is Reason and any(type(v) is str for v in summary.params.values()):
            # The summary's figures as text ("159.74" net and gross, "0.00"): equal strings once.
            params = {k: sys.intern(v) if type(v) is str else v for k, v in summary.params.items()}
            summary = Reason(summary.code, params)
        if summary is d.summary and all(a is b for a, b in zip(lines, d.verdicts, strict=True)):
            return job if placement is pl else dataclasses.replace(job, placement=placement)
        verdicts = Verdicts((lines, 0, len(lines)))
        decision = Decision(summary, verdicts, d.chosen)
        return dataclasses.replace(job, placement=placement, decision=decision)

    def usage(self, m: MeteredUsage) -> MeteredUsage:
        """A meter reading with its price kept once (a pool's price, the same every job)."""
        price = self.amount(m.price_per_accelerator_hour)
        if price is m.price_per_accelerator_hour:
            return m
        return dataclasses.replace(m, price_per_accelerator_hour=price)

    def settlement(self, s: Settlement) -> Settlement:
        """A settlement with its amounts, refusals and empty maps kept once."""
        line = s.line
        price, gross = self.amount(line.price_per_accelerator_hour), self.amount(line.gross)
        if price is not line.price_per_accelerator_hour or gross is not line.gross:
            line = dataclasses.replace(line, price_per_accelerator_hour=price, gross=gross)
        deduction = self.deduction(s.deduction)
        entry_key = self.key(s.entry_key) if s.entry_key is not None else None
        if line is s.line and deduction is s.deduction and entry_key is s.entry_key:
            return s
        return dataclasses.replace(s, line=line, deduction=deduction, entry_key=entry_key)

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
                estimate = dataclasses.replace(
                    e, gross=gross, voucher=voucher, data_cost=data, net=net
                )
        price = self.amount(v.price_per_hour) if v.price_per_hour is not None else None
        line = v
        if estimate is not e or price is not v.price_per_hour:
            line = dataclasses.replace(v, price_per_hour=price, estimate=estimate)
        if len(self._lines) >= KEPT_AT_MOST:
            self._lines.clear()
        self._lines[id(v)] = (v, line)
        return line


def _all(records: tuple[object, ...], kind: type) -> bool:
    return all(type(r) is kind for r in records)
