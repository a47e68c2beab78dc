"""What the host did while a figure was measured: time stolen by the hypervisor, and
whether the figure's windows agreed well enough for the figure to be taken as steady.

Why this exists (issue 24, found on this repo's 2-core KVM CI guest, AMD EPYC, Dec 2026):
FP32 GEMM per-window figures moved 10-13% (CV) at every size from 128 to 1024 (L1- to
L3-sized), with 1 thread or 2, and at top priority (``nice -n -19``, hardly preempted in
the guest), and windows of different sizes taken in the same seconds rose and fell
together. The process's CPU time already leaves stolen time out (the guest kernel has
``PARAVIRT_TIME_ACCOUNTING``; ``/proc/stat`` steal was 0-4%), the guest has no PMU (no
cycle counts) and its ``cpu MHz`` is the fixed TSC rate. So the speed of the physical core
under the guest changes, over seconds and for minutes at a time (its clock, or another VM
on its SMT sibling sharing the SIMD units: the slow FP16/BF16 paths moved 2-3% in the same
windows where AVX2 FP32 moved ~10%, and one whole run held 0.100 TFLOPS where another held
0.151), and nothing inside the guest can remove it; a slow but steady spell is not flagged
here (the eval report's regression check, a >10% drop from the pool's last figure, is). What the suite can do is spread its windows so
that drift falls on every precision alike (``timing.measure_rounds``), report how far the
figure may be off, and flag a figure whose windows disagreed (``steadiness``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# The median of n windows is off by about 1.2533 sigma / sqrt(n) (its asymptotic standard
# error for normal windows). A figure whose median may be off by more than this, relative,
# is flagged: at 2.5% two runs of a steady host stay within the 5% CV of each other.
STEADY_ERROR = 0.025
MEDIAN_ERROR = math.sqrt(math.pi / 2)  # 1.2533
# Steal above this share of the host's CPU time during a figure is reported as a flag too.
STEAL_FLAG = 0.10


@dataclass(frozen=True)
class HostTimes:
    """The all-CPU line of ``/proc/stat`` in clock ticks: all time, and time stolen."""

    total: int
    steal: int


def parse_stat(text: str) -> HostTimes | None:
    """The ``cpu`` line of ``/proc/stat`` (``user nice system idle iowait irq softirq
    steal ...``), else None (not Linux, or a kernel that does not report steal)."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(f) for f in fields[1:] if f.isdigit()]
            if len(ticks) < 8:
                return None
            # guest and guest_nice (9th, 10th) are already counted inside user and nice.
            return HostTimes(sum(ticks[:8]), ticks[7])
    return None


def host_times() -> HostTimes | None:
    """The host's CPU times now, or None where ``/proc/stat`` is not there."""
    try:
        return parse_stat(PROC_STAT.read_text())
    except OSError:
        return None


def steal_share(before: HostTimes | None, after: HostTimes | None) -> float | None:
    """Share of the host's CPU time stolen by the hypervisor between two readings."""
    if before is None or after is None or after.total <= before.total:
        return None
    return max(0.0, (after.steal - before.steal) / (after.total - before.total))


def median_error(cv: float, windows: int) -> float:
    """How far, relative, the median of ``windows`` windows of this CV may be off (1 sigma)."""
    return MEDIAN_ERROR * cv / math.sqrt(windows) if windows > 0 else math.inf


@dataclass(frozen=True)
class Steadiness:
    """Whether a figure can be taken as the hardware's, and if not, why (en; zh-CN)."""

    error: float  # the median's relative standard error
    steady: bool
    why: str = ""
    why_zh: str = ""


def steadiness(cv: float, windows: int, steal: float | None) -> Steadiness:
    """Flag a figure whose windows disagreed, or that was taken while the host stole time."""
    error = median_error(cv, windows)
    reasons, reasons_zh = [], []
    if error > STEADY_ERROR:
        reasons.append(
            f"the host's speed varied while it was measured (window CV {cv:.1%}, median "
            f"±{error:.1%} > ±{STEADY_ERROR:.1%}): another workload on the same cores"
        )
        reasons_zh.append(
            f"测量期间主机速度波动（窗口变异系数 {cv:.1%}，中位数 ±{error:.1%} 超过 "
            f"±{STEADY_ERROR:.1%}）：同一物理核上有其他负载"
        )
    if steal is not None and steal > STEAL_FLAG:
        reasons.append(f"the hypervisor took {steal:.0%} of the host's CPU time")
        reasons_zh.append(f"虚拟化层占用了主机 {steal:.0%} 的 CPU 时间")
    return Steadiness(error, not reasons, "; ".join(reasons), "；".join(reasons_zh))
