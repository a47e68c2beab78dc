"""Shares of one accelerator (``count: 0.5``): the spec, packing, price and environment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanli.domain.errors import InvalidInput
from suanli.engines.sharing import share_env
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.specfile import parse_spec_text
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

SPEC = "name: infer\nresources: {accelerator: {model: T4, count: COUNT}}\nrun: x\n"


class TestSpec:
    @pytest.mark.parametrize(
        ("count", "milli", "slots"),
        [("0.5", 500, 1), ("0.25", 250, 1), ("1", 1000, 1), ("8", 1000, 8)],
    )
    def test_a_count_is_whole_accelerators_or_a_share_of_one(
        self, count: str, milli: int, slots: int
    ) -> None:
        spec = parse_spec_text(SPEC.replace("COUNT", count))
        assert (spec.share_milli, spec.accelerators_per_node) == (milli, slots)
        # Whole counts stay integers in what the API shows.
        shown = spec.model_dump(mode="json")["resources"]["accelerator"]["count"]
        assert shown == (int(count) if milli == 1000 else float(count))

    @pytest.mark.parametrize("count", ["2.5", "0.0005", "1.5"])
    def test_other_counts_are_refused_saying_what_is_allowed(self, count: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            parse_spec_text(SPEC.replace("COUNT", count))
        (err,) = caught.value.errors
        assert err.field == "resources.accelerator.count"
        assert err.code == "not_allowed"
        assert "share of one accelerator" in err.message("en")

    def test_a_share_is_priced_as_its_fraction(self) -> None:
        fleet = make_fleet(
            ("c", "beijing", [make_pool("t4", "T4", nodes=1, per_node=1, price="1.60")])
        )
        job = make_job(make_spec(resources={"accelerator": {"model": "T4", "count": 0.5}}))
        (placed,) = POLICIES["default"].decide(build_snapshot(T0, fleet, [], [job])).placed
        assert placed.placement.price_per_hour == Decimal("0.80")


class TestPacking:
    FLEET = make_fleet(("c", "beijing", [make_pool("t4", "T4", nodes=2, per_node=2)]))

    def decide(self, *counts: float) -> list[tuple[str, tuple[int, ...]] | None]:
        jobs = [
            make_job(make_spec(resources={"accelerator": {"model": "T4", "count": c}}), f"j-{i}")
            for i, c in enumerate(counts)
        ]
        result = POLICIES["default"].decide(build_snapshot(T0, self.FLEET, [], jobs))
        by_id = {p.job_id: p.placement.nodes[0] for p in result.placed}
        return [(by_id[j.id].node, by_id[j.id].slots) if j.id in by_id else None for j in jobs]

    def test_shares_fill_one_accelerator_before_starting_another(self) -> None:
        first, second = self.decide(0.5, 0.5)
        assert first == second  # the same node and slot: half + half is one T4

    def test_shares_leave_whole_nodes_for_whole_requests(self) -> None:
        *shares, whole = self.decide(0.5, 0.3, 0.2, 2)
        nodes = {s[0] for s in shares if s is not None}
        assert len(nodes) == 1  # all three shares on one node
        assert whole is not None
        assert whole[0] not in nodes  # the 2-card job gets the untouched node

    def test_a_full_slot_takes_no_more_shares(self) -> None:
        placed = self.decide(*([0.5] * 9))
        assert placed[-1] is None  # four T4 hold eight halves, the ninth waits
        assert len(set(placed[:8])) == 4


class TestEnvironment:
    def test_a_share_is_told_its_limits_in_hami_core_terms(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": "T4", "count": 0.5}})
        env = share_env(spec, 16)
        assert env == {
            "SUANLI_ACCELERATOR_SHARE": "0.5",
            "CUDA_DEVICE_SM_LIMIT": "50",
            "SUANLI_ACCELERATOR_MEMORY_MB": "8192",
            "CUDA_DEVICE_MEMORY_LIMIT": "8192m",
        }

    def test_whole_accelerators_and_cpu_jobs(self) -> None:
        assert share_env(make_spec(), 16) == {"SUANLI_ACCELERATOR_SHARE": "1"}
        assert share_env(make_spec(resources={"cpus": 2}), None) == {}
