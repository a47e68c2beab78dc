"""How the CLI shows jobs, their placement and why, and the fleet's totals.

Light at import (rich and the CLI's labels only): the wire models are annotations here.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.table import Table

from suanli.cli.context import out
from suanli.cli.tables import fitted
from suanli.cli.text import t
from suanli.domain.i18n import MESSAGES, Lang, render

if TYPE_CHECKING:
    from suanli.client.rows import JobRow
    from suanli.schemas.api import (
        DecisionResponse,
        FleetResponse,
        JobResponse,
        TotalsResponse,
        VerdictResponse,
    )


def print_job_list(lang: Lang, jobs: list[JobRow], total: int) -> None:
    cols = ("job", "name", "status", "attempt", "accelerator", "where", "submitted_at")
    body = [
        [
            j.id,
            j.name,
            status_text(j.status, lang),
            str(j.attempt),
            j.accelerator or "-",
            f"{j.cluster}/{j.pool}" if j.cluster else "-",
            time_text(j.submitted_at),
        ]
        for j in jobs
    ]
    # Ids and pool names are what a reader copies: whole, on one line; the name folds.
    caption = t("jobs_total", lang, shown=len(jobs), total=total)
    table = fitted(None, [t(c, lang) for c in cols], body, out.width, 1, (6,), caption=caption)
    out.print(table)


def print_job(lang: Lang, job: JobResponse) -> None:
    out.print(
        f"[bold]{job.id}[/bold]  {job.name}  {status_text(job.status, lang)}"
        + (f"  {t('exit_code', lang)}: {job.exit_code}" if job.exit_code is not None else "")
    )
    if job.placement:
        p = job.placement
        count = job.spec.get("resources", {}).get("accelerator", {}).get("count", 0)
        out.print(
            f"{t('placement', lang)}: {p.cluster}/{p.pool} ({region_text(p.region, lang)}), "
            f"{len(p.nodes)} × {count} {p.accelerator or 'CPU'}, "
            f"{p.price_per_hour_yuan} {t('price', lang)}"
        )
    if job.spec.get("image"):  # what the attempt runs, exactly
        digest = job.image_digest or "-"
        out.print(f"{t('image', lang)}: {job.spec['image']}  {digest}", markup=False)
    checkpoint = job.spec.get("checkpoint")
    if isinstance(checkpoint, dict):  # a resumable job: say how often it saves
        every = checkpoint.get("every_minutes")
        text = t("checkpoint_every", lang, minutes=f"{every:g}") if every else None
        out.print(text or t("checkpoint_on_stop", lang), markup=False)
        ended = job.status in ("succeeded", "failed", "cancelled")  # its checkpoint is gone
        if job.checkpoint_cluster and not ended:  # whose engine holds it (placement prefers it)
            out.print(t("checkpoint_held", lang, cluster=job.checkpoint_cluster), markup=False)
    body = []
    for e in job.history:
        to = status_text(e.to_status, lang)
        if e.from_status in (None, e.to_status):
            arrow = to
        else:
            arrow = f"{status_text(e.from_status or '', lang)} → {to}"
        body.append([time_text(e.at), arrow, str(e.attempt), e.reason.message])
    cols = ("time", "transition", "attempt", "reason")
    history = fitted(t("history", lang), [t(c, lang) for c in cols], body, out.width, 3, (1, 0))
    out.print(history)
    if job.decision:
        print_decision(lang, job.id, job.decision)


def print_decision(lang: Lang, job_id: str, d: DecisionResponse, limit: int | None = 12) -> None:
    """Every pool and its verdict, headed by the summary: "Why this placement" when placed,
    "Why it waits" otherwise."""
    heading = t("explanation" if d.chosen else "why_waits", lang)
    shown = d.verdicts if limit is None else d.verdicts[:limit]
    # Under 100 columns the expected cost and hours give their room to the reason (they
    # are in --json and on a wider terminal).
    cols = ["pool", "col_price", "col_net", "col_hours", "verdict", "reason"]
    if out.width < 100:
        cols = ["pool", "col_price", "verdict", "reason"]
    cells = [_verdict_cells(v, d, lang) for v in shown]
    more = len(d.verdicts) - len(shown)
    table = fitted(
        t("titled", lang, heading=heading, text=d.summary.message),
        [t(c, lang) for c in cols],
        [[r[c] for c in cols] for r in cells],
        out.width,
        fold=len(cols) - 1,
        squeeze=(0,),
        caption=f"+{more} (suanli explain {job_id})" if more else None,
    )
    out.print(table)


def _widest(texts: Iterable[str]) -> int | None:
    return max((cell_len(x) for x in texts), default=None)


def _verdict_cells(v: VerdictResponse, d: DecisionResponse, lang: Lang) -> dict[str, str]:
    return {
        "pool": f"{v.cluster}/{v.pool}",
        "col_price": v.price_per_hour_yuan or "-",
        "col_net": v.estimate.net_yuan if v.estimate else "-",
        "col_hours": f"{v.estimate.hours + v.estimate.transfer_hours:.2f}" if v.estimate else "-",
        "verdict": _verdict(v, d, lang),
        "reason": v.reason.message if v.reason else "",
    }


def _verdict(v: VerdictResponse, d: DecisionResponse, lang: Lang) -> str:
    if d.chosen and [v.cluster, v.pool] == list(d.chosen):
        return f"[green]{t('chosen', lang)}[/green]"
    if v.feasible:
        return t("runner_up", lang)
    if v.reason is not None and v.reason.code == "pool_busy":
        return f"[yellow]{t('full_now', lang)}[/yellow]"  # could run it, once room frees
    return t("excluded", lang)


def print_fleet(lang: Lang, data: FleetResponse) -> None:
    for key, groups in (("region", data.by_region), ("provider", data.by_provider)):
        table = Table(title=f"{t('fleet_title', lang)} · {t(key, lang)}")
        for col in (key, "accelerators", "pflops", "domestic_share", "unrated"):
            # A long provider name folds, whole, rather than being cut to "张家口绿色算 …".
            table.add_column(
                t(col, lang), justify="left" if col == key else "right", overflow="fold"
            )
        for name, totals in groups.items():
            if key == "provider":
                label = f"{name} {data.providers.get(name, '')}".strip()
            else:
                label = region_text(name, lang)
            table.add_row(label, *_totals_row(totals))
        table.add_row(f"[bold]{t('total', lang)}[/bold]", *_totals_row(data.total))
        out.print(table)


def _totals_row(x: TotalsResponse) -> list[str]:
    return [
        str(x.accelerators),
        f"{x.pflops_fp16:.2f}",
        f"{x.domestic_share:.1%}",
        str(x.unrated_accelerators),
    ]


_COLOURS = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


def status_text(s: str, lang: Lang) -> str:
    """A job status in the reader's language, coloured."""
    shown = render(f"status.{s}", lang) if f"status.{s}" in MESSAGES else s
    color = _COLOURS.get(s)
    return f"[{color}]{shown}[/{color}]" if color else shown


