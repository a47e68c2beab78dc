"""Service spec files: YAML text to a validated ServiceSpec, every error named by field.

Parsed by the same bounded loader as job specs (size limit first, no aliases, bounded
depth, plain tags only, a mapping at the top; schemas/bounded.py). The service spec's own rules (max below min, tenants and visibility, $PORT)
carry their own message codes (domain/i18n_serving.py), said in zh-CN and en.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.service_spec import MAX_SERVICE_SPEC_BYTES, ServiceSpec
from suanli.schemas.bounded import check_tree
from suanli.schemas.validation import field_error, field_path, load_yaml_mapping

CODE = "invalid_service_spec"


def parse_service_text(text: str | bytes, source: str = "<service>") -> ServiceSpec:
    """Parse and validate a YAML service spec; raise InvalidInput (field, value, allowed)."""
    data = load_yaml_mapping(text, source, MAX_SERVICE_SPEC_BYTES, "service spec")
    return _validated(data, source)


def parse_service_data(data: Any, source: str = "<service>") -> ServiceSpec:
    """Validate an already-decoded service spec (an API body, an SDK call's mapping):
    bounded as a YAML file is (depth, strings, integers) before the model sees it."""
    check_tree(data, source)
    return _validated(data, source)


def _validated(data: Any, source: str) -> ServiceSpec:
    try:
        return ServiceSpec.model_validate(data)
    except ValidationError as exc:
        errors = [_error(e) for e in exc.errors(include_url=False)]
        raise InvalidInput(CODE, errors=errors, source=source) from None


def _error(err: Any) -> FieldError:
    kind: str = err["type"]
    if kind.startswith("service."):
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | str)}
        return FieldError(field_path(tuple(err["loc"])), kind, err.get("input"), params=ctx)
    return field_error(ServiceSpec, err)
