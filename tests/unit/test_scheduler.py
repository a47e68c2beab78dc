"""The first scheduler: feasible pools only, cheapest with room first, every rejection explained."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement, PoolVerdict, Reason
from suanli.scheduler.policies import CheapestFirst, CycleResult, KeepWaiting, PlaceJob
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    (
        "bj",
        "beijing",
        [
            make_pool("a100", "A100", price="9.50"),
            make_pool("t4", "T4", nodes=2, per_node=4, price="1.60"),
        ],
    ),
    (
        "nm",
        "inner-mongolia",
        [
            make_pool("910b", "Ascend910B", price="8.00"),
            make_pool("cpu", None, nodes=4, price="0.90"),
        ],
    ),
)


def decide(
    *jobs: Job, holding: Sequence[Job] = (), unavailable: frozenset[str] = frozenset()
) -> CycleResult:
    snap = build_snapshot(T0, FLEET, holding, jobs, unavailable)
    return CheapestFirst().decide(snap)


def verdicts(result: CycleResult, job_id: str = "j-test") -> dict[tuple[str, str], PoolVerdict]:
    outcomes: list[PlaceJob | KeepWaiting] = [*result.placed, *result.waiting]
    outcome = next(x for x in outcomes if x.job_id == job_id)
    return {(v.cluster, v.pool): v for v in outcome.decision.verdicts}


def reason(v: PoolVerdict) -> Reason:
    assert v.reason is not None, f"{v.cluster}/{v.pool} has no reason"
    return v.reason


class TestChoice:
    def test_cheapest_feasible_pool_wins(self) -> None:
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "Ascend910B"], "count": 8}},
            stacks=["cuda", "cann"],
        )
        (placed,) = decide(make_job(spec)).placed
        assert (placed.placement.cluster, placed.placement.pool) == ("nm", "910b")
        assert str(placed.placement.price_per_hour) == "64.00"
        v = verdicts(decide(make_job(spec)))
        assert v[("bj", "a100")].feasible  # the runner-up is kept with its price
        assert str(v[("bj", "a100")].price_per_hour) == "76.00"

    def test_every_other_pool_has_its_reason(self) -> None:
        v = verdicts(decide(make_job(make_spec())))
        assert reason(v[("bj", "a100")]).code == "pool_model_mismatch"
        assert reason(v[("nm", "cpu")]).code == "pool_model_mismatch"
        assert v[("bj", "t4")].feasible

    def test_cuda_job_does_not_go_to_ascend_by_minimums(self) -> None:
        spec = make_spec(resources={"accelerator": {"min_memory_gb": 60, "count": 1}})
        result = decide(make_job(spec))
        assert result.placed[0].placement.pool == "a100"
        assert reason(verdicts(result)[("nm", "910b")]).code == "pool_stack_mismatch"

    def test_domestic_only_and_regions(self) -> None:
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "Ascend910B"]}},
            domestic_only=True,
            regions=["beijing", "inner-mongolia"],
        )
        assert decide(make_job(spec)).placed[0].placement.pool == "910b"
        spec2 = make_spec(
            resources={"accelerator": {"model": ["A100", "Ascend910B"]}}, regions=["beijing"]
        )
        result = decide(make_job(spec2))
        assert result.placed[0].placement.pool == "a100"
        assert reason(verdicts(result)[("nm", "910b")]).code == "pool_region_excluded"

    def test_pinned_cluster(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": ["A100", "Ascend910B"]}})
        job = make_job(spec, pinned_cluster="bj")
        assert decide(job).placed[0].placement.cluster == "bj"

    def test_cpu_job_goes_to_cpu_pool(self) -> None:
        spec = make_spec(resources={"cpus": 8})
        (placed,) = decide(make_job(spec)).placed
        assert placed.placement.pool == "cpu"
        assert placed.placement.accelerator is None


class TestCapacity:
    def test_gang_gets_all_nodes_in_one_pool_or_waits(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": "A100", "count": 8}, "nodes": 2})
        (placed,) = decide(make_job(spec)).placed
        assert [n.node for n in placed.placement.nodes] == ["a100-n0", "a100-n1"]
        assert all(len(n.slots) == 8 for n in placed.placement.nodes)
        # One node busy: the gang waits rather than starting half.
        busy = make_job(
            make_spec(resources={"accelerator": {"model": "A100", "count": 1}}),
            job_id="j-busy",
            status=JobStatus.RUNNING,
            placement=Placement(
                "bj", "a100", "A100", (NodeAssignment("a100-n0", (0,)),), Decimal(0)
            ),
        )
        result = decide(make_job(spec), holding=[busy])
        assert result.placed == []
        (wait,) = result.waiting
        assert isinstance(wait, KeepWaiting)
        assert not wait.never
        assert wait.decision.summary.code == "waiting_for_capacity"
        assert reason(verdicts(result)[("bj", "a100")]).params == {"need": 2}

    def test_jobs_in_one_cycle_do_not_share_slots(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": "T4", "count": 3}})
        jobs = [make_job(spec, job_id=f"j-{i}") for i in range(3)]
        result = decide(*jobs)
        placed: list[PlaceJob] = result.placed
        assert len(placed) == 2  # two nodes of four T4 each: a third 3-card job cannot fit
        nodes = [p.placement.nodes[0].node for p in placed]
        assert sorted(nodes) == ["t4-n0", "t4-n1"]

    def test_unavailable_cluster_is_excluded(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": ["A100", "Ascend910B"]}})
        result = decide(make_job(spec), unavailable=frozenset({"nm"}))
        assert result.placed[0].placement.cluster == "bj"
        assert reason(verdicts(result)[("nm", "910b")]).code == "pool_cluster_unavailable"

    def test_priority_then_submission_order(self) -> None:
        low = make_job(
            make_spec(resources={"accelerator": {"model": "A100", "count": 8}, "nodes": 2}),
            job_id="j-low",
        )
        high = make_job(
            make_spec(
                resources={"accelerator": {"model": "A100", "count": 8}, "nodes": 2}, priority=90
            ),
            job_id="j-high",
            at=T0.replace(hour=10),
        )
        result = decide(low, high)
        assert [p.job_id for p in result.placed] == ["j-high"]

    def test_never_feasible_is_flagged(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": "T4", "count": 16}})
        (wait,) = decide(make_job(spec)).waiting
        assert wait.never
        assert wait.decision.summary.code == "unschedulable"