def region_text(region: str | None, lang: Lang) -> str:
    """A region id with its Chinese name under zh ("beijing-yizhuang" → "北京亦庄")."""
    code = f"region.{region}"
    if region is None or lang != "zh" or code not in MESSAGES:
        return region or "-"
    return f"{render(code, lang)}（{region}）"


def time_text(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


# The head every engine writes on each line of a multi-node job (engines/local_runner.py
# RANK_PREFIX; Ray puts its worker, "(node pid=…)", before it); the console reads the same.
RANK_LINE = re.compile(rb"^(?:\([^)]*\) )?\[rank (\d+)\] ")
PLATFORM_LINE = b"[suanli]"  # what the platform itself writes into a log (cancel, limit)


class RankLines:
    """One rank's lines of a log read in pieces, without their head; the platform's own
    lines too (why the job stopped). A line split across pieces is held until it ends."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.held = b""

    def feed(self, data: bytes, end: bool = False) -> bytes:
        *lines, self.held = (self.held + data).split(b"\n")
        if end and self.held:
            lines.append(self.held)
            self.held = b""
        kept = []
        for line in lines:
            m = RANK_LINE.match(line)
            if m is not None and int(m.group(1)) == self.rank:
                kept.append(line[m.end() :] + b"\n")
            elif line.lstrip().startswith(PLATFORM_LINE):
                kept.append(line + b"\n")
        return b"".join(kept)


def write_log(job_id: str, data: bytes, next_offset: int, as_json: bool) -> None:
    if as_json:  # one JSON object per chunk (JSON lines when following)
        text = data.decode("utf-8", errors="replace")
        line = {"job_id": job_id, "text": text, "next_offset": next_offset}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        sys.stdout.buffer.write(data)
    sys.stdout.flush()
