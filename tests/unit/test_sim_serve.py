"""`suanli sim serve`: a small trace against autoscaled replicas, and its bad inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli.sim import app
from suanli.domain.errors import InvalidInput
from suanli.scheduler.autoscaling import POLICIES, ScalingRule, Static
from suanli.schemas.servicefile import parse_service_text
from suanli.sim.serving.compare import compare
from suanli.sim.serving.latency import replica_model
from suanli.sim.serving.replay import ServeReplay, nominal_samples
from suanli.sim.serving.trace import LlmRequest, read_azure_llm

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "examples" / "services" / "llama8b-vllm-a10.yaml"
TRACE = Path(os.environ.get("SUANLI_TRACES", ROOT.parent / "shared" / "traces")) / (
    "azure-llm-2023/AzureLLMInferenceTrace_conv.csv"
)
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def write_trace(path: Path, rows: list[tuple[float, int, int]]) -> Path:
    lines = [f"2023-11-16 18:{int(t // 60):02d}:{t % 60:010.7f},{p},{o}\n" for t, p, o in rows]
    path.write_text(HEADER + "".join(lines))
    return path


def burst(seconds: int, rate: float, start_rate: float) -> list[tuple[float, int, int]]:
    """Requests at ``start_rate`` a second for the first half, ``rate`` after."""
    rows, t = [], 0.0
    while t < seconds:
        rows.append((t, 1000, 200))
        t += 1 / (start_rate if t < seconds / 2 else rate)
    return rows


def test_trace_rows_are_read_in_order_from_zero(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "t.csv", [(5.5, 10, 3), (1.25, 7, 2)])
    got = read_azure_llm(path)
    assert got[0] == LlmRequest(0.0, 7, 2)
    assert got[1].arrival == pytest.approx(4.25)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("a,b,c\n", "line 1"),
        (HEADER + "2023-11-16 18:00:01.5,12,x\n", "line 2"),
        (HEADER + "2023-11-16 18:00:01.5,12,3\n2023-11-16 18:00:02,0,3\n", "line 3"),
        (HEADER, "t.csv"),
    ],
)
def test_bad_trace_rows_are_named_by_line(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(body)
    with pytest.raises(InvalidInput) as caught:
        read_azure_llm(path)
    assert caught.value.code == "invalid_serve_trace"
    assert field in caught.value.errors[0].field
    assert "请求轨迹文件无效" in caught.value.message("zh")


def test_a_burst_is_followed_and_static_for_the_mean_falls_behind(tmp_path: Path) -> None:
    spec = parse_service_text(SERVICE.read_bytes())
    model = replica_model(spec, "llama-3.1-8b", start_s=30)
    requests = read_azure_llm(write_trace(tmp_path / "t.csv", burst(600, 6.0, 1.0)))
    found = compare(requests, spec, model, slo_ttft_s=2.0, split_s=300)
    default, oracle = found.row("default"), found.row("oracle")
    peak, mean = found.row("static-peak"), found.row("static-mean")
    assert found.static_peak > found.static_mean >= 1
    assert default.unanswered == oracle.unanswered == peak.unanswered == 0
    # The autoscalers pay for the burst only while it lasts; static for the peak pays always.
    assert default.replica_hours < peak.replica_hours
    assert oracle.replica_hours < peak.replica_hours
    assert (
        found.row("default", "tuning").replica_hours
        < found.row("default", "held_out").replica_hours
    )
    assert peak.slo_attainment >= mean.slo_attainment
    assert default.ttft_p50_s >= model.prefill_s(1000)
    assert default.tpot_p50_ms > 0


def test_replicas_start_late_and_requests_wait_at_the_gateway(tmp_path: Path) -> None:
    spec = parse_service_text(SERVICE.read_bytes())
    model = replica_model(spec, "llama-3.1-8b", start_s=60)
    requests = [LlmRequest(float(i), 500, 20) for i in range(5)]
    rule = ScalingRule.of(spec)
    run = ServeReplay(requests, model, rule, POLICIES["default"], 0).run()
    # No replica at first: the default asks for one at the first tick (10 s), ready at 70 s.
    assert all(o.first_token >= 70.0 for o in run.outcomes)
    assert run.lives[0][0] == pytest.approx(10.0)
    static = ServeReplay(requests, model, rule, Static(2), 2).run()
    assert [life[0] for life in static.lives] == [0.0, 0.0]
    assert all(
        o.first_token - r.arrival < 1 for r, o in zip(requests, static.outcomes, strict=True)
    )


def test_nominal_load_counts_every_request_once() -> None:
    spec = parse_service_text(SERVICE.read_bytes())
    model = replica_model(spec, "llama-3.1-8b")
    requests = [LlmRequest(float(i), 100, 10) for i in range(40)]
    samples = nominal_samples(requests, model, ScalingRule.of(spec))
    assert sum(s.requests for s in samples) == 40
    assert sum(s.tokens for s in samples) == 400


def test_cli_refuses_a_bad_service_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\nrun: serve $PORT\nreplicas: {min: 4, max: 2}\n")
    trace = write_trace(tmp_path / "t.csv", [(0.0, 10, 2)])
    result = CliRunner().invoke(
        app, ["serve", "--trace", f"azure-llm:{trace}", "--service", str(bad)]
    )
    assert result.exit_code == 2
    assert "replicas.max" in result.output
    wrong = CliRunner().invoke(
        app, ["serve", "--trace", f"philly:{trace}", "--service", str(SERVICE)]
    )
    assert wrong.exit_code == 2
    assert "--trace" in wrong.output


@pytest.mark.skipif(not TRACE.exists(), reason="Azure LLM trace not present")
def test_cli_replays_the_first_minutes_of_the_azure_trace() -> None:
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--trace",
            f"azure-llm:{TRACE}",
            "--service",
            str(SERVICE),
            "--minutes",
            "4",
            "--split",
            "120",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"static_peak_replicas"' in result.stdout
    assert '"policy": "oracle"' in result.stdout
