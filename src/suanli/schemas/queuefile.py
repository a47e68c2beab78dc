"""The fair queue's knobs as files give them (a tenants file's and a sim scenario's ``queue``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QueueEntry(BaseModel):
    """``suanli.scheduler.queueing.QueueSettings``, checked at the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_s: float = Field(default=30.0, ge=0, le=86_400)
    min_run_s: float = Field(default=600.0, ge=0, le=86_400 * 30)
    backfill: bool = True
    aging_s: float = Field(default=4 * 3600.0, ge=0, le=86_400 * 365)
    # Backfill with reservations (estimated hours, time limits). Unset: on in the live
    # server, whose specs carry estimates and limits; off in replays, whose traces carry
    # neither (and whose oracle baselines are the published ones, without reservations).
    reserve: bool | None = None
