"""The job spec: what a tenant asks for, validated field by field at the edge.

The models are strict (unknown fields are refused) and bounded (no count, string or
list without a limit), so a bad or hostile spec is refused before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator
from pydantic_core import PydanticCustomError

from suanli.domain.accelerators import STACKS

MAX_SPEC_BYTES = 256 * 1024
MAX_NODES = 256
MAX_ACCELERATORS_PER_NODE = 16
MAX_SCRIPT_CHARS = 64 * 1024
MILLI = 1000  # one whole accelerator in shares of a thousandth
COUNT_ALLOWED = (
    f"a whole number from 1 to {MAX_ACCELERATORS_PER_NODE}, "
    "or a share of one accelerator from 0.001 to 0.999 in steps of 0.001"
)

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$", max_length=63)]
# An OCI image reference: [registry/]name(:tag|@sha256:digest|:tag@sha256:digest); without a
# registry (no "." or ":" in the first part, not localhost) it comes from the region's mirror.
IMAGE_REF = re.compile(
    r"^(?:(?P<registry>(?:[a-z0-9-]+\.)*[a-z0-9-]+(?::[0-9]{1,5})?)/(?=.))?"
    r"(?P<name>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
IMAGE_ALLOWED = (
    "[registry/]name:tag or [registry/]name@sha256:<64 hex digits> "
    "(lower-case name parts separated by /; e.g. suanli/python:3.11)"
)
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
Stack = Literal["cuda", "cann", "neuware", "dtk", "xpu", "maca", "musa", "corex", "tops", "cpu"]
if set(typing.get_args(Stack)) != set(STACKS):
    raise RuntimeError("Stack literal and STACKS disagree")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AcceleratorRequest(_Strict):
    """Which accelerators, per node: exact model, any-of list, or minimums.

    ``count`` below 1 asks for a share of one accelerator (HAMi-style sharing): ``0.5`` is
    half its compute and half its device memory, on one accelerator that other shares
    may use too. A count of 1 or more is whole accelerators.
    """

    model: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=32
    )
    count: float = Field(default=1, gt=0, le=MAX_ACCELERATORS_PER_NODE)
    min_memory_gb: float | None = Field(default=None, gt=0, le=4096)
    min_tflops: float | None = Field(default=None, gt=0, le=100_000)

    @field_validator("model", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("count")
    @classmethod
    def _whole_or_share(cls, value: float) -> float:
        whole = value >= 1 and value == int(value)
        share = value < 1 and abs(value * MILLI - round(value * MILLI)) < 1e-9
        if not (whole or share):
            raise PydanticCustomError("not_allowed", "not allowed", {"allowed": COUNT_ALLOWED})
        return int(value) if whole else round(value * MILLI) / MILLI

    @field_serializer("count")
    def _count_out(self, value: float) -> int | float:
        return int(value) if value >= 1 else value

    @property
    def share_milli(self) -> int:
        """Thousandths of one accelerator each node's accelerators give: 1000 when whole."""
        return MILLI if self.count >= 1 else round(self.count * MILLI)

    @property
    def whole(self) -> int:
        """Accelerators each node hands to the job, a shared one counted as one."""
        return int(self.count) if self.count >= 1 else 1


class Resources(_Strict):
    """Per-node shape and the number of nodes (a gang: all nodes or none)."""

    accelerator: AcceleratorRequest | None = None
    nodes: int = Field(default=1, ge=1, le=MAX_NODES)
    cpus: int = Field(default=1, ge=1, le=1024)
    memory_gb: int = Field(default=1, ge=0, le=16384)


class DataInput(_Strict):
    """A dataset the job reads, and where it lives (data movement costs and takes time)."""

    name: Name
    uri: str = Field(pattern=r"^[a-z][a-z0-9+.-]*://\S+$", max_length=2048)
    region: str = Field(min_length=1, max_length=64)
    size_gb: float = Field(ge=0, le=10_000_000)


RetryCause = Literal["lost", "failed"]


