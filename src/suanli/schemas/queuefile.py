"""The fair queue's knobs as files give them (a tenants file's and a sim scenario's ``queue``)."""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    # The default policy's constants (``scheduler/queueing/model.py`` says what each was
    # chosen on); unset: those defaults.
    levels_s: list[Annotated[float, Field(gt=0, le=1e9)]] | None = Field(
        default=None, min_length=1, max_length=8
    )
    preempt_gain: float | None = Field(default=None, ge=1, le=1e6)
    guard_s: float | None = Field(default=None, ge=0, le=86_400 * 365)
    guard_gain: float | None = Field(default=None, ge=1, le=1e3)
    move_gain: float | None = Field(default=None, ge=1, le=100)

    @field_validator("levels_s")
    @classmethod
    def _increasing(cls, levels: list[float] | None) -> list[float] | None:
        if levels is not None and any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError("levels_s must increase (service levels, lowest first)")
        return levels
