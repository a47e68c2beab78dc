"""What a simulated cluster remembers of a run whose end it has answered: its final status.

A replay of ~1M jobs cannot keep every finished run whole (its launch request, spec and
placement: ~1 KB each), yet a finished run read again must answer as it did (a control
plane that restarts, or a save that lost a race, asks again), never "lost". As a real
cluster's accounting keeps a finished job's state, exit code and times, the simulated
cluster keeps those in columns: two instants in microseconds since the epoch, a state and
an exit code per row (~80 B a run with its key, against ~1 KB). The rare reason (a time
limit) is kept as it came. Only UTC instants are packed (each reads back the same
``datetime``, zone included); a run with another zone stays whole in the cluster.
"""

from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass, field

from suanli.domain.jobs import Reason
from suanli.engines.base import RunState, RunStatus

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)
_NO_EXIT = -1


def packable(status: RunStatus) -> bool:
    """Whether ``status`` reads back equal from the columns."""
    s, f = status.started_at, status.finished_at
    return (
        status.state in _STATES
        and s is not None
        and f is not None
        and s.tzinfo is dt.UTC
        and f.tzinfo is dt.UTC
        and (status.exit_code is None or 0 <= status.exit_code < 256)
        and status.image_digest is None
    )


@dataclass(slots=True)
class FinishedRuns:
    """Final statuses by run key, a row each (append-only: a finished run stays finished)."""

    rows: dict[str, int] = field(default_factory=dict)
    started_us: array[int] = field(default_factory=lambda: array("q"))
    finished_us: array[int] = field(default_factory=lambda: array("q"))
    states: bytearray = field(default_factory=bytearray)
    exit_codes: array[int] = field(default_factory=lambda: array("h"))
    reasons: dict[int, Reason] = field(default_factory=dict)  # the rare row with one

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, key: str, status: RunStatus) -> None:
        """Keep ``status`` (``packable``: refused otherwise) as ``key``'s final answer."""
        started, finished = status.started_at, status.finished_at
        if started is None or finished is None or not packable(status):
            raise ValueError(f"{key}: {status} is not a final status the columns hold")
        if key in self.rows:
            return
        row = len(self.states)
        self.rows[key] = row
        self.started_us.append((started - _EPOCH) // _US)
        self.finished_us.append((finished - _EPOCH) // _US)
        self.states.append(_STATES.index(status.state))
        self.exit_codes.append(_NO_EXIT if status.exit_code is None else status.exit_code)
        if status.reason is not None:
            self.reasons[row] = status.reason

    def status(self, key: str) -> RunStatus | None:
        row = self.rows.get(key)
        if row is None:
            return None
        code = self.exit_codes[row]
        return RunStatus(
            _STATES[self.states[row]],
            None if code == _NO_EXIT else code,
            self.reasons.get(row),
            _EPOCH + self.started_us[row] * _US,
            _EPOCH + self.finished_us[row] * _US,
        )
