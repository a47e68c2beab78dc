"""Every programme is a file, never code: the engine names no programme, issuer or city.

The library's programme ids and issuers, the cities they come from (in English and in
Chinese) must not occur in any module under ``src/suanli``. Regions of the fleet are a
different thing with the same names (a data centre in Beijing is not a Beijing voucher):
the few modules that list regions are named below and only their region entries are
allowed through.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.billing.library import LIBRARY
from tests.unit.billing.make import POLICIES

SRC = Path(__file__).resolve().parents[3] / "src" / "suanli"
CITIES = (
    "beijing",
    "shanghai",
    "shenzhen",
    "北京",
    "上海",
    "深圳",
    "etown",
    "e-town",
    "亦庄",
    "经开区",
)
# modules that name fleet regions and their display names, not programmes
REGION_LISTS = {
    "domain/fleet.py",
    "domain/i18n_console.py",
    "web/format.py",
    "schemas/tenantfile.py",  # an example cohort named after a region
    "cli/jobs.py",  # a region id and its Chinese name, as an example in a docstring
}


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "data" not in p.relative_to(SRC).parts)


def words() -> list[str]:
    ids = {p.programme for p in [*LIBRARY.values(), *POLICIES.values()]}
    issuers = {p.issuer for p in LIBRARY.values() if p.issuer}
    return sorted(ids | issuers)


def test_there_is_code_to_search_and_programmes_to_look_for() -> None:
    assert len(modules()) > 100
    assert len(words()) >= 12


@pytest.mark.parametrize("word", words())
def test_no_module_names_a_programme_or_issuer(word: str) -> None:
    hits = [str(p.relative_to(SRC)) for p in modules() if word in p.read_text(encoding="utf-8")]
    assert hits == [], f"{word} is named in code: {hits}"


@pytest.mark.parametrize("city", CITIES)
def test_no_module_names_a_city_outside_the_region_lists(city: str) -> None:
    pattern = re.compile(re.escape(city), re.IGNORECASE)
    hits = [
        str(p.relative_to(SRC))
        for p in modules()
        if str(p.relative_to(SRC)) not in REGION_LISTS
        and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert hits == [], f"{city!r} is named in code: {hits}"


def test_region_lists_name_cities_only_as_regions() -> None:
    """In the region modules a city appears as a region key or its display name only (or
    the display name of an attribute's value, ``value.*``: words, not rules)."""
    allowed = re.compile(
        r'"region\.\w+"|"value\.[\w-]+"|"(beijing|shanghai|shenzhen)"|Beijing-Tianjin-Hebei|cohort: beijing|'
        r'"(Beijing|Shanghai|Shenzhen)"|"(北京|上海|深圳)"|#.*(Beijing|Shanghai)|A region id',
        re.IGNORECASE,
    )
    for rel in REGION_LISTS:
        for line in (SRC / rel).read_text(encoding="utf-8").splitlines():
            for city in CITIES:
                if city.lower() in line.lower():
                    assert allowed.search(line), f"{rel}: {line.strip()}"
