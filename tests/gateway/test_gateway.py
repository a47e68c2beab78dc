"""The gateway in front of real replica processes (tests.replica), over real HTTP.

Each test starts the replicas it needs and a gateway (uvicorn in a thread) over a real
platform (SQLite keys); routes are set by hand in a memory route table.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from suanli.domain.access import Principal, Role
from suanli.gateway.app import Gateway
from suanli.gateway.forward import GatewaySettings
from suanli.gateway.memory import MemoryLoadSink, MemoryRouteTable, MemoryUsageSink
from suanli.service import apikeys
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from tests.conftest import wait_until
from tests.gateway.serving import ReplicaProcess, replicas, route, served, tenants

ACME = Principal("ann", Role.TENANT_MEMBER, "acme", "t1", frozenset())
GLOBEX = Principal("gus", Role.TENANT_MEMBER, "globex", "t2", frozenset())
CHAT = "/v1/chat/completions"


class Rig:
    def __init__(self, tmp: Path, settings: GatewaySettings | None = None) -> None:
        self.platform: Platform = open_platform(tmp / "data", detect_gpus=False)
        self.table = MemoryRouteTable()
        self.usage = MemoryUsageSink()
        self.load = MemoryLoadSink()
        self.platform.route_table = self.table
        self.platform.usage_sink = self.usage
        self.platform.load_sink = self.load
        tenants(self.platform, "acme", "globex")
        self.gateway = Gateway(self.platform, settings or GatewaySettings(route_ttl_s=0.0))
        self.acme = apikeys.create_key(self.platform, ACME, "ci").text
        self.globex = apikeys.create_key(self.platform, GLOBEX, "ci").text

    def key(self, who: Principal = ACME, **kw: Any) -> str:
        return apikeys.create_key(self.platform, who, "more", **kw).text


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.platform.close()


def post(
    url: str, key: str, body: dict[str, Any], path: str = CHAT, lang: str = "en"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": lang}
    return httpx.post(url + path, json=body, headers=headers, timeout=30)


def chat(prompt: str = "hello there", **kw: Any) -> dict[str, Any]:
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 5,
        **kw,
    }


def stream(url: str, key: str, body: dict[str, Any]) -> list[dict[str, Any] | str]:
    """The events of a streamed answer, in order ("[DONE]" as a string)."""
    events: list[dict[str, Any] | str] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("POST", url + CHAT, json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_a_whole_answer_passes_through_and_is_metered_from_the_servers_usage(rig: Rig) -> None:
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        response = post(url, rig.acme, chat("one two three"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3 tok4 "
    assert answer["usage"]["completion_tokens"] == 5
    (event,) = rig.usage.events.values()
    assert event.request_id == response.headers["x-request-id"]
    assert (event.caller, event.service_id, event.model, event.status) == (
        "acme",
        "s1",
        "tiny",
        200,
    )
    assert (event.prompt_tokens, event.completion_tokens, event.counted_by) == (3, 5, "server")
    assert event.api_key_id == rig.acme[6:18]


def test_a_stream_passes_chunk_by_chunk_and_the_usage_asked_for_by_the_gateway_is_not_shown(
    rig: Rig,
) -> None:
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        plain = stream(url, rig.acme, chat("a b", stream=True))
        asked = stream(
            url, rig.acme, chat("a b", stream=True, stream_options={"include_usage": True})
        )
    words = [e["choices"][0]["delta"]["content"] for e in plain if isinstance(e, dict)]
    assert words == [f"tok{i} " for i in range(5)]
    assert plain[-1] == "[DONE]"
    assert not any(isinstance(e, dict) and "usage" in e for e in plain)
    assert [
        e["usage"]["completion_tokens"] for e in asked if isinstance(e, dict) and e.get("usage")
    ] == [5]
    assert [
        (e.completion_tokens, e.prompt_tokens, e.counted_by) for e in rig.usage.events.values()
    ] == [
        (5, 2, "server"),
        (5, 2, "server"),
    ]


def test_when_the_server_sends_no_usage_the_gateway_counts_what_was_generated(rig: Rig) -> None:
    with replicas(1, "--no-usage") as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        stream(url, rig.acme, chat(stream=True, max_tokens=7))
        post(url, rig.acme, chat(max_tokens=4))
    counted = sorted((e.completion_tokens, e.counted_by) for e in rig.usage.events.values())
    assert counted == [(4, "gateway"), (7, "gateway")]


def test_unknown_models_and_other_tenants_private_services_are_refused_alike(rig: Rig) -> None:
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        rig.table.put(
            route(
                "s2", "acme", "open", (r.endpoint("r1"),), served_name="open", visibility="public"
            )
        )
        theirs = post(url, rig.globex, chat())
        unknown = post(url, rig.globex, {**chat(), "model": "tinx"})
        public = post(url, rig.globex, {**chat(), "model": "open"})
        scoped = post(url, rig.key(services=["open"]), chat())
    assert theirs.status_code == unknown.status_code == scoped.status_code == 404
    assert theirs.json() == {
        "error": {
            "message": "the model 'tiny' does not exist or you do not have access to it",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert unknown.json()["error"]["message"] == theirs.json()["error"]["message"].replace(
        "tiny", "tinx"
    )
    assert public.status_code == 200


def test_bad_keys_bodies_and_fields_are_refused_in_openai_format(tmp_path: Path) -> None:
    rig = Rig(tmp_path, GatewaySettings(route_ttl_s=0.0, max_body_bytes=2_000))
    with served(rig.gateway) as url:
        missing = httpx.post(url + CHAT, json=chat(), timeout=30)
        forged = post(url, rig.acme[:-4] + "AAAA", chat())
        big = post(url, rig.acme, chat("x" * 3_000))
        zh = post(url, rig.acme, chat(stream="yes"), lang="zh-CN")
        no_model = post(url, rig.acme, {"messages": []})
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "missing_api_key")
    assert (forged.status_code, forged.json()["error"]["type"]) == (401, "authentication_error")
    assert (big.status_code, big.json()["error"]["code"]) == (413, "request_too_large")
    assert zh.status_code == 400
    assert zh.json()["error"]["param"] == "stream"
    assert "字段 'stream'" in zh.json()["error"]["message"]
    assert no_model.status_code == 400
    assert no_model.json()["error"]["param"] == "model"
    assert not rig.usage.events
    rig.platform.close()


def test_a_keys_rate_limit_answers_429_with_retry_after(rig: Rig) -> None:
    key = rig.key(rate_per_s=0.01, burst=2)
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        codes = [post(url, key, chat()) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["code"] == "rate_limit_exceeded"
    assert int(codes[2].headers["retry-after"]) >= 1


def test_every_replica_busy_at_max_is_429_and_below_max_a_replica_is_asked_for(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, GatewaySettings(route_ttl_s=0.0, replica_concurrency=1))
    with replicas(1) as (r,), served(rig.gateway) as url, ThreadPoolExecutor(2) as pool:
        rig.table.put(
            route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny", max_replicas=1)
        )
        slow = pool.submit(post, url, rig.acme, chat("slow"))
        wait_until(lambda: rig.gateway.balancer.outstanding.get("r1") == 1)
        busy = post(url, rig.acme, chat())
        rig.table.put(
            route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny", max_replicas=2)
        )
        held = pool.submit(post, url, rig.acme, chat())  # waits: the service may grow
        wait_until(lambda: rig.table.wanted)
        assert slow.result().status_code == 200
        assert held.result().status_code == 200  # answered once the slow one left
    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "service_saturated"
    assert busy.headers["retry-after"] == "1"
    assert {w[0] for w in rig.table.wanted} == {"s1"}  # asked again each second it waited
    rig.platform.close()


def test_scale_from_zero_holds_the_first_request_until_a_replica_is_ready(rig: Rig) -> None:
    started: list[ReplicaProcess] = []

    def start_one(service_id: str, _at: object) -> None:
        started.append(ReplicaProcess())
        rig.table.put(
            route(service_id, "acme", "tiny", (started[0].endpoint("r1"),), served_name="tiny")
        )

    rig.table.on_want = start_one
    rig.table.put(route("s1", "acme", "tiny", (), served_name="tiny"))
    try:
        with served(rig.gateway) as url:
            response = post(url, rig.acme, chat())
            rig.gateway.report()
    finally:
        for s in started:
            s.kill()
    assert response.status_code == 200
    assert [w[0] for w in rig.table.wanted] == ["s1"]
    samples = rig.load.samples  # every 5 s while it waited, and one after the answer
    assert {s.service_id for s in samples} == {"s1"}
    assert (sum(s.requests for s in samples), sum(s.output_tokens for s in samples)) == (1, 5)
    assert samples[-1].in_flight == 0
    assert samples[-1].waiting == 0


def test_a_request_whose_replica_died_before_answering_is_answered_by_another(rig: Rig) -> None:
    with (
        replicas(1, "--fragile") as (fragile,),
        replicas(1) as (steady,),
        served(rig.gateway) as url,
    ):
        gone = ReplicaProcess()
        gone.kill()  # refuses connections: the control plane has not noticed yet
        endpoints = (fragile.endpoint("r1"), gone.endpoint("r0"), steady.endpoint("r2"))
        rig.table.put(route("s1", "acme", "tiny", endpoints, served_name="tiny"))
        answers = [post(url, rig.acme, chat("die-now")) for _ in range(4)]
        alive = fragile.proc.poll() is None
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert not alive  # the fragile replica did die mid-request
    assert len(rig.usage.events) == 4


def test_a_stream_cut_by_a_dead_replica_ends_with_an_error_event(rig: Rig) -> None:
    with replicas(1, "--fragile") as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        events = stream(url, rig.acme, chat("cut", stream=True))
    assert [e["choices"][0]["delta"]["content"] for e in events[:3] if isinstance(e, dict)] == [
        "tok0 ",
        "tok1 ",
        "tok2 ",
    ]
    last = events[-1]
    assert isinstance(last, dict)
    assert last["error"]["code"] == "replica_lost"
    (event,) = rig.usage.events.values()
    assert (event.completion_tokens, event.counted_by) == (3, "gateway")


def test_a_stream_keeps_flowing_while_a_sibling_replica_is_killed_mid_stream(rig: Rig) -> None:
    """Two streams, one per replica; replica B is killed (SIGKILL) once both are flowing:
    A's stream goes on to its last token and [DONE], B's ends with an OpenAI error event."""
    with replicas(2, "--token-delay", "0.02") as (a, b), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (a.endpoint("ra"), b.endpoint("rb")), served_name="tiny"))  # fmt: skip
        flowing = threading.Barrier(3, timeout=30)
        ends: dict[str, list[dict[str, Any] | str]] = {}

        def one(prompt: str) -> None:
            events: list[dict[str, Any] | str] = []
            headers = {"Authorization": f"Bearer {rig.acme}"}
            body = chat(prompt, stream=True, max_tokens=200)
            with httpx.stream("POST", url + CHAT, json=body, headers=headers, timeout=30) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.append(line[6:] if line == "data: [DONE]" else json.loads(line[6:]))
                        if len(events) == 3:
                            flowing.wait()
            ends[prompt] = events

        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(one, p) for p in ("first", "second")]
            flowing.wait()  # both streams have their first tokens: one on each replica
            b.kill()
            for f in done:
                f.result()
    whole = [e for e in ends.values() if e[-1] == "[DONE]"]
    cut = [e for e in ends.values() if e[-1] != "[DONE]"]
    assert len(whole) == len(cut) == 1
    tokens = [e["choices"][0]["delta"]["content"] for e in whole[0] if isinstance(e, dict)]
    assert tokens == [f"tok{i} " for i in range(200)]  # every token, in order, to the end
    last = cut[0][-1]
    assert isinstance(last, dict)
    assert (last["error"]["code"], last["error"]["type"]) == ("replica_lost", "server_error")
    assert "acme/tiny" in last["error"]["message"]
    sent = sum(isinstance(e, dict) and "choices" in e for e in cut[0])
    assert 3 <= sent < 200
    wait_until(lambda: len(rig.usage.events) == 2, timeout=10)
    metered = sorted((e.completion_tokens, e.prompt_tokens) for e in rig.usage.events.values())
    # the cut stream: what its caller got, its prompt counted by the replica still alive
    assert metered == [(sent, 1), (200, 1)]


def test_a_replica_slower_than_the_timeout_is_504(tmp_path: Path) -> None:
    rig = Rig(tmp_path, GatewaySettings(route_ttl_s=0.0, read_timeout_s=0.5))
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        slow = post(url, rig.acme, chat("slow"))
    assert (slow.status_code, slow.json()["error"]["code"]) == (504, "timeout")
    rig.platform.close()


def test_any_http_service_is_reached_under_services_without_the_callers_key(rig: Rig) -> None:
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s9", "acme", "web", (r.endpoint("r1"),)))
        headers = {"Authorization": f"Bearer {rig.acme}", "X-Suanli-Caller": "globex"}
        echo = httpx.get(url + "/services/acme/web/a/b?x=1", headers=headers, timeout=30)
        theirs = httpx.get(
            url + "/services/acme/web/a", headers={"Authorization": f"Bearer {rig.globex}"}
        )
    assert echo.status_code == 200
    seen = echo.json()
    assert (seen["path"], seen["query"]) == ("/a/b", "x=1")
    assert "authorization" not in seen["headers"]
    assert seen["headers"]["x-suanli-caller"] == "acme"
    assert seen["header_names"].count("x-suanli-caller") == 1  # the caller's own was dropped
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "service_not_found")


def test_models_lists_what_the_key_may_call_and_metrics_count_requests(rig: Rig) -> None:
    with replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (r.endpoint("r1"),), served_name="tiny"))
        rig.table.put(route("s2", "globex", "big", (r.endpoint("r1"),), served_name="big"))
        models = httpx.get(
            url + "/v1/models", headers={"Authorization": f"Bearer {rig.acme}"}
        ).json()
        post(url, rig.acme, chat())
        unserved = httpx.get(url + "/metrics")  # scraped at the API's /metrics, with a token
        metrics = asyncio.run(rig.gateway.exposition()).decode()
        globex = asyncio.run(rig.gateway.exposition("globex")).decode()
    assert unserved.status_code == 404
    assert [m["id"] for m in models["data"]] == ["tiny"]
    assert "acme/tiny" not in globex  # a tenant's view: its own services only
    assert 'suanli_gateway_replicas_ready{service="globex/big"} 1.0' in globex
    assert 'suanli_gateway_requests_total{service="acme/tiny",status="200"} 1.0' in metrics
    assert 'suanli_gateway_tokens_total{direction="out",service="acme/tiny"} 5.0' in metrics
    assert 'suanli_gateway_replicas_ready{service="acme/tiny"} 1.0' in metrics
    assert 'suanli_gateway_request_seconds_count{service="acme/tiny"} 1.0' in metrics


def test_completions_and_embeddings_are_routed_and_metered(rig: Rig) -> None:
    with replicas(1, "--no-usage") as (plain,), replicas(1) as (r,), served(rig.gateway) as url:
        rig.table.put(route("s1", "acme", "tiny", (plain.endpoint("r1"),), served_name="tiny"))
        rig.table.put(route("s2", "acme", "emb", (r.endpoint("r2"),), served_name="emb"))
        headers = {"Authorization": f"Bearer {rig.acme}"}
        text = {"model": "tiny", "prompt": "a b c", "max_tokens": 6, "stream": True}
        with httpx.stream("POST", url + "/v1/completions", json=text, headers=headers) as s:
            streamed = [line for line in s.iter_lines() if line.startswith("data: {")]
        emb = post(
            url, rig.acme, {"model": "emb", "input": "four words right here"}, "/v1/embeddings"
        )
    assert len(streamed) == 6
    assert emb.status_code == 200
    assert emb.json()["data"][0]["embedding"] == [0.5, 0.25]
    events = {e.model: e for e in rig.usage.events.values()}
    assert (events["tiny"].completion_tokens, events["tiny"].counted_by) == (6, "gateway")
    assert (events["emb"].prompt_tokens, events["emb"].counted_by) == (4, "server")
