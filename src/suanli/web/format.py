"""How the console shows numbers, money and regions (money stays a decimal string)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from suanli.domain.fleet import REGIONS
from suanli.domain.i18n import MESSAGES, Lang, render
from suanli.schemas.api import (
    FleetResponse,
    PoolUseResponse,
    TotalsResponse,
    VoucherPolicyResponse,
)

# Where each region sits on a coarse grid of northern and western China (column, row), so
# the operator's region grid reads like a map: Beijing-Tianjin-Hebei east, the western hubs
# west. Regions not listed go to the last row.
GRID: dict[str, tuple[int, int]] = {
    "inner-mongolia": (2, 1),
    "beijing": (4, 1),
    "ningxia": (1, 2),
    "shanxi": (3, 2),
    "hebei": (4, 2),
    "tianjin": (5, 2),
    "gansu": (1, 3),
    "sichuan": (2, 3),
    "guizhou": (3, 3),
    "anhui": (4, 3),
    "shanghai": (5, 3),
    "guangdong": (4, 4),
}
# The Beijing-Tianjin-Hebei / western corridor is always drawn; other regions when they
# hold capacity.
CORRIDOR = frozenset({"beijing", "tianjin", "hebei", "shanxi", "inner-mongolia", "ningxia"})


def yuan(amount: str | Decimal | None) -> str:
    """¥ and two decimals with thousands separators; the API's string is exact already."""
    if amount is None:
        return "—"
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return str(amount)
    return f"¥{value:,.2f}"


def pct(share: float | str) -> str:
    return f"{float(share) * 100:.1f}%"


def num(value: float, places: int = 1) -> str:
    return f"{value:,.{places}f}"


def hours(seconds: float | None) -> str:
    """A duration as h:mm:ss (days first when long); "—" when there is none."""
    if seconds is None:
        return "—"
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86400)
    text = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {text}" if days else text


def title_in(title: str, lang: Lang) -> str:
    """A programme's title in one language: titles read "中文 (English)"."""
    head, sep, tail = title.rpartition(" (")
    if not sep or not tail.endswith(")"):
        return title
    return head if lang == "zh" else tail[:-1]


def attribute_name(name: str, lang: Lang) -> str:
    """An eligibility attribute in words ("registered_zone": "registered zone")."""
    code = f"attribute.{name}"
    return render(code, lang) if code in MESSAGES else name


def attribute_value(value: str | bool, lang: Lang) -> str:
    """An attribute's value in words (true: "yes"; "yizhuang-new-town": "Yizhuang New Town")."""
    shown = ("true" if value else "false") if isinstance(value, bool) else value
    code = f"value.{shown}"
    return render(code, lang) if code in MESSAGES else shown


def with_titles(text: str, titles: dict[str, str], lang: Lang) -> str:
    """A sentence naming programmes by id, with each id replaced by its title in ``lang``."""
    for programme in sorted(titles, key=len, reverse=True):  # longest first: no prefix hit
        if programme in text:
            text = text.replace(programme, title_in(titles[programme], lang))
    return text


def region_name(region: str, lang: Lang) -> str:
    code = f"region.{region}"
    return render(code, lang) if code in MESSAGES else region


@dataclass(frozen=True)
class RegionCell:
    region: str
    column: int
    row: int
    totals: TotalsResponse | None  # None: a region of the map with no capacity in this fleet


def region_grid(fleet: FleetResponse) -> list[RegionCell]:
    """Every region with capacity plus the named corridor regions, placed on the grid."""
    shown = [r for r in REGIONS if r in CORRIDOR or r in fleet.by_region]
    cells = []
    spare = 1
    for region in shown:
        if region in GRID:
            column, row = GRID[region]
        else:
            column, row = spare, 5
            spare += 1
        cells.append(RegionCell(region, column, row, fleet.by_region.get(region)))
    return cells


def pool_rows(
    spent: list[PoolUseResponse], policies: list[VoucherPolicyResponse], year: int
) -> list[PoolUseResponse]:
    """Every programme with an annual pool: what was drawn on it, or none yet this year."""
    rows = list(spent)
    seen = {r.programme for r in rows}
    for x in policies:
        if x.annual_pool is not None and x.programme not in seen:
            rows.append(
                PoolUseResponse(
                    programme=x.programme,
                    year=year,
                    annual_pool=x.annual_pool,
                    used="0.00",
                    left=x.annual_pool,
                )
            )
            seen.add(x.programme)
    return rows
