"""LLM request traces: the Azure LLM inference trace (Splitwise, ISCA 2024) and its kin.

``azure-llm:PATH`` is a CSV with TIMESTAMP, ContextTokens, GeneratedTokens (see
../shared/traces/azure-llm-2023/SOURCE.md). Bounded and checked row by row: a bad row is
named by its line, never half-read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.errors import FieldError, InvalidInput
from suanli.schemas.validation import read_bounded

MAX_TRACE_BYTES = 256 * 1024 * 1024
MAX_REQUESTS = 2_000_000
MAX_TOKENS = 1_000_000  # per request, prompt or output
FORMATS = ("azure-llm",)
_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


@dataclass(frozen=True, slots=True)
class LlmRequest:
    arrival: float  # seconds since the trace's first request
    prompt: int
    output: int


def _bad(field: str, value: object, allowed: str) -> InvalidInput:
    return InvalidInput(
        "invalid_serve_trace", errors=[FieldError(field, "not_allowed", value, allowed)]
    )


def parse_serve_trace_arg(arg: str) -> tuple[str, Path]:
    fmt, sep, path = arg.partition(":")
    if not sep or fmt not in FORMATS or not path:
        raise _bad("--trace", arg, f"FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}")
    return fmt, Path(path)


def _stamp(text: str) -> float:
    # "2023-11-16 18:15:46.6805900": seven fractional digits, more than fromisoformat takes.
    head, _, frac = text.strip().partition(".")
    when = dt.datetime.strptime(head, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    return when.timestamp() + (float("0." + frac) if frac else 0.0)


def read_azure_llm(path: Path) -> list[LlmRequest]:
    """The requests of an Azure LLM trace file, sorted by arrival, times from zero."""
    raw = read_bounded(path, MAX_TRACE_BYTES, "trace file", "invalid_serve_trace")
    reader = csv.reader(io.StringIO(raw.decode("utf-8", errors="replace")))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:3]) != _COLUMNS:
        raise _bad("line 1", header, "the header " + ",".join(_COLUMNS))
    rows: list[tuple[float, int, int]] = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(rows) >= MAX_REQUESTS:
            raise _bad(f"line {line}", len(rows) + 1, f"at most {MAX_REQUESTS} requests")
        try:
            stamp = _stamp(row[0])
            prompt, output = int(row[1]), int(row[2])
        except (ValueError, IndexError):
            raise _bad(
                f"line {line}", ",".join(row)[:80], "a time stamp and two whole token counts"
            ) from None
        if not (0 < prompt <= MAX_TOKENS and 0 < output <= MAX_TOKENS):
            raise _bad(f"line {line}", (prompt, output), f"token counts from 1 to {MAX_TOKENS}")
        rows.append((stamp, prompt, output))
    if not rows:
        raise _bad(str(path), "no requests", "at least one request")
    rows.sort()
    first = rows[0][0]
    return [LlmRequest(t - first, p, o) for t, p, o in rows]
