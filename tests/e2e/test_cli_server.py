"""The real `suanli up` server as a process, driven by the real `suanli` CLI."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tests.builders import HAPPY_PATH
from tests.conftest import wait_until
from tests.e2e.server import JOB_TIMEOUT_S, Server, kill_leftover_runs
from tests.procs import alive as _alive
from tests.procs import group_members as _group_members
from tests.procs import kill as _kill

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello.yaml"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- the server and the CLI -------------------------------------------------------------


@contextlib.contextmanager
def _platform(data_dir: Path) -> Iterator[Server]:
    server = Server(data_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        kill_leftover_runs(data_dir)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the tests that do not kill it."""
    with _platform(tmp_path_factory.mktemp("shared") / "data") as running:
        yield running


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, which the test may kill and start again."""
    with _platform(tmp_path / "data") as running:
        yield running


def _spec(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _history(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["history"])


def _transitions(job: dict[str, Any]) -> list[str]:
    """The statuses a job went through, in order (notes, where from == to, left out)."""
    return [e["to_status"] for e in _history(job) if e["from_status"] != e["to_status"]]


def _reason_codes(job: dict[str, Any]) -> list[str]:
    return [e["reason"]["code"] for e in _history(job)]


def _run_dir(server: Server, job: dict[str, Any]) -> Path:
    return server.data_dir / "runs" / str(job["placement"]["cluster"]) / str(job["engine_key"])


def _gated_job(path: Path, marker: Path, gate: Path, extra: str = "") -> Path:
    """A job that records its start in ``marker`` and then waits (30 s at most) for ``gate``."""
    return _spec(
        path,
        f"""\
name: gated
resources:
  accelerator: {{model: T4, count: 1}}
