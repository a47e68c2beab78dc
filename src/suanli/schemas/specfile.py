"""Job spec files and submission bodies: bytes to a validated JobSpec, every error named by
field. The one place a submission is parsed (the API, its fast path and the CLI use it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suanli.domain.errors import FieldError, InputTooLarge, InvalidInput
from suanli.domain.spec import MAX_SPEC_BYTES, JobSpec
from suanli.schemas.api import SubmitJobRequest
from suanli.schemas.bounded import check_tree, load_json
from suanli.schemas.validation import load_yaml_mapping, validate_model


def parse_spec_text(text: str | bytes, source: str = "<spec>") -> JobSpec:
    """Parse and validate a YAML job spec; raise InvalidInput (field, value, allowed)."""
    data = load_yaml_mapping(text, source, MAX_SPEC_BYTES, "job spec")
    return _bounded(validate_model(JobSpec, data, source, "invalid_spec"), source)


def parse_spec_data(data: Any, source: str = "<spec>") -> JobSpec:
    """Validate an already-decoded spec (an API body, an SDK call's mapping)."""
    check_tree(data, source)
    return _bounded(validate_model(JobSpec, data, source, "invalid_spec"), source)


def _bounded(spec: JobSpec, source: str) -> JobSpec:
    # The limit holds for what is stored, however the spec was written (JSON or YAML).
    size = len(spec.model_dump_json(exclude_none=True))
    if size > MAX_SPEC_BYTES:
        params = {"size": size, "limit": MAX_SPEC_BYTES}
        raise InputTooLarge(
            "spec_too_large",
            errors=[FieldError("spec", "spec_too_large", params=params)],
            source=source,
            **params,
        )
    return spec


@dataclass(frozen=True)
class ParsedSubmission:
    """A submission body read and its spec validated (nothing about the fleet checked yet)."""

    spec: JobSpec
    cluster: str | None
    tenant: str | None
    source: str


def parse_submission(raw: bytes) -> ParsedSubmission:
    """The body of ``POST /api/v1/jobs``: bounded JSON, the wire model, then the spec."""
    body = validate_model(
        SubmitJobRequest, load_json(raw, "request"), "request", "invalid_request"
    )
    source = body.source or "request"
    if (body.spec is None) == (body.spec_yaml is None):
        raise InvalidInput(
            "invalid_request",
            errors=[FieldError("spec", "not_allowed", None, "exactly one of spec or spec_yaml")],
        )
    spec = (
        parse_spec_text(body.spec_yaml, source)
        if body.spec_yaml is not None
        else parse_spec_data(body.spec, source)
    )
    return ParsedSubmission(spec, body.cluster, body.tenant, source)
