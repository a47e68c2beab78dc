"""Repository protocols for organisations, users, API tokens and the audit log."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Protocol

from suanli.domain.access import ApiToken, AuditEvent, Organisation, User


class AccessStore(Protocol):
    def add_organisation(self, org: Organisation) -> bool:
        """Insert unless the name is taken; True when this call inserted it."""
        ...

    def organisation(self, name: str) -> Organisation | None: ...

    def organisations(self) -> builtins.list[Organisation]: ...

    def add_user(self, user: User) -> bool:
        """Insert unless the name is taken; True when this call inserted it."""
        ...

    def user(self, name: str) -> User | None: ...

    def users(self, organisation: str | None = None) -> builtins.list[User]: ...

    def add_token(self, token: ApiToken) -> None: ...

    def token(self, token_id: str) -> tuple[ApiToken, User] | None:
        """The token and its user, or None."""
        ...

    def tokens(
        self, user: str | None = None, organisation: str | None = None
    ) -> builtins.list[ApiToken]:
        """Tokens (hashes only), newest first, optionally of one user or organisation."""
        ...

    def revoke_token(self, token_id: str, at: dt.datetime) -> bool:
        """Mark the token revoked (once); True when this call revoked it."""
        ...


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def events(
        self,
        actor: str | None = None,
        organisation: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[AuditEvent]:
        """Newest first."""
        ...
