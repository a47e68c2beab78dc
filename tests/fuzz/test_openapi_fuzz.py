"""Schemathesis against the OpenAPI document, in-process (bounded): no 5xx, no schema drift.

As the operator (who reaches every route: the widest surface for bad input) and as a
tenant admin. Checked besides the answers' conformance: schema-valid requests are not
refused (ST202) unless the refusal is a rule the schema cannot state (suanli.api.rules,
written into the document), schema-violating ones are not accepted (ST201), and a 405 names
every method of its path. bench/openapi_conformance.py runs the same over a real server
with every phase and prints the counts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.api.rules import UNSTATED_RULES
from suanli.domain.access import Role
from suanli.service.bootstrap import open_platform
from tests.access import operator_token, token_for

_DIR = Path(tempfile.mkdtemp(prefix="suanli-fuzz-"))
_PLATFORM = open_platform(_DIR / "data", detect_gpus=False)
_TOKENS = {
    "operator": operator_token(_PLATFORM),
    "tenant admin": token_for(_PLATFORM, "ada", Role.TENANT_ADMIN, "demo"),
}
_APP = create_app(_PLATFORM, run_loop=False, limits=ApiLimits(1e6, 1e6, 10**6))

# Bounded: the fuzzing phase only (the coverage and stateful phases take minutes here; the
# bench runs them), a fixed seed. Left out: ignored query strings and /healthz being public.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261123,
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "checks": {"ignored_auth": {"enabled": False}},
        "operations": [
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                    }
                },
            }
            for name in UNSTATED_RULES
        ],
    }
)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _APP, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_answers_every_generated_request_within_its_schema(
    case: schemathesis.Case[Any],
) -> None:
    for token in _TOKENS.values():
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
