"""The built-in accelerator catalog and fleet files."""

from __future__ import annotations

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.fleet import summarize
from suanli.engines.gpus import Gpu, parse_nvidia_smi
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.service.fleet import builtin_catalog, demo_fleet, with_local_gpus

REQUIRED = [
    "V100",
    "T4",
    "A10",
    "A100",
    "A800",
    "H100",
    "H800",
    "H20",
    "L40S",
    "RTX4090",
    "Ascend910B",
    "MLU370-X8",
    "MLU590",
    "K100",
    "R200",
    "P800",
    "C500",
    "S4000",
    "BI-V150",
    "T20",
]
DOMESTIC_VENDORS = {
    "Huawei",
    "Cambricon",
    "Hygon",
    "Kunlunxin",
    "MetaX",
    "Moore Threads",
    "Iluvatar CoreX",
    "Enflame",
}


class TestCatalog:
    def test_has_every_required_model(self) -> None:
        assert set(REQUIRED) <= set(builtin_catalog().ids())

    @pytest.mark.parametrize("model", REQUIRED)
    def test_every_figure_is_sourced_or_null(self, model: str) -> None:
        entry = builtin_catalog().get(model)
        assert entry is not None
        for figure in (
            entry.fp16_tflops,
            entry.memory_gb,
            entry.memory_bandwidth_gbps,
            entry.interconnect,
        ):
            assert (figure.value is None) == (figure.source is None), model

    def test_domestic_flag_follows_the_vendor(self) -> None:
        for entry in builtin_catalog():
            assert entry.domestic == (entry.vendor in DOMESTIC_VENDORS), entry.model

    def test_known_figures(self) -> None:
        cat = builtin_catalog()
        assert cat.get("H100").tflops == 989  # type: ignore[union-attr]
        assert cat.get("A100").memory == 80  # type: ignore[union-attr]
        assert cat.get("MLU590").tflops is None  # type: ignore[union-attr]  # nobody sourced it

    def test_lookup_by_alias_ignores_case_and_punctuation(self) -> None:
        cat = builtin_catalog()
        assert cat.get("ascend-910b") is cat.get("Ascend910B")
        assert cat.get("rtx 4090") is cat.get("RTX4090")
        assert cat.get("no-such-card") is None


FLEET = """
providers:
  - name: p1
    clusters:
      - name: c1
        region: beijing
        engine: {type: local}
        pools:
          - {name: a, accelerator: A100, nodes: 2, accelerators_per_node: 8,
             cpus_per_node: 64, memory_gb_per_node: 512, price_per_accelerator_hour: "9.5"}
          - {name: b, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 64, memory_gb_per_node: 512, price_per_accelerator_hour: "8"}
          - {name: c, accelerator: MLU590, nodes: 1, accelerators_per_node: 4,
             cpus_per_node: 64, memory_gb_per_node: 512, price_per_accelerator_hour: "3"}
"""


class TestFleet:
    def test_totals_in_pflops_and_domestic_share(self) -> None:
        fleet = parse_fleet_text(FLEET, builtin_catalog())
        s = summarize(fleet)
        assert s.total.accelerators == 28
        assert s.total.domestic_accelerators == 12
        assert s.total.pflops == pytest.approx((16 * 312 + 8 * 320) / 1000)
        assert s.total.unrated_accelerators == 4  # MLU590 has no sourced TFLOPS
        assert s.by_region["beijing"] == s.total
        assert s.by_provider["p1"] == s.total

    def test_demo_fleet_spans_regions_and_has_domestic_pools(self) -> None:
        fleet = demo_fleet()
        assert len(fleet.regions()) >= 5
        s = summarize(fleet)
        assert 0 < s.total.domestic_share < 1
        assert all(c.engine.type == "local" for c in fleet.clusters())

    @pytest.mark.parametrize(
        ("change", "want_field", "want_code"),
        [
            (
                ("accelerator: A100", "accelerator: Z1"),
                "providers[0].clusters[0].pools[0].accelerator",
                "unknown_accelerator",
            ),
            (("name: b,", "name: a,"), "providers[0].clusters[0].pools[1].name", "duplicate_name"),
            (("nodes: 2", "nodes: -2"), "providers[0].clusters[0].pools[0].nodes", "out_of_range"),
            (("type: local", "type: pbs"), "providers[0].clusters[0].engine.type", "not_allowed"),
            (
                ('"9.5"', '"-1"'),
                "providers[0].clusters[0].pools[0].price_per_accelerator_hour",
                "out_of_range",
            ),
        ],
        ids=[
            "unknown-accelerator",
            "duplicate-pool",
            "negative-nodes",
            "unknown-engine",
            "negative-price",
        ],
    )
    def test_bad_fleet_file_names_the_field(
        self, change: tuple[str, str], want_field: str, want_code: str
    ) -> None:
        with pytest.raises(InvalidInput) as info:
            parse_fleet_text(FLEET.replace(*change), builtin_catalog(), "fleet.yaml")
        assert [(e.field, e.code) for e in info.value.errors] == [(want_field, want_code)]

    def test_real_gpus_become_a_pool_of_their_model(self) -> None:
        gpus = parse_nvidia_smi(
            "0, NVIDIA H100 80GB HBM3, 81559, GPU-a\n1, NVIDIA H100 80GB HBM3, 81559, GPU-b\n"
        )
        assert gpus == [
            Gpu(0, "NVIDIA H100 80GB HBM3", 81559, "GPU-a"),
            Gpu(1, "NVIDIA H100 80GB HBM3", 81559, "GPU-b"),
        ]
        fleet = with_local_gpus(demo_fleet(), gpus)
        cluster = fleet.cluster("this-machine")
        assert cluster is not None
        assert dict(cluster.engine.options) == {"devices": "nvidia"}
        (pool,) = cluster.pools
        assert (pool.accelerator, pool.nodes, pool.accelerators_per_node) == ("H100", 1, 2)

    def test_unknown_gpu_models_are_left_out(self) -> None:
        gpus = parse_nvidia_smi("0, Some Future GPU, 1000, GPU-x\n")
        assert with_local_gpus(demo_fleet(), gpus) == demo_fleet()
