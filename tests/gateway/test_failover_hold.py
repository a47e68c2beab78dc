"""A request whose only replica died before answering is held until a replacement is ready,
then sent once; the hold is bounded, and a request that may have acted on its replica is
never re-sent. Real replica processes (tests.replica) behind the gateway under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from suanli.gateway.forward import GatewaySettings
from tests.conftest import wait_until
from tests.gateway.serving import ReplicaProcess, replicas, route, served
from tests.gateway.test_gateway import Rig, chat, post


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.platform.close()


@pytest.mark.parametrize("death", ["refused", "reset"])
def test_a_request_whose_only_replica_died_waits_and_is_answered_by_its_replacement(
    rig: Rig, death: str
) -> None:
    """``refused``: the replica was killed before the request came (the control plane still
    lists it ready); ``reset``: it dies after the request reached it (``die-now``)."""
    with (
        replicas(1, "--fragile") as (fragile,),
        served(rig.gateway) as url,
        ThreadPoolExecutor(1) as pool,
    ):
        if death == "refused":
            fragile.kill()
        rig.table.put(route("s1", "acme", "tiny", (fragile.endpoint("r1"),), served_name="tiny"))
        held = pool.submit(post, url, rig.acme, chat("die-now"))
        wait_until(lambda: rig.gateway.load.of("s1").waiting == 1, timeout=20)
        assert fragile.proc.poll() is not None  # dead, whichever way
        assert not held.done()  # held, not answered 502
        replacement = ReplicaProcess()  # not fragile: it answers die-now
        try:
            endpoints = (fragile.endpoint("r1"), replacement.endpoint("r2"))  # r1 still "ready"
            rig.table.put(route("s1", "acme", "tiny", endpoints, served_name="tiny"))
            answer = held.result(timeout=30)
        finally:
            replacement.kill()
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3 tok4 "
    assert [w[0] for w in rig.table.wanted][:1] == ["s1"]  # a replica was asked for
    wait_until(lambda: len(rig.usage.events) == 1, timeout=10)
    (event,) = rig.usage.events.values()
    assert (event.status, event.completion_tokens) == (200, 5)  # metered once
    assert rig.gateway.load.of("s1").waiting == 0


def test_the_hold_for_a_replacement_ends_with_the_openai_error_when_none_comes(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, GatewaySettings(route_ttl_s=0.0, ready_timeout_s=1.0))
    try:
        with replicas(1) as (gone,), served(rig.gateway) as url:
            gone.kill()
            rig.table.put(route("s1", "acme", "tiny", (gone.endpoint("r1"),), served_name="tiny"))
            en = post(url, rig.acme, chat())
            zh = post(url, rig.acme, chat(), lang="zh-CN")
        assert (en.status_code, zh.status_code) == (502, 502)
        error = en.json()["error"]
        assert (error["code"], error["type"]) == ("replica_lost", "server_error")
        assert "acme/tiny" in error["message"]
        assert "副本" in zh.json()["error"]["message"]
        assert {w[0] for w in rig.table.wanted} == {"s1"}  # it did wait, asking for a replica
        assert rig.gateway.load.of("s1").waiting == 0
        assert rig.usage.events == {}  # nothing metered for an unanswered request
    finally:
        rig.platform.close()


def test_a_request_that_may_have_acted_on_its_replica_is_never_re_sent(rig: Rig) -> None:
    """A ``/services/`` POST (not an inference call, not idempotent) that reached its replica
    before it died is answered 502 at once: no hold, no second run on a replacement."""
    with replicas(1, "--fragile") as (fragile,), replicas(1) as (steady,):
        endpoints = (fragile.endpoint("r1"), steady.endpoint("r2"))
        rig.table.put(route("s1", "acme", "tiny", endpoints, served_name="tiny"))
        with served(rig.gateway) as url:
            headers = {"Authorization": f"Bearer {rig.acme}"}
            answers = [
                httpx.post(
                    url + "/services/acme/tiny/v1/chat/completions",
                    json=chat("die-now"),
                    headers=headers,
                    timeout=30,
                )
                for _ in range(2)
            ]
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 502]  # the one sent to the fragile replica was not re-sent to r2
    assert fragile.proc.poll() is not None
    assert rig.table.wanted == []