class RetryPolicy(_Strict):
    """How often suanli starts the job again, and after what."""

    max_attempts: int = Field(default=3, ge=1, le=20)
    when: list[RetryCause] = Field(
        default_factory=lambda: list[RetryCause](["lost"]), max_length=2
    )


MAX_CHECKPOINT_MINUTES = 7 * 24 * 60  # a week: longer is no checkpoint a restart could use


class Checkpoint(_Strict):
    """The job saves its state and resumes from it: a preempted or lost attempt is not work
    thrown away. Like Slurm's ``--requeue`` with a checkpointing program, SkyPilot's managed
    jobs or dstack's retries with a volume, suanli only keeps the place: every attempt sees
    the same ``SUANLI_CHECKPOINT_DIR`` (``SUANLI_ATTEMPT`` says which attempt it is), and the
    program saves and loads there.

    ``every_minutes``: how often the program saves on its own; None: only when told to stop
    (SIGTERM, within the queue's grace period). The queue preempts a running job for a
    better-ranked one only when it declares this (see ``scheduler.queueing.admission``).
    """

    every_minutes: float | None = Field(default=None, ge=1, le=MAX_CHECKPOINT_MINUTES)


class JobSpec(_Strict):
    """A job as the tenant describes it (YAML file, API body or SDK call)."""

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    resources: Resources = Field(default_factory=Resources)
    stacks: list[Stack] | None = Field(default=None, max_length=len(STACKS))
    frameworks: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=16
    )
    regions: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=32
    )
    domestic_only: bool = False
    inputs: list[DataInput] = Field(default_factory=list, max_length=32)
    image: str | None = Field(default=None, max_length=512)
    setup: str | None = Field(default=None, max_length=MAX_SCRIPT_CHARS)
    run: str = Field(min_length=1, max_length=MAX_SCRIPT_CHARS)
    env: dict[EnvName, Annotated[str, Field(max_length=8192)]] = Field(
        default_factory=dict, max_length=128
    )
    estimated_hours: float | None = Field(default=None, gt=0, le=8760)
    # What kind of work this is, for the fleet's throughput table (e.g. Gavel's
    # "ResNet-50 (batch size 64)@1"): run time on each model follows the measured speeds of
    # this class; a class the table does not know runs at the models' dense-TFLOPS ratio.
    job_class: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    time_limit_hours: float = Field(default=24, gt=0, le=8760)
    budget_yuan: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=2)
    deadline: AwareDatetime | None = None
    priority: int = Field(default=50, ge=0, le=100)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    checkpoint: Checkpoint | None = None  # None: an attempt starts from zero
    objective: Literal["cost", "time"] = "cost"

    @field_validator("image")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = IMAGE_REF.match(value)
        if found is None or not (found["tag"] or found["digest"]):
            raise PydanticCustomError("not_allowed", "not allowed", {"allowed": IMAGE_ALLOWED})
        return value

    @property
    def resumes(self) -> bool:
        """Whether a later attempt resumes the work of earlier ones (it checkpoints)."""
        return self.checkpoint is not None

    @property
    def accelerators_per_node(self) -> int:
        """Accelerator slots the job takes on each node (a shared one counts as one)."""
        acc = self.resources.accelerator
        return acc.whole if acc else 0

    @property
    def share_milli(self) -> int:
        """Thousandths of each accelerator the job takes: 1000 unless it asks for a share."""
        acc = self.resources.accelerator
        return acc.share_milli if acc else 0

    @property
    def is_fractional(self) -> bool:
        return 0 < self.share_milli < MILLI

    @property
    def total_accelerators(self) -> int:
        return self.accelerators_per_node * self.resources.nodes

    @property
    def accelerator_units(self) -> Decimal:
        """Accelerators priced for the whole job: a share counts as its fraction of one."""
        return Decimal(self.share_milli * self.total_accelerators) / MILLI

    @property
    def time_limit(self) -> dt.timedelta:
        return dt.timedelta(hours=self.time_limit_hours)
