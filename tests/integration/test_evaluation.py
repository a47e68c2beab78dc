"""`suanli eval` end to end on the demo platform: ordinary jobs on the local engine, results
collected from their output, stored, reported and handed to placement; the API's edges."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from suanli.api.auth import TOKEN_COOKIE
from suanli.domain.errors import InvalidInput
from suanli.domain.evaluation import EvalItem, EvalRecord
from suanli.domain.spec import JobSpec
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.eval_report import eval_report
from suanli.service.evaluation import apply_measurements, start_run
from suanli.service.jobs import new_job
from suanli.web.app import create_app
from suanli.workers.control_loop import tick
from tests.access import operator_token, signed_in
from tests.conftest import wait_until
from tests.evalreach import CLOSED, REASON

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
SUITE_TIMEOUT_S = 300.0  # the conformance suite on a loaded two-core CI host, with PyTorch


def _finish(p: Platform, run_id: str) -> None:
    def done() -> bool | None:
        tick(p)
        assert p.evals is not None
        return all(r.state != "running" for r in p.evals.run(run_id)) or None

    wait_until(done, timeout=SUITE_TIMEOUT_S, every=0.2)


@pytest.mark.skipif(CLOSED is not None, reason=REASON)
def test_conformance_runs_as_jobs_and_feeds_the_report_and_placement(
    demo_platform: Platform,
) -> None:
    p = demo_platform
    # A CPU pool (the host is what it is) and an emulated H100 pool (the host CPU again).
    run_cpu, cpu = start_run(p, "demo", "conformance", "tj-binhai-1", "cpu-c7")
    run_h100, h100 = start_run(p, "demo", "conformance", "bj-etown-1", "h100")
    assert [r.pool for r in cpu] == ["cpu-c7"]
    assert [r.model for r in h100] == ["H100"]
    job = p.jobs.get(cpu[0].job_id)  # type: ignore[arg-type]
    assert job is not None
    assert job.pinned_cluster == "tj-binhai-1"
    assert "suanli.evalsuite --suite conformance" in job.spec.run
    _finish(p, run_cpu)
    _finish(p, run_h100)
    assert p.evals is not None
    (measured_cpu,) = p.evals.run(run_cpu)
    (measured_h100,) = p.evals.run(run_h100)
    assert measured_cpu.state == "measured", measured_cpu.error
    assert measured_cpu.backend == "cpu"
    assert measured_cpu.software["numpy"]
    assert measured_cpu.hardware_is_model(p.fleet.catalog)
    assert not measured_h100.hardware_is_model(p.fleet.catalog)  # says it was a CPU
    report = eval_report(p)
    numpy_rows = [m for m in report.matrix if m.framework == "numpy"]
    assert numpy_rows
    assert all(m.passed > 0 for m in numpy_rows)
    assert {m.model for m in report.matrix} == {"CPU", "H100"}
    assert not any(r.hardware_is_model for r in report.matrix if r.model == "H100")
    # Handed to placement: without PyTorch here, a job declaring it is kept off both pools.
    assert p.fleet.measured is not None
    torch_rows = [m for m in report.matrix if m.framework == "pytorch"]
    if all(m.verdict == "unavailable" for m in torch_rows):
        assert ("tj-binhai-1", "cpu-c7") in p.fleet.measured.incompatible
        assert "bj-etown-1/h100" in report.excluded_pools


def test_a_job_that_fails_is_recorded_failed_with_its_exit(demo_platform: Platform) -> None:
    p = demo_platform
    run_id, (_record,) = start_run(
        p, "demo", "micro", "tj-binhai-1", "cpu-c7", python="/nonexistent/python"
    )
    _finish(p, run_id)
    assert p.evals is not None
    (done,) = p.evals.run(run_id)
    assert done.state == "failed"
    assert "exit code" in done.error
    assert eval_report(p).throughput == []  # a failed run adds no figure


def test_bad_requests_name_the_field(demo_platform: Platform) -> None:
    p = demo_platform
    with pytest.raises(InvalidInput) as pool:
        start_run(p, "demo", "micro", "tj-binhai-1", "no-such-pool")
    assert pool.value.errors[0].field == "pool"
    with pytest.raises(InvalidInput) as cluster:
        start_run(p, "demo", "micro", "nowhere", None)
    assert cluster.value.errors[0].field == "cluster"
    with pytest.raises(InvalidInput) as suite:
        start_run(p, "demo", "everything", None, None)
    assert suite.value.errors[0].field == "suite"
    assert p.evals is not None
    assert p.evals.records() == []


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Platform]]:
    p = open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)
    try:
        with TestClient(create_app(p, run_loop=False)) as client:
            signed_in(client, p)
            yield client, p
    finally:
        p.close()


def test_the_api_starts_a_run_reports_it_and_refuses_bad_input(
    api: tuple[TestClient, Platform],
) -> None:
    client, p = api
    started = client.post("/api/v1/eval/runs", json={"suite": "micro", "pool": "cpu-c7"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert {r["pool"] for r in body["records"]} == {"cpu-c7"}
    assert all(r["state"] == "running" for r in body["records"])
    again = client.get(f"/api/v1/eval/runs/{body['run_id']}")
    assert again.status_code == 200
    assert again.json()["run_id"] == body["run_id"]
    assert client.get("/api/v1/eval/runs/e-000000000000").status_code == 404
    assert client.get("/api/v1/eval/runs/not-a-run").status_code == 422
    bad = client.post("/api/v1/eval/runs", json={"suite": "micro", "pool": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "pool"
    zh = client.post(
        "/api/v1/eval/runs", json={"pool": "nope"}, headers={"Accept-Language": "zh-CN"}
    )
    assert "未知资源池" in zh.json()["error"]["errors"][0]["message"]
    assert client.post("/api/v1/eval/runs", json={"suite": "x"}).status_code == 422
    report = client.get("/api/v1/eval/report")
    assert report.status_code == 200
    assert report.json()["running"] >= 1
    for engine in p.engines.values():  # the jobs were never dispatched (no loop): nothing runs
        assert not getattr(engine, "live_runs", list)()


def test_the_console_page_shows_the_matrix_and_chart_in_both_languages(
    api: tuple[TestClient, Platform],
) -> None:
    client, p = api
    client.cookies.set(TOKEN_COOKIE, operator_token(p))
    empty = client.get("/console/eval?lang=en")
    assert empty.status_code == 200
    assert 'id="eval-none"' in empty.text
    assert p.evals is not None
    record = EvalRecord(
        "j-eval1",
        "e-000000000001",
        ("micro", "conformance"),
        "bj-etown-1",
        "h100",
        "H100",
        "running",
        NOW,
    )
    p.evals.add([record])
    items = (
        EvalItem("gemm_fp32", "micro", "numpy", "passed", 0.02, "TFLOPS", cv=0.01),
        EvalItem("gemm_bf16", "micro", "pytorch", "passed", 0.0003, "TFLOPS", cv=0.02),
        EvalItem(
            "matmul_fp32",
            "conformance",
            "pytorch",
            "failed",
            0.3,
            "rel. error",
            "error 0.3 > tolerance 1e-05",
            dtype="fp32",
        ),
    )
    done = dataclasses.replace(
        record,
        state="measured",
        measured_at=NOW,
        backend="cpu",
        device="AMD EPYC",
        software={"torch": "2.13.0"},
        items=items,
    )
    assert p.evals.complete(done)
    assert not p.evals.complete(done)
    en = client.get("/console/eval?lang=en")
    assert 'id="eval-matrix"' in en.text
    assert "incompatible" in en.text
    assert "emulated: not this model" in en.text
    assert "matmul_fp32" in en.text
    zh = client.get("/console/eval?lang=zh")
    assert "兼容性矩阵" in zh.text
    assert "不兼容" in zh.text
    assert "芯片评测" in zh.text
    report = client.get("/api/v1/eval/report").json()
    (row,) = report["datasheet"]
    assert row["ratio_bf16"] is None
    assert "not H100" in row["note"]


def test_a_stored_incompatibility_is_why_a_submission_finds_no_pool(
    demo_platform: Platform,
) -> None:
    p = demo_platform
    assert p.evals is not None
    record = EvalRecord(
        "j-eval2",
        "e-000000000002",
        ("conformance",),
        "tj-binhai-1",
        "cpu-c7",
        None,
        "running",
        NOW,
    )
    p.evals.add([record])
    missing = EvalItem(
        "matmul_fp32",
        "conformance",
        "pytorch",
        "skipped",
        detail="PyTorch is not installed",
        dtype="fp32",
    )
    p.evals.complete(
        dataclasses.replace(
            record,
            state="measured",
            measured_at=NOW,
            backend="cpu",
            device="host CPU",
            items=(missing,),
        )
    )
    apply_measurements(p)
    torch_job = JobSpec.model_validate({"name": "t", "frameworks": ["PyTorch"], "run": "true"})
    with pytest.raises(InvalidInput) as refused:
        new_job(p, torch_job, "tj-binhai-1", "demo")
    reasons = dict(refused.value.errors[0].params["detail"].items)
    reason = reasons["tj-binhai-1/cpu-c7"]
    assert reason.code == "pool_eval_incompatible"
    assert "measured incompatible with pytorch" in reason.render("en")
    assert "j-eval2" in reason.render("en")
    assert "实测" in reason.render("zh")
    plain = JobSpec.model_validate({"name": "t", "run": "true"})
    assert new_job(p, plain, "tj-binhai-1", "demo").pinned_cluster == "tj-binhai-1"
