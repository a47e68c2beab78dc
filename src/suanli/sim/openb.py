"""Read the openb trace CSVs (Alibaba GPU cluster trace v2023, FGD ATC'23) into packing types.

Node lists: ``sn, cpu_milli, memory_mib, gpu, model``; pod lists: ``name, cpu_milli,
memory_mib, num_gpu, gpu_milli`` and optionally ``gpu_spec`` (GPU models separated by
``|``). Other columns (qos, times, phase) are ignored: packing replays arrival order only.
Every complaint names the file, the line and the column, so a bad row is found at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from suanli.domain.errors import FieldError, InvalidInput
from suanli.scheduler.packing import MILLI, NodeSpec, PodRequest
from suanli.schemas.validation import read_bounded

MAX_TRACE_BYTES = 256 * 1024 * 1024
MAX_REPORTED = 10
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
CODE = "invalid_trace"

T = TypeVar("T")
Row = dict[str, str]


class _Row:
    """One CSV row being read; collects field errors instead of stopping at the first."""

    def __init__(self, row: Row, line: int, errors: list[FieldError]) -> None:
        self.row, self.line, self.errors = row, line, errors
        self.bad = False

    def where(self, column: str) -> str:
        return f"line {self.line}, column {column}"

    def text(self, column: str) -> str:
        return (self.row.get(column) or "").strip()

    def count(self, column: str, upper: int | None = None) -> int:
        """A non-negative integer (at most ``upper``); 0 after recording an error."""
        raw = self.text(column)
        try:
            value = int(raw)
        except ValueError:
            self.fail(column, "wrong_type", raw, "a non-negative integer")
            return 0
        if value < 0 or (upper is not None and value > upper):
            self.fail(column, "out_of_range", value, f"0..{upper}" if upper else ">= 0")
            return 0
        return value

    def fail(self, column: str, code: str, value: object, allowed: str) -> None:
        self.errors.append(FieldError(self.where(column), code, value, allowed))
        self.bad = True


def read_nodes(path: Path) -> list[NodeSpec]:
    """The nodes of an openb node list; raises InvalidInput naming file, line and column."""
    return _read(path, NODE_COLUMNS, _node, "node")


def read_pods(path: Path) -> list[PodRequest]:
    """The pods of an openb pod list in file order; raises InvalidInput like read_nodes."""
    return _read(path, POD_COLUMNS, _pod, "pod")


def _node(r: _Row) -> NodeSpec | None:
    cpu, memory, gpus, model = (
        r.count("cpu_milli"),
        r.count("memory_mib"),
        r.count("gpu"),
        r.text("model"),
    )
    if gpus and not model:
        r.fail("model", "missing", "", "the GPU model of a node with GPUs")
    return None if r.bad else NodeSpec(r.text("sn"), cpu, memory, gpus, model)


def _pod(r: _Row) -> PodRequest | None:
    cpu, memory, gpus = r.count("cpu_milli"), r.count("memory_mib"), r.count("num_gpu")
    milli = r.count("gpu_milli", MILLI)
    if gpus and not milli:
        r.fail("gpu_milli", "out_of_range", milli, f"1..{MILLI} when num_gpu > 0")
    if gpus > 1 and milli != MILLI:
        r.fail("gpu_milli", "not_allowed", milli, f"{MILLI}: a multi-GPU pod takes whole GPUs")
    if r.bad:
        return None
    spec = frozenset(m.strip() for m in r.text("gpu_spec").split("|") if m.strip())
    return PodRequest(r.text("name"), cpu, memory, gpus, milli if gpus else 0, spec)


def _read(
    path: Path, columns: tuple[str, ...], build: Callable[[_Row], T | None], what: str
) -> list[T]:
    # 1. Bytes, bounded; a missing or unreadable file is reported with its path.
    text = _decode(path, read_bounded(path, MAX_TRACE_BYTES, f"the {what} list", CODE))
    reader = csv.DictReader(io.StringIO(text))
    # 2. Header: every required column present.
    header = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in columns if c not in header]
    if missing:
        absent = [FieldError(f"column {c}", "missing") for c in missing]
        raise InvalidInput(CODE, errors=absent, source=str(path))
    reader.fieldnames = header
    # 3. Rows: collect every bad field (up to MAX_REPORTED), then fail once.
    errors: list[FieldError] = []
    built = (build(r) for r in _rows(reader, errors))
    items = [item for item in built if item is not None]
    if errors:
        raise InvalidInput(CODE, errors=errors[:MAX_REPORTED], source=str(path))
    if not items:
        raise InvalidInput(
            CODE,
            errors=[_file_error(path, f"no {what} rows below the header")],
            source=str(path),
        )
    return items


def _rows(reader: csv.DictReader[str], errors: list[FieldError]) -> Iterator[_Row]:
    for row in reader:
        if len(errors) >= MAX_REPORTED:
            return
        yield _Row(row, reader.line_num, errors)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        detail = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise InvalidInput(CODE, errors=[_file_error(path, detail)], source=str(path)) from None


def _file_error(path: Path, detail: str) -> FieldError:
    return FieldError("", "invalid_value", path.name, params={"detail": detail})
