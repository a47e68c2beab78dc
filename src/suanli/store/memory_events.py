"""Jobs' histories in the memory stores, a column per field (a replay keeps ~5M events).

A ``JobEvent`` kept whole costs ~110 B with its instant (and its list's slot); most of it
is the object headers of values that fit a few bytes: the instant in microseconds since
the epoch, two statuses and an attempt number. ``EventLog`` keeps every event of every job
as one row of shared columns (~30 B a row; the reason is a reference, shared with other
rows where the values are equal: ``memory_compact``), a job's rows chained in the order
they came, and rebuilds each ``JobEvent`` when read: equal, field by field, to the one
written. An event that does not fit the columns (an instant not in UTC, an attempt past
2**31, a job id other than its job's) is kept as it came, in its place in the chain.

A reason with parameters met for the first time (``share``: no equal one kept before) is
most often one job's own (its dispatch, naming its run key): its row keeps it as a tuple,
``(code, names, *values)``, the names a tuple shared by every reason of that shape (~70 B
against ~230 B for the reason and its map), and the reason is made again when read, equal
to the one added. Reasons seen before are the kept instance, shared by every row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from array import array
from collections.abc import Callable, Iterable
from typing import Any

from suanli.domain.ids import JobId
from suanli.domain.jobs import JobEvent, JobStatus, Reason

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_STATUSES = tuple(JobStatus)
_INDEX = {s: i for i, s in enumerate(_STATUSES)}
_NONE = 255  # no from-status (a job's first event)
_END = -1  # no next row
_ROW_BITS = 32  # a job's (first, last) rows packed in one int
_ROW_MASK = (1 << _ROW_BITS) - 1
# The next-row column holds 4-byte signed rows (_END below): ~2 billion events, ~300,000
# times what a replay of the trace x13 adds.
_MAX_ROWS = (1 << 31) - 1
_MAX_ATTEMPT = (1 << 31) - 1
# Shapes of packed reasons (code and parameter names) kept at most: a bound on memory, not
# a tuned figure (a replay meets a few dozen).
_SHAPES_AT_MOST = 1024

Share = Callable[[Reason], tuple[Reason, bool]]  # the kept reason, and whether seen before


class EventLog:
    """Every job's events, in the order each job's were added (not thread-safe: the
    stores call it under their lock)."""

    def __init__(self, share: Share | None = None) -> None:
        """``share``: where reasons are kept once (None: each row keeps its reason as it came)."""
        self._share = share
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}  # parameter names, once
        self._ends: dict[JobId, int] = {}  # first row << 32 | last row
        self._at_us = array("q")
        self._from = bytearray()
        self._to = bytearray()
        self._attempt = array("i")
        self._next = array("i")
        self._reason: list[object] = []
        self._whole: dict[int, JobEvent] = {}  # rows kept as they came

    def __len__(self) -> int:
        return len(self._next)

    def append(self, job_id: JobId, events: Iterable[JobEvent]) -> None:
        """Add ``events`` after ``job_id``'s earlier ones."""
        for e in events:
            row = len(self._next)
            if row > _MAX_ROWS:
                raise OverflowError(f"event log full ({_MAX_ROWS:,} rows)")
            at = e.at
            packed = (
                at.tzinfo is dt.UTC
                and e.job_id == job_id
                and type(e.job_id) is type(job_id)
                and 0 <= e.attempt <= _MAX_ATTEMPT
                and type(e.attempt) is int
            )
            if packed:
                self._at_us.append((at - _EPOCH) // _US)
                self._from.append(_NONE if e.from_status is None else _INDEX[e.from_status])
                self._to.append(_INDEX[e.to_status])
                self._attempt.append(e.attempt)
            else:  # placeholders: the row reads back from ``_whole``
                self._at_us.append(0)
                self._from.append(_NONE)
                self._to.append(0)
                self._attempt.append(0)
                self._whole[row] = e
            reason: object = e.reason
            if type(reason) is Reason and self._share is not None:
                kept, before = self._share(reason)
                if not packed:  # the row reads back from ``_whole``
                    self._whole[row] = e if kept is reason else dataclasses.replace(e, reason=kept)
                    reason = None
                else:
                    reason = kept if before else self._packed(kept)
            self._reason.append(reason)
            self._next.append(_END)
            ends = self._ends.get(job_id)
            if ends is None:
                self._ends[job_id] = row << _ROW_BITS | row
            else:
                self._next[ends & _ROW_MASK] = row
                self._ends[job_id] = (ends >> _ROW_BITS) << _ROW_BITS | row

    def _packed(self, reason: Reason) -> object:
        """``reason`` as a row keeps it: itself, or a tuple when it has parameters."""
        params = reason.params
        if type(params) is not dict or not params or type(reason.code) is not str:
            return reason
        names = tuple(params)
        kept = self._names.get(names)
        if kept is None:
            if len(self._names) >= _SHAPES_AT_MOST:
                self._names.clear()
            kept = self._names[names] = names
        return (reason.code, kept, *params.values())

    def read(self, job_id: JobId) -> list[JobEvent]:
        """``job_id``'s events, oldest first, each equal to the one added."""
        ends = self._ends.get(job_id)
        found: list[JobEvent] = []
        row = _END if ends is None else ends >> _ROW_BITS
        while row != _END:
            whole = self._whole.get(row)
            if whole is not None:
                found.append(whole)
            else:
                was = self._from[row]
                found.append(
                    JobEvent(
                        job_id,
                        _EPOCH + self._at_us[row] * _US,
                        None if was == _NONE else _STATUSES[was],
                        _STATUSES[self._to[row]],
                        _reason(self._reason[row]),
                        self._attempt[row],
                    )
                )
            row = self._next[row]
        return found


def _reason(kept: Any) -> Reason:
    """The reason a row keeps (packed: made again, equal to the one added)."""
    if type(kept) is tuple:
        return Reason(kept[0], dict(zip(kept[1], kept[2:], strict=True)))
    reason: Reason = kept
    return reason
