"""Every decision explains every pool, in Chinese as in English, down to the fen."""

from __future__ import annotations

import pytest

from suanli.domain.errors import InvalidInput
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.specfile import parse_spec_text
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    (
        "bj",
        "beijing",
        [
            make_pool("a100", "A100", nodes=1, per_node=8, price="9.50"),
            make_pool("small", "A100", nodes=1, per_node=2, price="1.00", cpus=4),
            make_pool("t4", "T4", nodes=1, per_node=4, price="1.60"),
        ],
    ),
    ("nm", "inner-mongolia", [make_pool("h100", "H100", nodes=1, per_node=8, price="40.00")]),
)


def decide(spec_fields: dict[str, object]) -> object:
    job = make_job(make_spec(**spec_fields))
    result = POLICIES["default"].decide(build_snapshot(T0, FLEET, [], [job]))
    return (result.placed or result.waiting)[0].decision


def test_chosen_runners_up_and_the_first_rule_of_every_other_pool() -> None:
    d = decide({"resources": {"accelerator": {"model": ["A100", "H100"], "count": 4}, "cpus": 8}})
    lines = {(v.cluster, v.pool): v for v in d.verdicts}  # type: ignore[attr-defined]
    assert d.chosen == ("bj", "a100")  # type: ignore[attr-defined]
    assert next(iter(d.verdicts)).pool == "a100"  # type: ignore[attr-defined]
    assert lines[("nm", "h100")].feasible  # the runner-up, with its figures
    assert lines[("nm", "h100")].estimate is not None
    assert lines[("bj", "t4")].reason.code == "pool_model_mismatch"
    small = lines[("bj", "small")].reason
    assert small is not None
    assert small.render("en") == "nodes have 2 accelerators, job needs 4 per node"
    assert small.render("zh") == "节点仅有 2 张加速卡，作业每节点需要 4"
    assert len(lines) == 4


def test_cpu_and_memory_shortfalls_are_said_in_chinese() -> None:
    d = decide({"resources": {"accelerator": {"model": "A100", "count": 1}, "cpus": 8}})
    small = {(v.cluster, v.pool): v for v in d.verdicts}[("bj", "small")]  # type: ignore[attr-defined]
    assert small.reason.render("zh") == "节点仅有 4 个 CPU，作业每节点需要 8"


def test_a_job_worth_less_than_a_fen_is_not_shown_as_free() -> None:
    d = decide(
        {
            "resources": {"accelerator": {"model": "T4", "count": 0.25}},
            "estimated_hours": 0.001,
        }
    )
    summary = d.summary  # type: ignore[attr-defined]
    assert "< 0.01 yuan" in summary.render("en")
    assert "不足 0.01 元" in summary.render("zh")


def test_an_oversized_spec_is_named_in_chinese() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_spec_text("x" * 300_000)
    assert caught.value.errors[0].message("zh").startswith("作业描述文件大小为 300000 字节")
    assert caught.value.errors[0].message("en").startswith("job spec is 300000 bytes")
