"""The packing options as configuration: a fleet file's ``packing:`` section."""

from __future__ import annotations

from pathlib import Path

import pytest

from suanli.domain.errors import InvalidInput
from suanli.schemas.fleetfile import PackingEntry, load_packing_entry, parse_fleet_text
from suanli.service.fleet import builtin_catalog

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
"""


def test_a_fleet_file_may_carry_the_packing_section(tmp_path: Path) -> None:
    text = FLEET + "packing:\n  spread_shares: true\n"
    parse_fleet_text(text, builtin_catalog())  # the live fleet file accepts it
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    assert load_packing_entry(path) == PackingEntry(spread_shares=True)
    path.write_text(FLEET + "packing: {}\n")
    assert load_packing_entry(path) == PackingEntry()  # every option off by default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("packing:\n  spread_shares: 3\n", "spread_shares"),
        ("packing:\n  saturating: true\n", "saturating"),
        ("packing: [1]\n", "packing"),
        ("tenants: {}\n", "packing"),
    ],
)
def test_bad_packing_sections_name_the_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "packing.yaml"
    path.write_text(body)
    with pytest.raises(InvalidInput) as caught:
        load_packing_entry(path)
    assert caught.value.code == "invalid_packing"
    for lang in ("en", "zh"):
        assert field in caught.value.message(lang)
        assert str(path) in caught.value.message(lang)
