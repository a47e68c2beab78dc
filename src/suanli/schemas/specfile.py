"""Job spec files: YAML text to a validated JobSpec, with every error named by field."""

from __future__ import annotations

from typing import Any

from suanli.domain.spec import MAX_SPEC_BYTES, JobSpec
from suanli.schemas.validation import load_yaml_mapping, validate_model


def parse_spec_text(text: str | bytes, source: str = "<spec>") -> JobSpec:
    """Parse and validate a YAML job spec; raise InvalidInput (field, value, allowed)."""
    data = load_yaml_mapping(text, source, MAX_SPEC_BYTES, "job spec")
    return validate_model(JobSpec, data, source, "invalid_spec")


def parse_spec_data(data: Any, source: str = "<spec>") -> JobSpec:
    """Validate an already-decoded spec (an API body)."""
    return validate_model(JobSpec, data, source, "invalid_spec")
