"""The fair queue's knobs as files give them (a tenants file's and a sim scenario's ``queue``)."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

# The queue policies a file may name: ``QUEUE_POLICIES``' names (a test keeps them equal;
# schemas may not import the scheduler).
PolicyName = Literal[
    "default", "las", "fifo", "sjf", "srtf", "fifo-agnostic", "las-plain", "las2d", "qssf"
]


MAX_RESTART_PRICE = 1_000.0  # a bound on input (past it the price never pays), not tuned


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
    quanta: bool | None = None
    # The price of restarting running work that does not checkpoint (``restart.py``): a
    # factor on the service a restart throws away, or "never" (ADR 0002's rule).
    restart_price: float | Literal["never"] | None = None
    # The policy that ranks work (``default``: the shipped one; the others are baselines
    # to compare with, ``sjf``/``srtf`` need run-time estimates).
    policy: PolicyName = "default"
    # Tiresias' 2D-LAS (``las2d``): queue thresholds and starvation knob; unset: the
    # published ones (``scheduler/queueing/model.py``).
    las2d_levels_s: list[Annotated[float, Field(gt=0, le=1e9)]] | None = Field(
        default=None, min_length=1, max_length=8
    )
    las2d_promote: float | None = Field(default=None, ge=0, le=1e6)

    @field_validator("restart_price", mode="before")
    @classmethod
    def _price(cls, value: object) -> object:
        # One refusal naming what is allowed, not one per member of the union.
        if value is None or value == "never":
            return value
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not 0 <= float(value) <= MAX_RESTART_PRICE:  # type: ignore[arg-type]
            raise PydanticCustomError(
                "not_allowed",
                "not a restart price",
                {"allowed": f"a number from 0 to {MAX_RESTART_PRICE:g}, or never"},
            )
        return float(value)  # type: ignore[arg-type]

    @field_validator("levels_s", "las2d_levels_s")
    @classmethod
    def _increasing(cls, levels: list[float] | None) -> list[float] | None:
        if levels is not None and any(b <= a for a, b in itertools.pairwise(levels)):
            # Said as the edge says every refusal: field, value, what is allowed (zh/en).
            raise PydanticCustomError(
                "not_allowed",
                "levels must increase",
                {"allowed": "increasing service levels, lowest first"},
            )
        return levels
