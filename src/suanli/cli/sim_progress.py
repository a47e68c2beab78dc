"""`suanli sim replay`'s progress line: where a replay stands, on stderr, once a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from suanli.cli.text import LabelTable
from suanli.domain.i18n import Lang
from suanli.sim.progress import ReplayProgress

LABELS: dict[str, dict[Lang, str]] = {
    "line": {
        "en": "{policy} · simulated {sim} · arrived {arrived}/{total} · finished {finished} · "
        "waiting {waiting} · running {running} · {ticks} ticks · {cpu:.1f} CPU s",
        "zh": "{policy} · 模拟时间 {sim} · 已到达 {arrived}/{total} · 已完成 {finished} · "
        "等待 {waiting} · 运行 {running} · {ticks} 轮调度 · CPU {cpu:.1f} 秒",
    },
    "rejected": {"en": " · rejected {rejected}", "zh": " · 拒绝 {rejected}"},
    "days": {"en": "{d}d {hms}", "zh": "{d} 天 {hms}"},
}
_t = LabelTable(LABELS)


def simulated(seconds: float, lang: Lang) -> str:
    """Simulated time since the first submission: ``3d 04:05:06`` (``3 天 04:05:06``)."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hms = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return _t("days", lang, d=days, hms=hms) if days else hms


def progress_text(p: ReplayProgress, policy: str, cpu_s: float, lang: Lang) -> str:
    text = _t(
        "line",
        lang,
        policy=policy,
        sim=simulated(p.sim_s, lang),
        arrived=f"{p.arrived:,}",
        total=f"{p.total:,}",
        finished=f"{p.finished:,}",
        waiting=f"{p.waiting:,}",
        running=f"{p.running:,}",
        ticks=f"{p.ticks:,}",
        cpu=cpu_s,
    )
    return text + (_t("rejected", lang, rejected=f"{p.rejected:,}") if p.rejected else "")


class ProgressLine:
    """Hears every tick of one replay and shows the latest counts every ``every_s`` seconds
    of wall time, and once more at the end; a terminal sees one line redrawn in place, a
    file or pipe one line each time. ``wall`` and ``cpu`` are the clocks it reads (the
    process's CPU time counts from the line's start)."""

    def __init__(
        self,
        console: Console,
        policy: str,
        lang: Lang,
        every_s: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self.console = console
        self.policy = policy
        self.lang = lang
        self.every_s = every_s
        self.wall = wall
        self.cpu = cpu
        self.cpu_at_start = cpu()
        self.next_at = wall() + every_s
        self.last: ReplayProgress | None = None
        self.live: Live | None = None
        self.shown = 0

    def __call__(self, progress: ReplayProgress) -> None:
        self.last = progress
        now = self.wall()
        if now >= self.next_at:
            self.next_at = now + self.every_s
            self.show()

    def show(self) -> None:
        if self.last is None:
            return
        text = Text(
            progress_text(self.last, self.policy, self.cpu() - self.cpu_at_start, self.lang)
        )
        self.shown += 1
        if self.live is not None:
            self.live.update(text, refresh=True)
        else:
            self.console.print(text, soft_wrap=True)


@contextmanager
def progress_line(
    console: Console, policy: str, lang: Lang, on: bool
) -> Iterator[Callable[[ReplayProgress], None] | None]:
    """The ``on_tick`` callback for one replay (None when ``on`` is false)."""
    if not on:
        yield None
        return
    line = ProgressLine(console, policy, lang)
    if not console.is_terminal:
        yield line
        line.show()
        return
    with Live(console=console, auto_refresh=False, transient=False) as live:
        line.live = live
        yield line
        line.show()
