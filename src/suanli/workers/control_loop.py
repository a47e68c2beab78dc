"""The control loop: schedule -> dispatch -> reconcile -> settle, over and over, in one thread.

Several API processes may share one database; only the one holding the platform's
leadership (a PostgreSQL advisory lock) runs ticks, the others wait to take over.
"""

from __future__ import annotations

import logging
import threading

from suanli.engines.base import watching
from suanli.service.billing import settle
from suanli.service.deps import Platform
from suanli.service.dispatch import dispatch_placed
from suanli.service.evaluation import collect
from suanli.service.reconcile import adopt_runs, check_engines, reconcile
from suanli.service.scheduling import run_scheduling_cycle
from suanli.service.usage import bill_tokens

log = logging.getLogger("suanli.control")
REST_PER_TICK = 1.0  # seconds of rest per second of tick before a wake-up counts
# The period while an engine watches a run it was just given (see engines.base.CloseWatch).
WATCH_PERIOD_S = 0.05


def tick(p: Platform) -> None:
    """One pass of the loop; each step reads fresh state, so a step may fail alone."""
    check_engines(p)
    run_scheduling_cycle(p)
    dispatch_placed(p)
    reconcile(p)
    settle(p)  # meters attempts that ended (also before a restart), settles, posts
    bill_tokens(p)  # model services' token spend: settles, posts
    collect(p)  # results of finished `suanli eval` jobs, handed to placement


class ControlLoop:
    def __init__(self, platform: Platform, interval_s: float = 0.5) -> None:
        self.platform = platform
        self.interval_s = interval_s
        self.leading = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._lead()  # at once, so a single process is active before its first request
        self._thread = threading.Thread(target=self._run, name="suanli-control", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next tick now (e.g. right after a submit) instead of at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.platform.leadership.release()
        self.leading = False

    def _lead(self) -> bool:
        """Whether this process leads now; on taking over, adopt the runs the last one left."""
        try:
            holds = self.platform.leadership.acquire()
        except Exception:
            log.exception("leadership check failed")
            holds = False
        if holds and not self.leading:
            adopted = adopt_runs(self.platform)
            log.info("control loop active here; re-adopted %d run(s)", adopted)
        if not holds and self.leading:
            log.warning("leadership lost: control loop on standby")
        self.leading = holds
        return holds

    def _run(self) -> None:
        clock = self.platform.clock
        while not self._stop.is_set():
            started = clock.monotonic()
            try:
                if self._lead():
                    tick(self.platform)
            except Exception:
                log.exception("control loop tick failed")
            # Rest at least as long as the tick took before a wake-up may start the next:
            # under a stream of submissions (each wakes the loop) ticks would otherwise run
            # back to back and hold this process's interpreter from the API half the time
            # or more. So the loop takes at most half, and the API the rest.
            period = self._period()
            rest = min((clock.monotonic() - started) * REST_PER_TICK, period)
            if self._stop.wait(rest):
                return
            self._wake.wait(max(period - rest, 0.0))
            self._wake.clear()

    def _period(self) -> float:
        if self.leading and watching(self.platform.engines.values()):
            return min(self.interval_s, WATCH_PERIOD_S)
        return self.interval_s
