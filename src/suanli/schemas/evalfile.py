"""The result an evaluation job prints (``suanli.evalsuite``), read back bounded and strict.

The job's output is the platform's only channel from the job: the last line that starts
with ``SUANLI-EVAL-RESULT `` is parsed and validated here; anything else in the log is
ignored. A missing, oversized or malformed line is an InvalidInput naming the field.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from suanli.domain.errors import FieldError, InvalidInput
from suanli.schemas.validation import validate_model

RESULT_PREFIX = b"SUANLI-EVAL-RESULT "  # suanli.evalsuite.RESULT_PREFIX, as bytes
MAX_RESULT_BYTES = 512 * 1024
_CODE = "invalid_eval_result"
Text = Field(default="", max_length=2000)
Status = Literal["passed", "failed", "skipped"]
Suite = Literal["micro", "models", "conformance"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EvalItem(_Wire):
    name: str = Field(min_length=1, max_length=100)
    kind: Suite
    framework: str = Field(min_length=1, max_length=40)
    status: Status
    value: float | None = Field(default=None, ge=0, le=1e15)
    unit: str | None = Field(default=None, max_length=40)
    detail: str = Text
    cv: float | None = Field(default=None, ge=0, le=100)
    job_class: str | None = Field(default=None, max_length=200)
    op: str | None = Field(default=None, max_length=40)
    dtype: str | None = Field(default=None, max_length=16)
    tolerance: float | None = Field(default=None, ge=0, le=1)
    # How far the figure can be trusted (``suanli.evalsuite.host.steadiness``): whether the
    # suite judged it steady, the standard error of its median and the hypervisor's stolen
    # share, both fractions. Absent from results older than the flag: not judged.
    steady: StrictBool | None = None
    error: float | None = Field(default=None, ge=0, le=100)
    steal: float | None = Field(default=None, ge=0, le=1)


class EvalHardware(_Wire):
    backend: Literal["cpu", "cuda", "npu"]
    device: str = Field(min_length=1, max_length=200)
    count: int = Field(ge=0, le=1024)
    threads: int = Field(ge=0, le=100_000)
    driver: str | None = Field(default=None, max_length=64)
    notes: list[str] = Field(default_factory=list, max_length=10)


class EvalSoftware(_Wire):
    python: str = Field(max_length=40)
    numpy: str = Field(max_length=40)
    blas: str | None = Field(default=None, max_length=100)
    os: str = Field(default="", max_length=120)
    machine: str = Field(default="", max_length=40)
    torch: str | None = Field(default=None, max_length=60)
    cuda: str | None = Field(default=None, max_length=40)
    torch_npu: str | None = Field(default=None, max_length=60)


class EvalOutput(_Wire):
    format: Literal["suanli/eval-result/v1"]
    suites: list[Suite] = Field(min_length=1, max_length=3)
    hardware: EvalHardware
    software: EvalSoftware
    items: list[EvalItem] = Field(max_length=1000)
    seconds: float = Field(ge=0, le=1e7)


def parse_eval_output(log: bytes, source: str) -> EvalOutput:
    """The last result line of a job's output; InvalidInput when there is none or it is bad."""
    found = None
    for line in log.splitlines():
        if line.startswith(RESULT_PREFIX):
            found = line[len(RESULT_PREFIX) :]
    if found is None:
        raise InvalidInput(
            _CODE,
            errors=[FieldError("(output)", "missing", None, "a SUANLI-EVAL-RESULT line")],
            source=source,
        )
    if len(found) > MAX_RESULT_BYTES:
        raise InvalidInput(
            _CODE,
            errors=[
                FieldError(
                    "(output)",
                    "too_large",
                    params={"what": "result line", "size": len(found), "limit": MAX_RESULT_BYTES},
                )
            ],
            source=source,
        )
    try:
        data: Any = json.loads(found)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _CODE,
            errors=[FieldError("(output)", "invalid_value", "", params={"detail": str(exc)})],
            source=source,
        ) from None
    return validate_model(EvalOutput, data, source, _CODE)
