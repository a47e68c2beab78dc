"""The one authentication and authorisation dependency every route goes through.

``create_app`` installs ``authorise`` on the whole application, so a route is covered the
moment it is added. A route is open to the operator only unless it says otherwise:

    @router.get("/things")
    @open_to(*EVERYONE)                 # or open_to(Role.TENANT_MEMBER, ...), or @public
    def list_things(caller: CallerDep) -> ...:

Per-object rules (whose job, whose bill) are the services' business and take the caller.
The token comes as ``Authorization: Bearer`` or, for the web console, in the
``suanli_token`` cookie (set it HttpOnly, SameSite=Strict; a cookie-borne write from another
origin is refused). The token's scope is checked here: ``read`` for GET and HEAD, ``write`` for the rest
(``open_to(..., scope=Scope.READ)`` for a POST that changes nothing, such as a quote).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from suanli.api.limits import RateLimit
from suanli.api.rules import write_rules
from suanli.domain.access import ApiToken, Principal, Role, Scope, User, split_token
from suanli.domain.errors import FieldError, Forbidden, InvalidInput, Unauthenticated
from suanli.service import access
from suanli.service.deps import Platform

F = TypeVar("F", bound=Callable[..., Any])
AUDIENCE = "__suanli_audience__"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_COOKIE = "suanli_token"  # noqa: S105 - a cookie's name: the web console's token


@dataclass(frozen=True)
class Audience:
    roles: frozenset[Role]
    scope: Scope | None = None  # None: by method
    public: bool = False


OPERATOR_ONLY = Audience(frozenset({Role.OPERATOR}))
PUBLIC = Audience(frozenset(), public=True)


def open_to(*roles: Role, scope: Scope | None = None) -> Callable[[F], F]:
    """Let ``roles`` (and always the operator) call this route."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, AUDIENCE, Audience(frozenset(roles) | {Role.OPERATOR}, scope))
        return endpoint

    return mark


def public(endpoint: F) -> F:
    """No token needed (health checks)."""
    setattr(endpoint, AUDIENCE, PUBLIC)
    return endpoint


class TokenCache:
    """Tokens looked up in the last ``ttl_s`` seconds, so a request costs no extra query.

    The secret is checked against the stored hash on every request; a revocation reaches
    this process at once and every other API process within ``ttl_s``.
    """

    def __init__(self, platform: Platform, ttl_s: float = 2.0) -> None:
        self.platform = platform
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, tuple[ApiToken, User] | None]] = {}

    def principal(self, text: str | None) -> Principal:
        token_id, secret = self._split(text)
        return self._check(self._lookup(token_id), secret)

    async def principal_soon(
        self, text: str | None, before_lookup: Callable[[], None] | None = None
    ) -> Principal:
        """``principal``, asking the store (in a worker thread) only when the cache has not
        got the token: the common case costs no thread hop and no query. ``before_lookup``
        runs before the store is asked (and may refuse)."""
        token_id, secret = self._split(text)
        hit = self._cached(token_id)
        if hit is None and before_lookup is not None:
            before_lookup()
        found = hit[0] if hit else await anyio.to_thread.run_sync(self._lookup, token_id)
        return self._check(found, secret)

    def principal_if_cached(self, text: str) -> Principal | None:
        """The principal of ``text`` when the cache knows a usable token for it; None
        otherwise (not cached, unknown, wrong secret, expired, revoked: ask ``principal``)."""
        parts = split_token(text)
        hit = self._cached(parts[0]) if parts is not None else None
        if parts is None or hit is None or hit[0] is None:
            return None
        if not access.verify(hit[0][0], parts[1], self.platform.clock.now()):
            return None
        return access.principal_of(*hit[0])

    def _split(self, text: str | None) -> tuple[str, str]:
        if not text:
            raise Unauthenticated("access.unauthenticated")
        parts = split_token(text)
        if parts is None:
            raise Unauthenticated("access.bad_token")
        return parts

    def _check(self, found: tuple[ApiToken, User] | None, secret: str) -> Principal:
        # The secret, expiry and revocation are checked on every request, cached or not.
        if found is None or not access.verify(found[0], secret, self.platform.clock.now()):
            raise Unauthenticated("access.bad_token")
        return access.principal_of(*found)

    def forget(self, token_id: str) -> None:
        with self._lock:
            self._found.pop(token_id, None)

    def _cached(self, token_id: str) -> tuple[tuple[ApiToken, User] | None] | None:
        """(what the store said,) if it said it less than ``ttl_s`` ago; None otherwise."""
        now = self.platform.clock.monotonic()
        with self._lock:
            hit = self._found.get(token_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return (hit[1],)
        return None

    def _lookup(self, token_id: str) -> tuple[ApiToken, User] | None:
        hit = self._cached(token_id)
        if hit is not None:
            return hit[0]
        now = self.platform.clock.monotonic()
        found = access.store(self.platform).token(token_id)
        with self._lock:
            if len(self._found) > 10_000:
                self._found.clear()  # bounded: unknown ids must not grow it forever
            self._found[token_id] = (now, found)
        return found


BEARER_SCHEME = {  # in the OpenAPI document (see install_bearer_scheme)
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token: suanli token create",
    }
}


