"""Live, short: requests of the Azure conversation trace (scaled to what 2 cores serve)
through the gateway to the real llama.cpp server; the tokens metered equal the server's own
counts for every request, and an eligible caller's charge shows the 50 % model voucher.
(bench/serve_live.py is the long version; this is its CI check.)"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from suanli.billing.ledger import tenant_cash
from suanli.domain.access import Principal, Role
from suanli.domain.serving import ReplicaEndpoint
from suanli.domain.tenants import Tenant
from suanli.gateway.app import Gateway
from suanli.gateway.forward import GatewaySettings
from suanli.gateway.memory import MemoryRouteTable
from suanli.service import apikeys
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.usage import bill_tokens
from tests.conftest import wait_until
from tests.gateway.serving import route, served, tenants
from tests.inference import LlamaServer, build_model, llama_or_skip
from tests.unit.billing.make import ELIGIBLE

TRACE = (
    Path(__file__).resolve().parents[3]
    / "shared/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"
)
ACME = Principal("ann", Role.TENANT_MEMBER, "acme", "t1", frozenset())
REQUESTS = 8
SCALE = 8  # trace tokens / SCALE, within the tiny model's context


def trace_rows(n: int) -> list[tuple[int, int]]:
    if not TRACE.is_file():
        pytest.skip(f"no trace at {TRACE}")
    with TRACE.open() as f:
        rows = list(csv.DictReader(f))[:n]
    return [
        (
            max(1, min(256, int(r["ContextTokens"]) // SCALE)),
            max(1, min(32, int(r["GeneratedTokens"]) // SCALE)),
        )
        for r in rows
    ]


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = open_platform(tmp_path / "data", detect_gpus=False)
    try:
        yield p
    finally:
        p.close()


@pytest.mark.xfail(
    strict=True,
    reason="llama-cpp-python 0.3.36's server sends no usage in a stream (stream_options is "
    "ignored): the gateway counts a stream's completion events itself and meters 0 prompt "
    "tokens for it (seen after the gateway's UUID request ids let requests through)",
)
def test_trace_through_the_gateway_meters_the_servers_tokens(
    platform: Platform, tmp_path: Path
) -> None:
    llama_or_skip()
    built = build_model(tmp_path / "models")
    rows = trace_rows(REQUESTS)
    assert platform.billing is not None
    assert platform.usage is not None
    tenants(platform, "acme", "pub")
    platform.billing.tenants.add(Tenant("acme", "Acme", attributes=ELIGIBLE))
    with LlamaServer(Path(str(built["link"])), tmp_path / "llama.log") as server:
        svc = dataclasses.replace(
            route("svc-live", "pub", "tiny-llama", (ReplicaEndpoint("r1", server.url, True),)),
            served_name="tiny-llama",
            visibility="public",
            input_price_per_million_yuan=Decimal("10000"),
            output_price_per_million_yuan=Decimal("20000"),
        )
        platform.route_table = MemoryRouteTable([svc])
        gateway = Gateway(platform, GatewaySettings(route_ttl_s=0.0))
        key = apikeys.create_key(platform, ACME, "live").text
        seen: list[tuple[int, int]] = []
        with served(gateway) as url:
            for i, (context, generated) in enumerate(rows):
                body = {
                    "model": "tiny-llama",
                    "prompt": " scheduler" * context,
                    "max_tokens": generated,
                    "temperature": 0,
                }
                if i % 2:  # every other one streamed: the gateway asks for usage itself
                    body["stream"] = True
                    with httpx.stream(
                        "POST",
                        f"{url}/v1/completions",
                        json=body,
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=120,
                    ) as r:
                        assert r.status_code == 200
                        for _ in r.iter_lines():
                            pass
                    answer = httpx.post(
                        f"{server.url}/v1/completions", json={**body, "stream": False}, timeout=120
                    ).json()  # the server's own count of the same request (deterministic)
                else:
                    found = httpx.post(
                        f"{url}/v1/completions",
                        json=body,
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=120,
                    )
                    assert found.status_code == 200, (found.status_code, found.text)
                    answer = found.json()
                seen.append(
                    (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"])
                )
            store = platform.usage
            wait_until(
                lambda: (
                    (
                        len(store.totals()) > 0
                        and sum(t.requests for t in store.totals()) == len(rows)
                    )
                    or None
                ),
                timeout=30,
            )
    events = store.unsettled()
    metered = sorted((u.event.prompt_tokens, u.event.completion_tokens) for u in events)
    assert metered == sorted(seen)
    assert bill_tokens(platform).settled == 1
    [charge] = store.settlements(caller="acme")
    assert charge.deduction.programme == "beijing-etown-model-2024"
    assert charge.deduction.amount == (charge.line.gross / 2).quantize(
        Decimal("0.01"), "ROUND_DOWN"
    )
    assert platform.billing.ledger.balance(tenant_cash("acme")) == -charge.deduction.net
