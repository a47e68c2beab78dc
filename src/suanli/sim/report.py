"""The ``--report DIR`` output: PNG plots (matplotlib) and an HTML page that shows them.

Queue length and utilisation over simulated time, and the JCT distribution (CDF) of each
policy replayed. matplotlib is an optional extra (``pip install suanli[report]``); without
it the report says how to get it instead of failing the replay.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from suanli.domain.errors import FieldError, InvalidInput
from suanli.sim.live_report import LiveReport


def write_report(reports: Sequence[LiveReport], folder: Path, title: str) -> list[Path]:
    """Write ``index.html``, ``summary.json`` and the PNGs into ``folder``; return the files."""
    try:
        import matplotlib  # noqa: PLC0415  (optional: only the report needs it)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[
                FieldError("report", "not_allowed", str(folder), "pip install 'suanli[report]'")
            ],
            source="suanli sim replay",
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for metric, label in (
        ("queued", "jobs waiting"),
        ("utilization", "accelerators busy (share)"),
    ):
        fig, ax = plt.subplots(figsize=(9, 3.5))
        for r in reports:
            hours = [t / 3600 for t in r.series.get("t", [])]
            ax.plot(hours, r.series.get(metric, []), label=r.policy, linewidth=0.8)
        ax.set_xlabel("simulated hours")
        ax.set_ylabel(label)
        ax.legend()
        fig.tight_layout()
        path = folder / f"{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for r in reports:
        xs = sorted(r.jcts)
        if xs:
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.plot(xs, ys, label=f"{r.policy} (avg {r.avg_jct_s:,.0f} s)", linewidth=0.9)
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("share of jobs")
    ax.legend()
    fig.tight_layout()
    path = folder / "jct_cdf.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    summary = folder / "summary.json"
    summary.write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    written.append(summary)
    index = folder / "index.html"
    index.write_text(_html(reports, title))
    written.append(index)
    return written


def _html(reports: Sequence[LiveReport], title: str) -> str:
    cols = (
        "policy",
        "jobs",
        "avg_jct_s",
        "p50_jct_s",
        "p99_jct_s",
        "avg_queue_s",
        "makespan_s",
        "utilization",
        "preemptions",
        "cost_yuan",
        "voucher_yuan",
    )
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.to_dict()[c]))}</td>" for c in cols) + "</tr>"
        for r in reports
    )
    imgs = "".join(
        f'<h2>{name}</h2><img src="{name}.png" alt="{name}">'
        for name in ("queued", "utilization", "jct_cdf")
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><table border=1 cellpadding=4><tr>{head}</tr>{rows}</table>"
        f"{imgs}</html>\n"
    )