async def authorise(request: Request) -> Principal | None:
    """Authenticate the request and check the route's audience and the token's scope."""
    route = request.scope.get("route")
    audience: Audience = getattr(getattr(route, "endpoint", None), AUDIENCE, OPERATOR_ONLY)
    if audience.public:
        return None
    tokens: TokenCache = request.app.state.tokens
    # The Authorization header read here, not through a nested HTTPBearer dependency: each
    # dependency FastAPI solves costs on every request.
    bearer = bearer_token(request.scope)
    text = bearer if bearer is not None else request.cookies.get(TOKEN_COOKIE)
    if bearer is None and text and request.method not in READ_METHODS:
        _same_origin(request)
    principal = await _known(request, tokens, text)
    request.state.principal = principal  # for the audit log
    if request.scope.get("query_string"):
        _declared_query(request, route)
    request.app.state.rate.take(principal.token_id)
    action = f"{request.method} {route_template(request.scope)}"
    needed = audience.scope or (Scope.READ if request.method in READ_METHODS else Scope.WRITE)
    if needed not in principal.scopes:
        scopes = ",".join(sorted(s.value for s in principal.scopes))
        raise Forbidden("access.read_only", scopes=scopes, action=action)
    if principal.role not in audience.roles:
        raise Forbidden(
            "access.forbidden", user=principal.user, role=principal.role.value, action=action
        )
    return principal


async def _known(request: Request, tokens: TokenCache, text: str | None) -> Principal:
    """The caller of ``text``; an address that keeps sending unknown tokens is refused (429)
    before the store is asked again (see ApiLimits.bad_tokens_per_s)."""
    bad: RateLimit = request.app.state.bad_tokens
    address = request.client.host if request.client else ""
    try:
        return await tokens.principal_soon(text, lambda: bad.check(address))
    except Unauthenticated as exc:
        if exc.code == "access.bad_token":
            bad.take(address)
        raise


ANY_ROUTE_QUERY = frozenset({"lang"})  # read by every route (suanli.api.errors.request_lang)
_QUERY: dict[int, tuple[frozenset[str], frozenset[str]]] = {}  # route -> (names, lists)


def _declared_query(request: Request, route: Any) -> None:
    """Refuse a query parameter the route does not declare, or one given twice that takes
    one value (a typo or a repeat must not be silently ignored)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _QUERY.get(id(route))
    if known is None:
        names: set[str] = set(ANY_ROUTE_QUERY)
        lists: set[str] = set()
        todo = [dependant]
        while todo:
            d = todo.pop()
            for f in d.query_params:
                names.add(f.alias)
                if "list[" in str(f.field_info.annotation):
                    lists.add(f.alias)
            todo += d.dependencies
        known = _QUERY.setdefault(id(route), (frozenset(names), frozenset(lists)))
    names_, lists_ = known
    for name in request.query_params:
        if name not in names_:
            allowed = ", ".join(sorted(names_ - ANY_ROUTE_QUERY)) or "none"
            code = "extra_forbidden"
        elif name not in lists_ and len(request.query_params.getlist(name)) > 1:
            allowed, code = "one value", "not_allowed"
        else:
            continue
        raise InvalidInput(
            "invalid_request",
            errors=[FieldError(f"query.{name}", code, name, allowed)],
        )


def bearer_token(scope: MutableMapping[str, Any]) -> str | None:
    """The credentials of an ``Authorization: Bearer`` header, as HTTPBearer reads them."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                return str(credentials)
            return None
    return None


def install_bearer_scheme(app: FastAPI) -> None:
    """Name the bearer token in ``app``'s OpenAPI document, for every operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(
                BEARER_SCHEME
            )
            public_paths = {
                str(getattr(r, "path", ""))
                for r in app.routes
                if getattr(getattr(r, "endpoint", None), AUDIENCE, None) is PUBLIC
            }
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    # A public route (health) takes no token: it says so.
                    operation.setdefault(
                        "security", [] if path in public_paths else [{"HTTPBearer": []}]
                    )
            write_rules(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The matched route's path with its parameters named: ``/api/v1/jobs/{job_id}``."""
    params: dict[str, Any] = scope.get("path_params") or {}
    names = {str(v): k for k, v in params.items()}
    path = str(scope.get("path", ""))
    return "/".join("{" + names[part] + "}" if part in names else part for part in path.split("/"))


def _same_origin(request: Request) -> None:
    # A cookie rides along on any request the browser makes: a write must come from our page.
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("access.cross_origin", origin=origin)


async def _caller(principal: Annotated[Principal | None, Depends(authorise)]) -> Principal:
    if principal is None:  # a public route asked for its caller: there is none
        raise Unauthenticated("access.unauthenticated")
    return principal


CallerDep = Annotated[Principal, Depends(_caller)]


def caller_of(request: Request) -> Principal:
    """The caller ``authorise`` (run before every route) found, read without a dependency:
    for the hottest route, where each dependency FastAPI solves costs per request."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated("access.unauthenticated")
    return principal


def audiences(app: FastAPI) -> list[tuple[str, str, Audience]]:
    """(method, path, audience) of every API route of ``app``, for tests and documentation."""
    found: list[tuple[set[str], str, Any]] = []
    try:  # FastAPI ≥ 0.16x keeps included routers nested; this walks them
        from fastapi.routing import iter_route_contexts  # noqa: PLC0415 - newer FastAPI only

        found.extend(
            (set(c.methods or ()), str(c.path or ""), c.endpoint)
            for c in iter_route_contexts(app.routes)
        )
    except ImportError:
        found.extend(
            (set(r.methods or ()), r.path, r.endpoint)
            for r in app.routes
            if isinstance(r, APIRoute)
        )
    return [
        (method, path, getattr(endpoint, AUDIENCE, OPERATOR_ONLY))
        for methods, path, endpoint in found
        if path.startswith("/api/v1/") and not path.endswith(("/openapi.json", "/docs"))
        for method in sorted(methods - {"HEAD"})
    ]
