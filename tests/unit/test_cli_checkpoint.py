"""`suanli status JOB` says whether the job checkpoints (its attempts resume), zh-CN and en;
the API's job carries the spec's ``checkpoint`` as given."""

from __future__ import annotations

from suanli.api.convert import job_to_response
from suanli.cli.context import out
from suanli.cli.jobs import print_job
from suanli.domain.jobs import JobStatus
from suanli.service.fleet import demo_fleet
from tests.builders import make_job, make_spec


def _shown(lang: str, **spec: object) -> str:
    job = make_job(make_spec(**spec))
    response = job_to_response(job, [], demo_fleet(), "en")
    with out.capture() as captured:
        print_job("zh" if lang == "zh" else "en", response)
    return str(captured.get())


def test_a_job_that_checkpoints_says_how_often_and_that_it_resumes() -> None:
    response = job_to_response(
        make_job(make_spec(checkpoint={"every_minutes": 45})), [], demo_fleet(), "en"
    )
    assert response.spec["checkpoint"] == {"every_minutes": 45.0}
    assert "Checkpoint: every 45 min and on stop; attempts resume" in _shown(
        "en", checkpoint={"every_minutes": 45}
    )
    assert "每 45 分钟" in _shown("zh", checkpoint={"every_minutes": 45})
    assert "Checkpoint: on stop; attempts resume" in _shown("en", checkpoint={})
    assert "停止时保存" in _shown("zh", checkpoint={})


def test_a_job_with_a_checkpoint_says_which_cluster_holds_it() -> None:
    job = make_job(make_spec(checkpoint={"every_minutes": 45}), checkpoint_cluster="tj-binhai-1")
    response = job_to_response(job, [], demo_fleet(), "en")
    assert response.checkpoint_cluster == "tj-binhai-1"
    with out.capture() as captured:
        print_job("en", response)
    assert "Checkpoint held on tj-binhai-1: the next attempt goes there" in captured.get()
    with out.capture() as captured:
        print_job("zh", response)
    assert "检查点保存在 tj-binhai-1" in captured.get()
    assert "held on" not in _shown("en", checkpoint={})  # none yet: nothing said
    for ended in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        done = make_job(
            make_spec(checkpoint={"every_minutes": 45}),
            status=ended,
            checkpoint_cluster="tj-binhai-1",
        )
        with out.capture() as captured:  # dropped when the job ended: no next attempt
            print_job("en", job_to_response(done, [], demo_fleet(), "en"))
        assert "held on" not in captured.get()


def test_a_job_without_checkpoints_says_nothing_of_them() -> None:
    assert "Checkpoint" not in _shown("en")
    assert "检查点" not in _shown("zh")
