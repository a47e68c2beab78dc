"""The job list as the thin client reads it, without pydantic.

`suanli status` lists jobs more than anything else is run; building the API's pydantic
models costs it more than everything else it does (about 0.3 s CPU, bench/cli_speed.py). So
the list is read into these plain rows, field for field the API's ``JobSummary`` and
``JobListResponse`` (tests/unit/test_cli_speed_paths.py keeps them equal); everything else
the client reads is the API's own models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any


class WireShapeError(ValueError):
    """The server's answer is not the job list this client knows."""


def _time(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireShapeError(f"{name}: {value!r} is not a time")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise WireShapeError(f"{name}: {value!r} is not a time") from None


def _text(value: Any, name: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise WireShapeError(f"{name}: {value!r} is not text")
    return value


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireShapeError(f"{name}: {value!r} is not a whole number")
    return value


@dataclass(frozen=True)
class JobRow:
    """One job in a list: ``suanli.schemas.api.JobSummary``'s fields."""

    id: str
    name: str
    tenant: str
    status: str
    attempt: int
    accelerator: str | None
    cluster: str | None
    pool: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def read(cls, data: Any) -> JobRow:
        if not isinstance(data, dict):
            raise WireShapeError(f"job: {data!r} is not an object")
        submitted = _time(data.get("submitted_at"), "submitted_at")
        updated = _time(data.get("updated_at"), "updated_at")
        if submitted is None or updated is None:
            raise WireShapeError("submitted_at and updated_at are required")
        return cls(
            id=_text(data.get("id"), "id"),
            name=_text(data.get("name"), "name"),
            tenant=_text(data.get("tenant"), "tenant"),
            status=_text(data.get("status"), "status"),
            attempt=_int(data.get("attempt"), "attempt"),
            accelerator=_text(data.get("accelerator"), "accelerator", optional=True),
            cluster=_text(data.get("cluster"), "cluster", optional=True),
            pool=_text(data.get("pool"), "pool", optional=True),
            submitted_at=submitted,
            updated_at=updated,
            started_at=_time(data.get("started_at"), "started_at"),
            finished_at=_time(data.get("finished_at"), "finished_at"),
        )


@dataclass(frozen=True)
class JobPage:
    """A page of the job list: ``suanli.schemas.api.JobListResponse``'s fields, and the
    server's JSON as sent (what ``--json`` prints)."""

    jobs: list[JobRow]
    total: int
    limit: int
    offset: int
    sent: dict[str, Any]

    @classmethod
    def read(cls, data: Any) -> JobPage:
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise WireShapeError("the job list is not an object with a list of jobs")
        return cls(
            jobs=[JobRow.read(j) for j in data["jobs"]],
            total=_int(data.get("total"), "total"),
            limit=_int(data.get("limit"), "limit"),
            offset=_int(data.get("offset"), "offset"),
            sent=data,
        )


def wire_fields(cls: type[Any]) -> set[str]:
    return {f.name for f in fields(cls)} - {"sent"}
