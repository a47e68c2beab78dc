"""Live placement reads relative throughput per (job class, model) from the fleet's table,
falling back to dense TFLOPS."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.fleet import Fleet
from suanli.domain.throughput import ThroughputTable
from suanli.scheduler.estimate import relative_throughput
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.service.fleet import builtin_catalog, load_fleet
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    (
        "bj",
        "beijing",
        [
            make_pool("volta", "V100", nodes=1, per_node=8, price="3.00"),
            make_pool("turing", "T4", nodes=1, per_node=8, price="2.00"),
        ],
    )
)
# A small model that a T4 runs almost as fast as a V100 (Gavel measured such classes).
TABLE = ThroughputTable({("resnet@1", "V100"): 10.0, ("resnet@1", "T4"): 9.0})


def place(fleet: Fleet, job_class: str | None) -> str:
    spec = make_spec(
        resources={"accelerator": {"model": ["V100", "T4"], "count": 1}},
        estimated_hours=1,
        job_class=job_class,
    )
    result = POLICIES["default"].decide(build_snapshot(T0, fleet, [], [make_job(spec)]))
    return result.placed[0].placement.pool


def test_dense_tflops_pick_the_faster_card_without_a_table() -> None:
    # V100 2.5 h x 3.00 = 7.49 yuan; T4 4.8 h x 2.00 = 9.60 yuan.
    assert place(FLEET, "resnet@1") == "volta"


def test_a_measured_table_overrides_dense_tflops_and_changes_the_choice() -> None:
    fleet = dataclasses.replace(FLEET, throughput=TABLE)
    assert place(fleet, "resnet@1") == "turing"
    # Only the measured ratio between models changed: V100 / T4 = 10 / 9.
    volta, turing = (relative_throughput(fleet, p, "resnet@1") for _, p in fleet.pools())
    assert volta is not None
    assert turing is not None
    assert volta / turing == pytest.approx(10 / 9)
    # A class the table never measured, or no class at all, runs at dense TFLOPS.
    assert place(fleet, "bert@1") == "volta"
    assert place(fleet, None) == "volta"


def test_a_class_measured_on_the_reference_model_is_a_plain_ratio() -> None:
    table = ThroughputTable({("x", "A100"): 4.0, ("x", "T4"): 1.0})
    fleet = dataclasses.replace(FLEET, throughput=table)
    _, t4 = list(fleet.pools())[1]
    assert relative_throughput(fleet, t4, "x") == pytest.approx(0.25)
    assert relative_throughput(fleet, t4, None) == pytest.approx(65 / 312)


def test_the_explanation_shows_the_measured_speed() -> None:
    fleet = dataclasses.replace(FLEET, throughput=TABLE)
    spec = make_spec(
        resources={"accelerator": {"model": "T4", "count": 1}},
        estimated_hours=2,
        job_class="resnet@1",
    )
    result = POLICIES["default"].decide(build_snapshot(T0, fleet, [], [make_job(spec)]))
    line = next(iter(result.placed[0].decision.verdicts))
    assert line.estimate is not None
    speed = relative_throughput(fleet, list(fleet.pools())[1][1], "resnet@1")
    assert line.estimate.relative_throughput == speed
    assert line.estimate.hours == pytest.approx(2 / speed)


FLEET_YAML = """
throughput: {table}
providers:
  - name: p
    clusters:
      - name: bj
        region: beijing
        engine: {{type: local}}
        pools:
          - {{name: volta, accelerator: V100, nodes: 1, accelerators_per_node: 8, cpus_per_node: 64, memory_gb_per_node: 512, price_per_accelerator_hour: "3.00"}}
"""


def test_a_fleet_file_names_its_throughput_table(tmp_path: Path) -> None:
    (tmp_path / "gavel.json").write_text(
        json.dumps(
            {
                "k80": {"('ResNet-50', 1)": {"null": 1.0}},
                "p100": {"('ResNet-50', 1)": {"null": 2.0}},
                "v100": {"('ResNet-50', 1)": {"null": 3.0}},
            }
        )
    )
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET_YAML.format(table="gavel.json"))
    fleet = load_fleet(path)
    assert fleet.throughput is not None
    assert fleet.throughput.rate("ResNet-50@1", "V100") == 3.0
    # Text without a file to read a table beside is refused with the field named.
    with pytest.raises(InvalidInput) as caught:
        parse_fleet_text(path.read_text(), builtin_catalog())
    assert caught.value.errors[0].field == "throughput"
    # A missing table is a precise error too.
    path.write_text(FLEET_YAML.format(table="missing.json"))
    with pytest.raises(InvalidInput):
        load_fleet(path)


@pytest.mark.parametrize("bad", ["", "a\nb", "x" * 201])
def test_job_class_is_validated(bad: str) -> None:
    with pytest.raises(ValueError, match="job_class"):
        make_spec(job_class=bad)
