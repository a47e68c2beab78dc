"""Leadership: which one of several API processes runs the control loop."""

from __future__ import annotations

from typing import Protocol


class Leadership(Protocol):
    def acquire(self) -> bool:
        """Hold the leadership if nobody does; True while this process holds it.

        Called before every tick: a holder whose hold was lost (its database session
        died) answers False and may acquire again later.
        """
        ...

    def release(self) -> None:
        """Give the leadership up (on shutdown); a crash releases it too."""
        ...


class SoleLeader:
    """The only process there is (SQLite: the data directory's lock keeps it single)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None
