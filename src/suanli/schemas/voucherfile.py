"""Voucher policy files (YAML, versioned): one file per programme, checked field by field.

A file is parsed into :class:`VoucherPolicyFile`, which satisfies
``suanli.billing.policy.PolicyTerms``; the service turns it into the engine's value with
``VoucherPolicy.from_terms(parse_voucher_policy_text(...))`` (``schemas`` and ``billing``
are sibling layers and may not import each other).

YAML reads ``0.30`` as a float. Floats are turned back into Decimals from their
shortest repr, which restores the written digits exactly for every value with at most
15 significant digits; money fields then insist on whole fen and rates on at most four
decimals, so nothing float-shaped survives into the engine.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.i18n import Lang
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_POLICY_BYTES = 256 * 1024
FORMAT = "suanli/voucher-policy/v1"
_CODE = "invalid_voucher_policy"

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
Money = Annotated[Decimal, Field(ge=0, le=10**12, decimal_places=2, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4, allow_inf_nan=False)]
Attribute = Annotated[str, Field(min_length=1, max_length=100)] | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EligibilityEntry(_Strict):
    """A company attribute and the values that admit it (附则-style conditions)."""

    attribute: Name
    allowed: list[Attribute] = Field(min_length=1, max_length=50)
    cite: str = Field(default="", max_length=500)


class VoucherPolicyFile(_Strict):
    """The file format; field names match ``billing.policy.PolicyTerms``."""

    format: Literal["suanli/voucher-policy/v1"]
    programme: Name
    version: int = Field(ge=1, le=10_000)
    kind: Literal["compute", "model", "provider_subsidy"]
    title: str = Field(min_length=1, max_length=300)
    cite: str = Field(min_length=1, max_length=2000)
    illustrative: bool = False
    annual_pool: Money | None
    rate_domestic: Rate
    rate_non_domestic: Rate
    tenant_cap: Money | None
    tenant_cap_scope: Literal["year", "programme"] = "year"
    project_cap: Money | None = None
    valid_from: dt.date
    valid_to: dt.date
    eligibility: list[EligibilityEntry] = Field(default_factory=list, max_length=50)
    stacks: Literal[False] = False
    # 即领即享 (claimed and usable at once) is the default: no recorded claim is needed.
    claim_required: bool = False
    notes: str = Field(default="", max_length=4000)


class InvalidVoucherPolicy(InvalidInput):
    """A policy file that cannot be used; ``errors`` names every offending field."""

    code = _CODE

    def message(self, lang: Lang = "en") -> str:
        head = _HEAD[lang]
        lines = [f"{self.source}: {head}" if self.source else head]
        lines += [f"  {e.field or '(file)'}: {e.message(lang)}" for e in self.errors]
        return "\n".join(lines)


_HEAD: dict[Lang, str] = {
    "en": "the voucher policy file is invalid",
    "zh": "补贴券政策文件无效",
}


def parse_voucher_policy_text(text: str | bytes, source: str = "<policy>") -> VoucherPolicyFile:
    """Parse and check one policy file, or raise InvalidVoucherPolicy naming each field."""
    try:
        data = load_yaml_mapping(text, source, MAX_POLICY_BYTES, "voucher policy file")
        parsed = validate_model(VoucherPolicyFile, _decimals(data), source, _CODE)
    except InvalidVoucherPolicy:
        raise
    except InvalidInput as exc:
        raise InvalidVoucherPolicy(errors=exc.errors, source=source) from None
    errors = _cross_checks(parsed)
    if errors:
        raise InvalidVoucherPolicy(errors=errors, source=source)
    return parsed


def load_voucher_policy_file(path: Path) -> VoucherPolicyFile:
    """Read and check a policy file from disk (an operator's own programme)."""
    try:
        raw = read_bounded(path, MAX_POLICY_BYTES, "voucher policy file", _CODE)
    except InvalidInput as exc:
        raise InvalidVoucherPolicy(errors=exc.errors, source=str(path)) from None
    return parse_voucher_policy_text(raw, str(path))


def shipped_voucher_policies(include_illustrative: bool = False) -> list[VoucherPolicyFile]:
    """The programmes shipped in ``suanli/data/vouchers/``, sorted by programme id.

    Illustrative examples (``illustrative: true``) are left out unless asked for, so a
    made-up programme never reaches a real bill.
    """
    folder = resources.files("suanli").joinpath("data/vouchers")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    out = [parse_voucher_policy_text(f.read_bytes(), f"data/vouchers/{f.name}") for f in files]
    kept = [p for p in out if include_illustrative or not p.illustrative]
    return sorted(kept, key=lambda p: p.programme)


def _decimals(value: Any) -> Any:
    """Floats from YAML back to the Decimal digits the author wrote (see module doc)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _cross_checks(p: VoucherPolicyFile) -> list[FieldError]:
    """Rules between fields that a single field's type cannot express."""
    errors: list[FieldError] = []
    if p.valid_to < p.valid_from:
        errors.append(
            FieldError("valid_to", "out_of_range", str(p.valid_to), f">= {p.valid_from}")
        )
    if p.rate_domestic == 0 and p.rate_non_domestic == 0:
        errors.append(
            FieldError("rate_domestic", "not_allowed", "0", "a rate above 0 for at least one kind")
        )
    if p.annual_pool is not None and p.tenant_cap is not None and p.tenant_cap > p.annual_pool:
        errors.append(
            FieldError(
                "tenant_cap", "out_of_range", str(p.tenant_cap), f"<= annual_pool {p.annual_pool}"
            )
        )
    seen: set[str] = set()
    for i, rule in enumerate(p.eligibility):
        if rule.attribute in seen:
            errors.append(
                FieldError(f"eligibility[{i}].attribute", "duplicate_name", rule.attribute)
            )
        seen.add(rule.attribute)
    return errors
