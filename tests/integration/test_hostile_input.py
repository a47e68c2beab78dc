"""Issue 17's findings through a real server (uvicorn in a thread, one keep-alive connection):
each hostile request answered 4xx in the project's error shape, naming the field, storing
nothing, and the same connection still answering afterwards."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.api.server import DeadlineProtocol
from suanli.domain.access import Role
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from tests.access import bearer, operator_token, token_for
from tests.conftest import wait_until

GOOD = {"name": "ok", "run": "true"}
Connect = Callable[[], http.client.HTTPConnection]


class QuickDeadlines(DeadlineProtocol):
    headers_s = 0.5
    body_s = 0.5


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Platform]]:
    platform = open_platform(tmp_path_factory.mktemp("hostile") / "data", detect_gpus=False)
    app = create_app(platform, run_loop=False, limits=ApiLimits(bad_token_burst=5))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=QuickDeadlines, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    yield port, platform
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def connect(served: tuple[int, Platform]) -> Iterator[Callable[[], http.client.HTTPConnection]]:
    """Keep-alive connections to the server, closed after the test."""
    opened: list[http.client.HTTPConnection] = []

    def open_one() -> http.client.HTTPConnection:
        opened.append(http.client.HTTPConnection("127.0.0.1", served[0], timeout=30))
        return opened[-1]

    yield open_one
    for conn in opened:
        conn.close()


@pytest.fixture(scope="module")
def member(served: tuple[int, Platform]) -> str:
    return token_for(served[1], "mallory", Role.TENANT_MEMBER, "demo")


def call(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, token: str = ""
) -> tuple[int, dict[str, Any], dict[str, str]]:
    raw = (
        body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn.request(method, path, body=raw, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    return answer.status, json.loads(data) if data else {}, dict(answer.getheaders())


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


HOSTILE = [  # (body, status, field the error names)
    (b'{"spec": ' + deep_object(5000).encode() + b"}", 422, "spec" + ".a" * 31),
    (
        b'{"spec": {"name": "x", "run": "y", "env": {"A": ' + deep_object(1000).encode() + b"}}}",
        422,
        "spec.env.A" + ".a" * 29,  # past JSON's own depth guard, still named by field
    ),
    (b'{"spec": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 422, "spec" + "[0]" * 31),
    (
        b'{"spec": {"name": "x", "run": "y", "priority": ' + b"9" * 4301 + b"}}",
        422,
        "spec.priority",
    ),
    ({"spec_yaml": "name: x\nrun: y\npriority: " + "9" * 4301 + "\n"}, 422, "priority"),
    ({"spec_yaml": "name: x\nrun: y\ndeadline: 2026-02-30T00:00:00Z\n"}, 422, "deadline"),
    ({"spec_yaml": "name: x\nrun: y\ndeadline: 9999-99-99\n"}, 422, "deadline"),
    ({"spec_yaml": "name: x\nrun: y\ndeadline: 0000-01-01T00:00:00Z\n"}, 422, "deadline"),
    ({"spec": {**GOOD, "deadline": "2026-02-30T00:00:00Z"}}, 422, "deadline"),
    (b'{"spec_yaml": "name: x\\nrun: \\ud800\\n"}', 422, "spec_yaml"),
    (b'{"spec": {"name": "x", "run": "\\ud800"}}', 422, "spec.run"),
    ({"spec": {**GOOD, "env": {"A": "x\x00y"}}}, 422, "spec.env.A"),
    ({"spec": {"name": "x", "run": "a\x00b"}}, 422, "spec.run"),
    ({"spec_yaml": "name: x\nrun: y\nname: z\n"}, 422, "name"),
    ({"spec_yaml": "a: &a [x, x]\nb: [*a, *a]\n"}, 422, "b[0]"),
    (
        {
            "spec": {
                **GOOD,
                "description": "d" * 1000,
                "frameworks": ["f" * 64] * 16,
                "env": {f"V{i}": "v" * 8192 for i in range(40)},
            }
        },
        413,
        "spec",
    ),
    ({}, 422, "spec"),
]


@pytest.mark.parametrize(
    ("body", "status", "field"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))]
)
def test_a_hostile_submission_is_refused_and_the_connection_still_answers(
    connect: Connect, served: tuple[int, Platform], member: str, body: Any, status: int, field: str
) -> None:
    platform = served[1]
    before = platform.jobs.count(None, "demo", None)
    conn = connect()
    got, answer, _ = call(conn, "POST", "/api/v1/jobs", body, member)
    assert got == status, answer
    error = answer["error"]
    assert error["code"]
    assert error["message"]
    assert [e["field"] for e in error["errors"]][:1] == [field or "(document)"]
    assert all(e["message"] for e in error["errors"])
    assert call(conn, "GET", "/healthz")[0] == 200  # the same keep-alive connection
    assert platform.jobs.count(None, "demo", None) == before  # nothing stored


def test_refusals_speak_chinese_when_asked(
    connect: Connect, served: tuple[int, Platform], member: str
) -> None:
    conn = connect()
    body = json.dumps({"spec_yaml": "name: x\nrun: y\nname: z\n"}).encode()
    conn.request(
        "POST",
        "/api/v1/jobs",
        body,
        {
            "Authorization": f"Bearer {member}",
            "Accept-Language": "zh-CN",
            "Content-Type": "application/json",
        },
    )
    error = json.loads(conn.getresponse().read())["error"]
    assert "第 3 行" in error["errors"][0]["message"]


def test_an_offset_past_int64_is_refused(connect: Connect, served: tuple[int, Platform]) -> None:
    platform = served[1]
    conn = connect()
    token = operator_token(platform)
    for path in (
        "/api/v1/bills/demo?limit=1&offset=9223372036854775808",
        "/api/v1/tenants?offset=9223372036854775808",
        "/api/v1/jobs?offset=9223372036854775808",
    ):
        status, answer, _ = call(conn, "GET", path, token=token)
        assert status == 422, (path, answer)
        assert answer["error"]["errors"][0]["field"] == "query.offset"
    assert call(conn, "GET", "/healthz")[0] == 200


def test_a_token_never_outlives_the_token_that_makes_it(
    connect: Connect, served: tuple[int, Platform]
) -> None:
    platform = served[1]
    conn = connect()
    admin = token_for(platform, "ada", Role.TENANT_ADMIN, "demo")
    status, answer, _ = call(conn, "POST", "/api/v1/tokens", {"user": "ada", "days": 1}, admin)
    assert status == 201, answer
    short, short_expiry = answer["token"], answer["info"]["expires_at"]
    # Left out, days is 90 or what the maker's token has left: here, its own expiry.
    status, answer, _ = call(conn, "POST", "/api/v1/tokens", {"user": "ada"}, short)
    assert status == 201, answer
    assert answer["info"]["expires_at"] == short_expiry
    status, answer, _ = call(conn, "POST", "/api/v1/tokens", {"user": "ada", "days": 3650}, short)
    assert status == 422
    assert answer["error"]["errors"][0]["field"] == "days"
    assert answer["error"]["errors"][0]["allowed"] == "0"
    # Nor for a role above its own: a member's token makes no admin's.
    member_token = token_for(platform, "mo", Role.TENANT_MEMBER, "demo")
    status, _, _ = call(conn, "POST", "/api/v1/tokens", {"user": "ada", "days": 1}, member_token)
    assert status == 404  # another user's: not the member's to see


def test_unknown_tokens_are_limited_per_address(tmp_path: Path) -> None:
    # An application of its own: an address out of budget waits for every uncached token,
    # good ones too (the store is not asked before the limit), which other tests would feel.
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    good = bearer(token_for(platform, "ok", Role.TENANT_MEMBER, "demo"))
    app = create_app(platform, run_loop=False, limits=ApiLimits(bad_token_burst=5))
    with TestClient(app) as api:
        statuses = [
            api.get("/api/v1/jobs", headers=bearer(f"sl_nobody{i}_secret")).status_code
            for i in range(8)
        ]
        refused = api.get("/api/v1/jobs", headers=bearer("sl_nobody_secret"))
        other = api.get("/api/v1/jobs", headers={**good, "x-forwarded-for": "ignored"})
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3
    assert refused.json()["error"]["code"] == "access.bad_tokens"
    assert int(refused.headers["retry-after"]) >= 1
    assert other.status_code == 429  # same address, token not cached: not looked up either


def test_slow_headers_and_slow_bodies_are_cut_off(
    served: tuple[int, Platform], member: str
) -> None:
    port = served[0]
    slow_headers = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
    slow_body = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow_body.sendall(
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + member.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
    )
    for conn in (slow_headers, slow_body):
        answer = b""
        while chunk := conn.recv(4096):  # the server closes it: recv ends with b""
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer
        conn.close()


def test_a_large_valid_spec_is_taken_off_the_event_loop_and_stored(
    connect: Connect, served: tuple[int, Platform], member: str, tmp_path: Path
) -> None:
    conn = connect()
    env = "".join(f"  V{i}: '{'v' * 500}'\n" for i in range(100))
    status, answer, _ = call(
        conn, "POST", "/api/v1/jobs", {"spec_yaml": f"name: big\nrun: 'true'\nenv:\n{env}"}, member
    )
    assert status == 201, answer


OTHER_ROUTES = [  # (path, body): bodies FastAPI itself parses, for the operator
    ("/api/v1/tokens", b'{"user": ' + deep_object(5000).encode() + b"}"),
    ("/api/v1/tokens", b'{"user": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ("/api/v1/users", b'{"name": "\\ud800", "organisation": "demo", "role": "tenant_member"}'),
    ("/api/v1/users", b'{"name": ' + deep_object(900).encode() + b', "organisation": "x"}'),
    ("/api/v1/vouchers/quote", b'{"amount": ' + b"9" * 5000 + b', "domestic": true}'),
]


@pytest.mark.parametrize(("path", "body"), OTHER_ROUTES, ids=[str(i) for i in range(5)])
def test_hostile_bodies_on_other_routes_are_refused_not_crashed(
    connect: Connect, served: tuple[int, Platform], path: str, body: bytes
) -> None:
    conn = connect()
    status, answer, _ = call(conn, "POST", path, body, operator_token(served[1]))
    assert 400 <= status < 500, answer
    assert answer["error"]["code"]
    assert call(conn, "GET", "/healthz")[0] == 200
