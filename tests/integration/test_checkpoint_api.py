"""A job that checkpoints, end to end through the API and the local engine: the spec's
``checkpoint`` is validated at the edge (zh-CN and en), shown back, and the checkpoint
directory its attempts share is deleted when the job has ended for good."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.service.bootstrap import open_platform
from tests.access import signed_in
from tests.integration.test_billing import FLEET, run_job

SPEC = (
    "name: saves\nresources: {{accelerator: {{model: A100, count: 1}}, cpus: 1, memory_gb: 1}}\n"
    "run: {run}\ntime_limit_hours: 0.1\ncheckpoint: {checkpoint}\n"
)
WRITES = '\'echo "dir=$SUANLI_CHECKPOINT_DIR"; echo step > "$SUANLI_CHECKPOINT_DIR/state"\''


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    platform = open_platform(
        tmp_path / "data", tmp_path / "fleet.yaml", database_url=database_url, detect_gpus=False
    )
    try:
        with TestClient(create_app(platform, interval_s=0.1)) as client:
            signed_in(client, platform)
            yield client
    finally:
        platform.close()


def test_a_finished_jobs_checkpoints_are_deleted(api: TestClient) -> None:
    job = run_job(api, SPEC.format(run=WRITES, checkpoint="{every_minutes: 20}"))
    assert job["status"] == "succeeded"
    assert job["spec"]["checkpoint"] == {"every_minutes": 20.0}
    log = api.get(f"/api/v1/jobs/{job['id']}/logs").text
    where = Path(log.split("dir=", 1)[1].split()[0])
    assert where.name == job["id"]
    assert where.parent.name == ".checkpoints"
    assert not where.exists()  # the job ended for good: nothing will resume from it


@pytest.mark.parametrize(
    ("checkpoint", "code"),
    [("{every_minutes: 0}", "out_of_range"), ("{every_minutes: x}", "wrong_type"), ("3", "")],
)
def test_a_bad_checkpoint_is_refused_at_the_edge(
    api: TestClient, checkpoint: str, code: str
) -> None:
    text = SPEC.format(run="echo hi", checkpoint=checkpoint)
    for lang, word in (("en", "checkpoint"), ("zh", "checkpoint")):
        r = api.post(
            "/api/v1/jobs",
            json={"spec_yaml": text, "tenant": "demo"},
            headers={"Accept-Language": lang},
        )
        assert r.status_code == 422, r.text
        assert word in r.text
        if code:
            assert code in r.text
    assert api.get("/api/v1/jobs").json()["total"] == 0  # nothing half-written
