"""`suanli voucher policies`: each programme, its rates, caps, validity, who may use it (in
words: "registered zone ∈ {Yizhuang New Town}") and how it combines with others.

From 140 cells wide a column each; narrower, the validity goes under the programme and the
combining rule under who may use it, and only that last column folds: ids stay whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from suanli.cli.billing import _pct, money, t
from suanli.cli.context import out
from suanli.cli.tables import fitted
from suanli.domain.i18n import MESSAGES, Lang, render
from suanli.web.format import attribute_name, attribute_value, title_in

if TYPE_CHECKING:
    from suanli.schemas.api import VoucherPolicyResponse

WIDE = 140  # cells: every column fits from here


def print_policies(data: list[VoucherPolicyResponse], lang: Lang) -> None:
    wide = out.width >= WIDE
    cols = ["programme", "pool", "rates", "cap", "valid", "eligibility", "combines"]
    if not wide:
        cols = ["programme", "rates", "eligibility"]
    rows = []
    for p in data:
        rates = f"{_pct(p.rate_domestic)} / {_pct(p.rate_non_domestic)}"
        rates += "".join(f"\n{k}: {_pct(v)}" for k, v in p.rate_by_class.items())
        valid = f"{p.valid_from} … {p.valid_to}"
        head = f"{p.programme}\nv{p.version} ({p.kind})\n{title_in(p.title, lang)}"
        scope = f"scope.{p.tenant_cap_scope}"
        cap = money(p.tenant_cap)
        if p.tenant_cap:
            cap += f"\n({render(scope, lang) if scope in MESSAGES else p.tenant_cap_scope})"
        cells = {
            "programme": head if wide else f"{head}\n{valid}",
            "pool": money(p.annual_pool),
            "rates": rates if wide else f"{rates}\n{money(p.annual_pool)}\n{cap}",
            "cap": cap,
            "valid": valid,
            "eligibility": eligibility(p, lang) + ("" if wide else "\n" + combines(p, lang)),
            "combines": combines(p, lang),
        }
        rows.append([cells[c] for c in cols])
    headers = [t(c, lang) for c in cols]
    if not wide:  # rates, then the annual pool and the cap per tenant, under them
        headers[1] = f"{t('rates', lang)}\n{t('pool', lang)}\n{t('cap', lang)}"
    fold = cols.index("eligibility")
    table = fitted(t("policies_title", lang), headers, rows, out.width, fold, (0,))
    for column, name in zip(table.columns, cols, strict=True):
        if name in ("pool", "cap"):
            column.justify = "right"
    out.print(table)


def eligibility(p: VoucherPolicyResponse, lang: Lang) -> str:
    """Each rule as ``attribute ∈ {values}`` in words; a rule on the charge marked as such."""
    if not p.eligibility:
        return t("anyone", lang)
    lines = []
    for r in p.eligibility:
        allowed = ", ".join(attribute_value(a, lang) for a in r.allowed)
        mark = f" ({t('of_charge', lang)})" if r.of == "charge" else ""
        lines.append(f"{attribute_name(r.attribute, lang)} ∈ {{{allowed}}}{mark}")
    if p.claim_required:
        lines.append(t("claim_needed_short", lang))
    return "\n".join(lines)


def combines(p: VoucherPolicyResponse, lang: Lang) -> str:
    if p.stacking_order is None:
        return t("exclusive", lang)
    return t("stacks", lang, issuer=p.issuer, order=p.stacking_order, cap=_pct(p.combined_cap))