run: |
  echo "attempt $SUANLI_ATTEMPT" >> '{marker}'
  for i in $(seq 1 300); do [ -e '{gate}' ] && break; sleep 0.1; done
  echo finished
{extra}""",
    )


# --- tests ------------------------------------------------------------------------------


class TestEverydayCommands:
    def test_hello_succeeds_with_its_output_and_whole_history(self, server: Server) -> None:
        submitted = server.cli("submit", str(HELLO))
        assert submitted.returncode == 0, submitted.stderr
        match = re.search(r"Submitted (j-\w+) \(hello\)", submitted.stdout)
        assert match, submitted.stdout
        job_id = match.group(1)

        def succeeded() -> dict[str, Any] | None:
            shown = server.cli("status", job_id, "--json")
            assert shown.returncode == 0, shown.stderr
            job = dict(json.loads(shown.stdout))
            assert job["status"] not in ("failed", "cancelled"), job
            return job if job["status"] == "succeeded" else None

        job = wait_until(succeeded, timeout=JOB_TIMEOUT_S, every=0.2)

        assert job["exit_code"] == 0
        assert job["placement"]["accelerator"] == "T4"
        assert _transitions(job) == HAPPY_PATH
        assert _history(job)[0]["from_status"] is None
        logs = server.cli("logs", job_id)
        assert logs.returncode == 0, logs.stderr
        assert f"hello from suanli: job {job_id}" in logs.stdout
        assert "(T4, slots 0)" in logs.stdout

    def test_logs_follow_ends_by_itself_when_the_job_finishes(
        self, server: Server, tmp_path: Path
    ) -> None:
        spec = _spec(
            tmp_path / "two-lines.yaml",
            "name: two-lines\nresources: {accelerator: {model: T4, count: 1}}\n"
            "run: echo one; sleep 1; echo two\n",
        )
        job_id = server.submit(spec)["id"]

        follow = server.cli("logs", job_id, "-f", timeout=JOB_TIMEOUT_S)

        assert follow.returncode == 0, follow.stderr
        assert follow.stdout == "one\ntwo\n"
        assert server.job(job_id)["status"] == "succeeded"

    def test_logs_rank_shows_one_nodes_lines_of_a_gang(
        self, server: Server, tmp_path: Path
    ) -> None:
        spec = _spec(
            tmp_path / "pair.yaml",
            "name: pair\nresources: {accelerator: {model: T4, count: 1}, nodes: 2}\n"
            'run: echo "hello from $NODE_RANK"; echo "bye from $NODE_RANK"\n',
        )
        job_id = server.submit(spec)["id"]
        server.wait_for(job_id, "succeeded")

        whole = server.cli("logs", job_id)
        one = server.cli("logs", job_id, "--rank", "1")
        followed = server.cli("logs", job_id, "--rank", "0", "-f", "--json")
        beyond = server.cli("--lang", "zh", "logs", job_id, "--rank", "256")

        assert sorted(whole.stdout.splitlines()) == [
            "[rank 0] bye from 0",
            "[rank 0] hello from 0",
            "[rank 1] bye from 1",
            "[rank 1] hello from 1",
        ]
        assert one.returncode == 0, one.stderr
        assert one.stdout == "hello from 1\nbye from 1\n"
        text = "".join(json.loads(line)["text"] for line in followed.stdout.splitlines())
        assert text == "hello from 0\nbye from 0\n"
        assert beyond.returncode == 2
        assert "--rank" in beyond.stderr
        assert "255" in beyond.stderr

    def test_at_80_columns_ids_names_and_rules_stay_whole_in_zh(
        self, server: Server, tmp_path: Path
    ) -> None:
        job_id = server.submit(HELLO)["id"]
        server.wait_for(job_id, "succeeded")
        narrow = {"COLUMNS": "80"}

        bill = server.cli("--lang", "zh", "bill", "demo", env=narrow)
        policies = server.cli("--lang", "zh", "voucher", "policies", env=narrow)
        queue = server.cli("--lang", "zh", "queue", env=narrow)
        fleet = server.cli("--lang", "zh", "fleet", env=narrow)
        tokens = server.cli("--lang", "zh", "token", "list", env=narrow)
        audit = server.cli("--lang", "zh", "audit", env=narrow)
        claims = server.cli("--lang", "zh", "voucher", "claims", env=narrow)
        token_id = json.loads(server.cli("token", "list", "--json").stdout)[0]["id"]

        for shown in (bill, policies, queue, fleet, tokens, audit, claims):
            assert shown.returncode == 0, shown.stderr
            assert "…" not in shown.stdout.replace("… 20", "")  # "from … to" dates only
            assert max(cell_len(line) for line in shown.stdout.splitlines()) <= 80
        assert f"{job_id}/a1" in bill.stdout
        assert "tj-binhai-1/t4 (T4 × 1)" in bill.stdout
        assert "beijing-etown-compute-2024" in policies.stdout
        assert "注册地 ∈ {亦庄新城}" in policies.stdout
        assert "registered_zone" not in policies.stdout
        assert "beijing（可借用）" in queue.stdout
        assert "北京亦庄智算中心" in fleet.stdout
        assert token_id in tokens.stdout  # what `token revoke` takes, whole
        assert "权限范围" in tokens.stdout
        assert "操作者" in audit.stdout
        assert "状态" in claims.stdout
        assert "status" not in claims.stdout

    def test_fleet_json_has_totals(self, server: Server) -> None:
        shown = server.cli("fleet", "--json")

        assert shown.returncode == 0, shown.stderr
        fleet = json.loads(shown.stdout)
        total = fleet["total"]
        assert total["accelerators"] > 0
        assert total["pflops_fp16"] > 0
        assert 0 < total["domestic_share"] < 1
        assert sum(r["accelerators"] for r in fleet["by_region"].values()) == total["accelerators"]
        assert (
            sum(p["accelerators"] for p in fleet["by_provider"].values()) == total["accelerators"]
        )
        assert "tianjin" in fleet["by_region"]

    def test_explain_shows_the_choice_the_runner_up_and_every_exclusion(
        self, server: Server
    ) -> None:
        submitted = server.cli("submit", str(HELLO.with_name("train-8card.yaml")), "--json")
        assert submitted.returncode == 0, submitted.stderr
        job_id = json.loads(submitted.stdout)["id"]
        decision = wait_until(lambda: json.loads(server.cli("explain", job_id, "--json").stdout))

        verdicts = {f"{v['cluster']}/{v['pool']}": v for v in decision["verdicts"]}
        chosen = "/".join(decision["chosen"])
        assert verdicts[chosen]["feasible"]
        feasible = sorted(
            (v for v in verdicts.values() if v["feasible"]),
            key=lambda v: v["estimate"]["finish_at"],
        )
        # train-8card's objective is time: the earliest expected finish wins (an H100 pool).
        assert f"{feasible[0]['cluster']}/{feasible[0]['pool']}" == chosen
        assert verdicts[chosen]["estimate"]["relative_throughput"] > 3
        assert len(feasible) >= 2  # H100 and Ascend 910B pools both qualify
        excluded = [v for v in verdicts.values() if not v["feasible"]]
        assert excluded
        assert all(v["reason"]["message"] for v in excluded)
        table = server.cli("--lang", "zh", "explain", job_id)
        assert table.returncode == 0
        assert "排除" in table.stdout
        server.cli("cancel", job_id)

    def test_cancel_stops_a_running_job(self, server: Server, tmp_path: Path) -> None:
        spec = _spec(
            tmp_path / "long.yaml",
            "name: long\nresources: {accelerator: {model: T4, count: 1}}\n"
            "run: echo started; sleep 300\n",
        )
        job_id = server.submit(spec)["id"]
        job = server.wait_for(job_id, "running")
        run_dir = _run_dir(server, job)
        wait_until(lambda: (run_dir / "output.log").read_bytes() == b"started\n")
        group = int(json.loads((run_dir / "started.json").read_text())["group"])

        cancelled = server.cli("cancel", job_id)

        assert cancelled.returncode == 0, cancelled.stderr
        assert f"Cancel requested for {job_id}" in cancelled.stdout
        job = server.wait_for(job_id, "cancelled")
        assert _transitions(job)[-2:] == ["running", "cancelled"]
        assert "reason_cancel_requested" in _reason_codes(job)
        assert _group_members(group) == []

    def test_chinese_output_with_lang_zh(self, server: Server) -> None:
        submitted = server.cli("--lang", "zh", "submit", str(HELLO))

        assert submitted.returncode == 0, submitted.stderr
        assert "已提交" in submitted.stdout
        job_id = re.search(r"(j-\w+)", submitted.stdout)
        assert job_id
        server.wait_for(job_id.group(1), "succeeded")
        shown = server.cli("--lang", "zh", "status", job_id.group(1))
        assert shown.returncode == 0, shown.stderr
        assert "状态历史" in shown.stdout
        assert "退出码" in shown.stdout
        fleet = server.cli("--lang", "zh", "fleet")
        assert fleet.returncode == 0, fleet.stderr
        assert "合计" in fleet.stdout
        assert CJK.search(fleet.stdout)


class TestBadInput:
    @pytest.mark.parametrize(
        ("text", "named"),
        [
            pytest.param("name: [oops\nrun: echo\n", "line 2", id="malformed-yaml-names-the-line"),
            pytest.param(
                "name: a\nresources: {accelerator: {model: Z9000, count: 1}}\nrun: echo\n",
                "resources.accelerator.model",
                id="unknown-accelerator-model",
            ),
            pytest.param(
                "name: a\nresources: {accelerator: {model: T4, count: -1}}\nrun: echo\n",
                "resources.accelerator.count",
                id="negative-accelerator-count",
            ),
            pytest.param(
                "name: a\nresources: {nodes: 10000}\nrun: echo\n",
                "resources.nodes",
                id="ten-thousand-nodes",
            ),
            pytest.param(
                "name: a\nrun: echo\n# " + "x" * (1024 * 1024) + "\n",
                "at most 262144 bytes",
                id="one-megabyte-spec-file",
            ),
            pytest.param(
                "name: a\nresources: {accelerator: {model: T4, count: 16}}\nrun: echo\n",
                "resources: no pool",
                id="valid-but-fits-no-pool",
            ),
        ],
    )
    def test_is_refused_with_exit_2_naming_the_field_and_stores_nothing(
        self, server: Server, tmp_path: Path, text: str, named: str
    ) -> None:
        spec = _spec(tmp_path / "bad.yaml", text)
        before = server.jobs_total()

        done = server.cli("submit", str(spec))

        assert done.returncode == 2, done.stdout + done.stderr
        assert named in done.stderr
        assert str(spec) in done.stderr  # and the file
        assert "Traceback" not in done.stderr
        assert server.jobs_total() == before

    def test_a_missing_file_is_refused_with_exit_2(self, server: Server, tmp_path: Path) -> None:
        missing = tmp_path / "no-such-spec.yaml"
        before = server.jobs_total()

        done = server.cli("submit", str(missing))

        assert done.returncode == 2, done.stdout + done.stderr
        assert str(missing) in done.stderr
        assert "cannot read the job spec: no such file" in done.stderr
        assert server.jobs_total() == before


class TestOpenApi:
    def test_the_server_serves_its_openapi_document(self, server: Server) -> None:
        with server.http() as client:
            response = client.get("/api/v1/openapi.json")

        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        assert document["info"]["title"] == "suanli"
        assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/fleet"} <= set(document["paths"])


class TestServerCrash:
    def test_a_killed_server_readopts_the_running_job_and_runs_it_once(
        self, own_server: Server, tmp_path: Path, exchange: Path
    ) -> None:
        marker, gate = exchange / "marker", exchange / "gate"
        job_id = own_server.submit(_gated_job(tmp_path / "gated.yaml", marker, gate))["id"]
        own_server.wait_for(job_id, "running")
        wait_until(marker.exists)

        own_server.kill9()
        own_server.start()  # same data directory, new process
        # The restarted server noted the adoption before it answered; now let the job end.
        assert "reason_adopted" in _reason_codes(own_server.job(job_id))
        gate.touch()

        def succeeded() -> dict[str, Any] | None:
            shown = own_server.cli("status", job_id, "--json")
            assert shown.returncode == 0, shown.stderr
            job = dict(json.loads(shown.stdout))
            return job if job["status"] == "succeeded" else None

        job = wait_until(succeeded, timeout=JOB_TIMEOUT_S, every=0.2)
        assert marker.read_text().splitlines() == ["attempt 1"]
        assert job["attempt"] == 1
        assert _transitions(job)[-2:] == ["running", "succeeded"]
        adopted = [e for e in _history(job) if e["reason"]["code"] == "reason_adopted"]
        assert len(adopted) == 1
        assert adopted[0]["reason"]["params"]["key"] == job["engine_key"]
        assert "finished" in own_server.cli("logs", job_id).stdout

    def test_a_killed_server_and_runner_fail_the_job_as_lost_without_running_it_twice(
        self, own_server: Server, tmp_path: Path, exchange: Path
    ) -> None:
        marker, gate = exchange / "marker", exchange / "gate"
        spec = _gated_job(tmp_path / "gated.yaml", marker, gate, "retry: {max_attempts: 1}\n")
        job_id = own_server.submit(spec)["id"]
        job = own_server.wait_for(job_id, "running")
        wait_until(marker.exists)
        run_dir = _run_dir(own_server, job)
        started = json.loads((run_dir / "started.json").read_text())
        runner, group = int(started["pid"]), int(started["group"])

        own_server.kill9()
        _kill(runner)  # the runner before its job, or it would record the job's death
        _kill(group, group=True)
        wait_until(lambda: not _alive(runner) and not _group_members(group), timeout=10)
        own_server.start()

        job = own_server.wait_for(job_id, "failed")
        assert "reason_lost" in _reason_codes(job)
        assert _reason_codes(job)[-1] == "reason_retries_exhausted"
        assert _transitions(job)[-3:] == ["running", "recovering", "failed"]
        assert own_server.job(job_id)["attempt"] == 1
        assert not (run_dir / "result.json").exists()
        assert not list(run_dir.parent.glob(f"suanli-{job_id}-a2"))
        assert marker.read_text().splitlines() == ["attempt 1"]


# Regression: the CLI once stood in b"x" * (MAX_SPEC_BYTES + 1) for any file over the limit,
# so the message claimed 262145 bytes whatever the file's real size.
def test_an_oversized_spec_file_is_refused_naming_its_real_size(
    server: Server, tmp_path: Path
) -> None:
    spec = _spec(tmp_path / "big.yaml", "name: a\nrun: echo\n# " + "x" * (1024 * 1024) + "\n")
    size = spec.stat().st_size

    done = server.cli("submit", str(spec))

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"job spec is {size} bytes" in done.stderr, done.stderr
