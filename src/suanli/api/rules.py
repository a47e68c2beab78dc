"""Rules of the API that no JSON schema can state, written into the OpenAPI document.

A request may match an operation's schema and still be refused 422: a name that does not
exist, a rule across fields, a YAML text that is no job. Each such operation says so in its
422 answer's description (and in ``x-suanli-rules``), so a client, or a fuzzer such as
schemathesis (bench/openapi_conformance.py, tests/fuzz), knows which 422s are by design.
"""

from __future__ import annotations

from typing import Any

UNSTATED_RULES: dict[str, str] = {
    "POST /api/v1/jobs": "spec_yaml must be a job spec once read as YAML; the fleet must know "
    "the names it uses and have a pool that could run it; the tenant must exist",
    "POST /api/v1/tokens": "the user must exist; a token may not outlive the caller's token",
    "POST /api/v1/users": "the organisation must exist and be of the role's kind",
    "POST /api/v1/organisations": "a tenant or provider of that name must exist",
    "POST /api/v1/contracts": "the tenant and the base model must exist",
    "POST /api/v1/contracts/{contract_id}/redemptions": "the period must be one of the contract",
    "POST /api/v1/purchases": "the provider and the programme must exist",
    "POST /api/v1/voucher-claims": "the tenant and the programme must exist",
    "POST /api/v1/vouchers/quote": "the tenant must exist",
    "GET /api/v1/utilisation": "the provider must exist (the refusal lists those that do)",
    "POST /api/v1/programme-claims": "the tenant and the programme must exist, and the programme "
    "must take claims",
    "POST /api/v1/eval/runs": "the cluster, pool and tenant must exist in this fleet",
    "POST /api/v1/services": "exactly one of spec or spec_yaml, a service spec (spec_yaml once "
    "read as YAML); the fleet must know the names it uses and have a pool that could run a "
    "replica; the tenant must exist",
    "POST /api/v1/services/{name}/scale": "replicas within the service's replicas.min..max",
    "POST /api/v1/services/{name}/rollback": "the revision must exist",
    "GET /api/v1/usage": "the tenant must exist; a caller outside any tenant names one",
    "POST /api/v1/apikeys": "a burst only with rate_per_s; a caller outside any tenant names "
    "the tenant",
    "POST /api/v1/tenants": "the name must not be taken",
}


def write_rules(schema: dict[str, Any]) -> None:
    """Add each operation's unstated rules to its 422 answer in ``schema`` (in place)."""
    for name, rule in UNSTATED_RULES.items():
        method, path = name.split(" ", 1)
        operation = schema.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            continue
        operation["x-suanli-rules"] = rule
        answer = operation.setdefault("responses", {}).setdefault("422", {})
        answer["description"] = f"{answer.get('description', 'Refused')}; also when: {rule}"
