"""Every error names the field, the value and what is allowed, in the reader's language, with
"did you mean" for near misses; why a job waits or can never run, said once for every face."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli.main import app
from suanli.domain.errors import InvalidInput
from suanli.domain.jobs import PoolVerdict, Reason
from suanli.domain.near import near
from suanli.domain.waits import capacity_wait, why_no_pool
from suanli.schemas.specfile import parse_spec_text
from suanli.schemas.validation import read_bounded
from suanli.service.fleet import demo_fleet
from suanli.service.jobs import check_spec

# Refused before any server is asked: no server runs here, and none is needed.
CASES = [
    (
        ["report", "--format", "xml"],
        "error: --format: 'xml' is not allowed; allowed: table, json, csv",
        "错误：--format：不允许取值 'xml'；可选：table, json, csv",
    ),
    (
        ["bill", "demo", "--month", "2026-13"],
        "error: --month: '2026-13' is not a month; write YYYY-MM, e.g. 2026-03",
        "错误：--month：'2026-13' 不是月份；请写成 YYYY-MM，例如 2026-03",
    ),
    (
        ["voucher", "quote", "--amount=-5"],
        "error: --amount: '-5' is not allowed; a yuan amount from 0 to 1000000000000",
        "错误：--amount：不允许取值 '-5'；应为 0 到 1000000000000 之间",
    ),
    (
        ["voucher", "quote", "--amount", "1.234"],
        "error: --amount: '1.234' is not allowed",
        "错误：--amount：不允许取值 '1.234'",
    ),
    (
        ["submit", "/nonexistent/job.yaml"],
        "error: /nonexistent/job.yaml: cannot read the job spec: no such file",
        "错误：/nonexistent/job.yaml: 无法读取作业描述文件：文件不存在",
    ),
    (
        ["submit", "/"],
        "error: /: cannot read the job spec: not a regular file (a device, FIFO or directory is not read)",
        "错误：/: 无法读取作业描述文件：不是普通文件（设备、FIFO 或目录不会被读取）",
    ),
    (  # Typer's own usage errors, said as every other error
        ["stauts"],
        "error: stauts: no such command; allowed: up, submit, status,",
        "错误：stauts：没有该命令；可选：up, submit, status,",
    ),
    (
        ["stauts"],
        "(did you mean `status`?)",
        "（是否想写 `status`？）",
    ),
    (
        ["vouchr", "policies"],  # a command imported on use is offered too
        "(did you mean `voucher`?)",
        "（是否想写 `voucher`？）",
    ),
    (
        ["voucher", "polcies"],
        "error: polcies: no such command; allowed: quote, policies, show, issue, claim, claims",
        "错误：polcies：没有该命令；可选：quote, policies, show, issue, claim, claims",
    ),
    (
        ["status", "--limit", "0"],
        "error: --limit: '0' is not allowed; allowed: a number from 1 to 500",
        "错误：--limit：不允许取值 '0'；可选：1 到 500 之间的数",
    ),
    (
        ["logs", "j-1", "--rank=256"],
        "error: --rank: '256' is not allowed; allowed: a number from 0 to 255",
        "错误：--rank：不允许取值 '256'；可选：0 到 255 之间的数",
    ),
    (
        ["status", "--limt", "3"],
        "error: --limt: no such option here; allowed: --limit, --json, --help (did you mean `--limit`?)",
        "错误：--limt：此处没有该选项；可选：--limit, --json, --help（是否想写 `--limit`？）",
    ),
    (
        ["logs"],
        "error: JOB_ID: missing; it is required (see --help)",
        "错误：JOB_ID：缺少该参数；此参数必填（见 --help）",
    ),
    (
        ["--server", "ftp://x", "status"],
        "error: --server: 'ftp://x' is not allowed; allowed: an http:// or https:// URL",
        "错误：--server：不允许取值 'ftp://x'；可选：http:// 或 https:// 开头的地址",
    ),
]


@pytest.mark.parametrize(("args", "en", "zh"), CASES)
def test_a_bad_option_is_refused_in_the_readers_language(
    args: list[str], en: str, zh: str
) -> None:
    runner = CliRunner()
    for lang, expected in (("en", en), ("zh", zh)):
        result = runner.invoke(
            app, ["--lang", lang, "--server", "http://127.0.0.1:9", *args], terminal_width=200
        )
        assert result.exit_code == 2, result.output
        assert expected in result.output
        assert "Traceback" not in result.output


def test_the_server_unreachable_message_has_the_error_prefix_too() -> None:
    result = CliRunner().invoke(
        app, ["--lang", "zh", "--server", "http://127.0.0.1:9", "status"], terminal_width=200
    )
    assert result.exit_code == 1
    assert result.output.startswith("错误：无法连接 suanli 服务 http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("server", "en", "zh"),
    [
        ("http://127.0.0.1:9", "nothing listens there (connection refused)", "连接被拒绝"),
        ("http://no-such-host.invalid:9", "the host name is not known", "无法解析主机名"),
    ],
)
def test_why_the_server_is_unreachable_is_said_in_the_readers_language(
    server: str, en: str, zh: str
) -> None:
    for lang, expected in (("en", en), ("zh", zh)):
        result = CliRunner().invoke(app, ["--lang", lang, "--server", server, "status"])
        assert result.exit_code == 1
        assert expected in result.output
        assert "Errno" not in result.output


def test_a_mistyped_spec_key_gets_did_you_mean() -> None:
    text = b"name: t\nresources:\n  accelerator:\n    modle: A100\n    count: 1\nrun: x\n"
    with pytest.raises(InvalidInput) as caught:
        parse_spec_text(text, "t.yaml")
    (error,) = caught.value.errors
    assert error.field == "resources.accelerator.modle"
    assert error.code == "extra_forbidden"
    assert error.message("en").endswith(
        "allowed here: model, count, min_memory_gb, min_tflops (did you mean `model`?)"
    )
    assert error.message("zh").endswith("（是否想写 `model`？）")


def test_a_mistyped_accelerator_lists_the_near_models_only() -> None:
    spec = parse_spec_text(b"name: t\nresources: {accelerator: {model: H200X}}\nrun: x\n")
    (error,) = check_spec(spec, demo_fleet())
    assert error.message("en") == "unknown accelerator model 'H200X'; did you mean H200, H20?"
    assert error.message("zh") == "未知的加速卡型号 'H200X'；是否想写 H200, H20？"


def test_near_misses_are_close_names_only() -> None:
    assert near("modle", ["model", "count"]) == ["model"]
    assert near("x9000", ["S4000", "T4"]) == []
    assert near("h200", ["H200", "A100"]) == ["H200"]  # case does not matter
    assert near(7, ["H200"]) == []


def test_a_100_node_job_says_its_real_reason_first() -> None:
    spec = parse_spec_text(
        b"name: big\nresources: {accelerator: {model: A100, count: 8}, nodes: 100}\nrun: x\n"
    )
    (error,) = check_spec(spec, demo_fleet())
    en = error.message("en")
    assert en.startswith(
        "no pool in the fleet can ever run this job: tj-binhai-1/a100: pool has 4 nodes, "
        "job needs 100; "
    )
    assert en.count("is not among") == 0  # the other kinds are one summary line
    assert "pools have another accelerator" in en
    assert en.endswith("the job asks for A100")
    assert "资源池只有 4 个节点，作业需要 100 个" in error.message("zh")


def test_one_excluded_kind_needs_no_summary() -> None:
    one = [("a/b", Reason("pool_model_mismatch", {"model": "T4", "wanted": "A100"}))]
    assert why_no_pool(one).render("en") == "a/b: accelerator T4 is not among A100"


def _busy(*names: str) -> list[PoolVerdict]:
    pairs = [name.split("/") for name in names]
    return [PoolVerdict(cluster, pool, feasible=False) for cluster, pool in pairs]


def test_why_a_job_waits_names_the_pools_with_the_right_grammar() -> None:
    one = capacity_wait(_busy("tj-binhai-1/h100"))
    assert one.code == "waiting_for_capacity"
    assert one.render("en") == "waiting: 1 pool could run it but is full now: tj-binhai-1/h100"
    assert one.render("zh") == "排队中：1 个资源池可运行此作业，但当前已满：tj-binhai-1/h100"
    many = capacity_wait(_busy("a/1", "b/2", "c/3", "d/4", "e/5"))
    assert many.render("en") == (
        "waiting: 5 pools could run it but are all full now: a/1, b/2, c/3, +2"
    )
    assert capacity_wait([]).code == "unschedulable"


def test_a_file_that_cannot_be_read_is_named_with_why_in_the_readers_language(
    tmp_path: Path,
) -> None:
    loop_a, loop_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    cases = [
        (tmp_path / "none.yaml", "no such file", "文件不存在"),
        (Path(__file__) / "x.yaml", "no such file", "文件不存在"),  # a file as a folder
        (loop_a, "too many levels of symbolic links", "符号链接层级过多"),
    ]
    for path, en, zh in cases:
        with pytest.raises(InvalidInput) as caught:
            read_bounded(path, 1000, "job spec", "invalid_spec")
        assert caught.value.message("en") == f"{path}: cannot read the job spec: {en}"
        assert caught.value.message("zh") == f"{path}: 无法读取作业描述文件：{zh}"
