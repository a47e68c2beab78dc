"""Tokens for tests: the embedded default's operator, and users of every role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from suanli.domain.access import ALL_SCOPES, OrgKind, Principal, Role, Scope
from suanli.service import access
from suanli.service.deps import Platform

OPERATOR = Principal("operator", Role.OPERATOR, "platform", "", ALL_SCOPES)


def operator_token(platform: Platform) -> str:
    path, _ = access.ensure_operator_token(platform, platform.data_dir)
    return path.read_text().strip()


def signed_in(client: TestClient, platform: Platform) -> TestClient:
    """``client`` sending the operator's token on every request."""
    client.headers["Authorization"] = f"Bearer {operator_token(platform)}"
    return client


def token_for(
    platform: Platform,
    user: str,
    role: Role,
    organisation: str,
    scopes: frozenset[Scope] = ALL_SCOPES,
) -> str:
    """A user of ``role`` in ``organisation`` (both made when missing) and a fresh token."""
    kind = {
        Role.OPERATOR: OrgKind.PLATFORM,
        Role.PROVIDER_ADMIN: OrgKind.PROVIDER,
    }.get(role, OrgKind.TENANT)
    store = access.store(platform)
    if store.organisation(organisation) is None:
        access.add_organisation(platform, OPERATOR, organisation, kind)
    if store.user(user) is None:
        access.add_user(platform, OPERATOR, user, organisation, role)
    return access.issue_token(platform, OPERATOR, user, scopes).text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
