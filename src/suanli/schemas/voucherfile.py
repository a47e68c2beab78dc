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
MAX_POLICY_FILES = 200
FORMAT = "suanli/voucher-policy/v1"
_CODE = "invalid_voucher_policy"

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
Money = Annotated[Decimal, Field(ge=0, le=10**12, decimal_places=2, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4, allow_inf_nan=False)]
Attribute = Annotated[str, Field(min_length=1, max_length=100)] | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Share = Annotated[Decimal, Field(gt=0, le=1, decimal_places=4, allow_inf_nan=False)]
EvidenceKind = Literal["contract", "invoice", "delivery_proof"]


class EligibilityEntry(_Strict):
    """An attribute and the values that admit it (附则-style conditions).

    ``of: company`` (the default) reads the company's attributes; ``of: charge`` reads a
    fact of the thing bought, e.g. whether a model is registered (网信办备案).
    """

    attribute: Name
    allowed: list[Attribute] = Field(min_length=1, max_length=50)
    cite: str = Field(default="", max_length=500)
    of: Literal["company", "charge"] = "company"


class ClassRateEntry(_Strict):
    """Rates for a class of company (e.g. ``company_stage: startup`` at 60 %)."""

    attribute: Name
    value: Attribute
    rate_domestic: Rate
    rate_non_domestic: Rate
    cite: str = Field(default="", max_length=500)


def _contract_only() -> list[EvidenceKind]:
    return ["contract"]


class ClaimEntry(_Strict):
    """Claim → approval → redemption: see ``billing.policy.ClaimRules``."""

    approval: bool = True
    contract_share: Share | None = None
    claims_per_contract: int = Field(default=1, ge=1, le=100)
    max_contract_months: int | None = Field(default=None, ge=1, le=120)
    contracts_signed_from: dt.date | None = None
    evidence_to_claim: list[EvidenceKind] = Field(default_factory=_contract_only, max_length=3)
    evidence_to_redeem: list[EvidenceKind] = Field(default_factory=list, max_length=3)
    expires_after_days: int | None = Field(default=None, ge=1, le=3660)
    cite: str = Field(default="", max_length=1000)


class StackingEntry(_Strict):
    """Stacks with other issuers' programmes: see ``billing.stacking``."""

    order: int = Field(ge=1, le=100)
    combined_cap: Share
    cite: str = Field(default="", max_length=1000)


class SourceEntry(_Strict):
    """Where the programme's terms come from: the issuer's text, or a reprint of it."""

    title: str = Field(min_length=1, max_length=300)
    url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    date: dt.date
    issuer_text: bool  # false: a secondary source (a reprint, a summary)
    quote: str = Field(default="", max_length=4000)


class VoucherPolicyFile(_Strict):
    """The file format; field names match ``billing.policy.PolicyTerms``."""

    format: Literal["suanli/voucher-policy/v1"]
    programme: Name
    version: int = Field(ge=1, le=10_000)
    kind: Literal["compute", "model", "corpus", "provider_subsidy"]
    title: str = Field(min_length=1, max_length=300)
    cite: str = Field(min_length=1, max_length=2000)
    issuer: Name | None = None  # who pays; programmes of one issuer never stack
    illustrative: bool = False
    annual_pool: Money | None
    rate_domestic: Rate
    rate_non_domestic: Rate
    rate_by_class: list[ClassRateEntry] = Field(default_factory=list, max_length=20)
    tenant_cap: Money | None
    tenant_cap_scope: Literal["year", "programme"] = "year"
    project_cap: Money | None = None
    valid_from: dt.date
    valid_to: dt.date
    eligibility: list[EligibilityEntry] = Field(default_factory=list, max_length=50)
    # Kept for files written before ``stacking``: false is the only value it ever took.
    stacks: Literal[False] = False
    # 即领即享 (claimed and usable at once) is the default: no recorded claim is needed.
    claim_required: bool = False
    claim: ClaimEntry | None = None
    stacking: StackingEntry | None = None
    sources: list[SourceEntry] = Field(default_factory=list, max_length=20)
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


LIBRARY_PREFIX = "library:"


def library_names() -> list[str]:
    """The folders of ``suanli/data/vouchers/library/``: other places' programmes, shipped
    as files for an operator to adopt (``--vouchers library:NAME``), never loaded by
    default."""
    folder = resources.files("suanli").joinpath("data/vouchers/library")
    return sorted(f.name for f in folder.iterdir() if f.is_dir() and not f.name.startswith("_"))


def resolve_policy_dir(arg: str) -> Path:
    """``library:NAME`` as the shipped folder, anything else as a path."""
    if arg.startswith(LIBRARY_PREFIX):
        name = arg[len(LIBRARY_PREFIX) :]
        known = library_names()
        if name not in known:
            raise InvalidVoucherPolicy(
                errors=[FieldError("vouchers", "not_allowed", name, ", ".join(known))],
                source=arg,
            )
        return Path(str(resources.files("suanli").joinpath(f"data/vouchers/library/{name}")))
    return Path(arg)


def library_policies(include_illustrative: bool = True) -> list[VoucherPolicyFile]:
    """Every programme of the shipped library, checked as files and as one set."""
    named: list[tuple[str, VoucherPolicyFile]] = []
    for name in library_names():
        folder = resolve_policy_dir(LIBRARY_PREFIX + name)
        named += [(str(f), load_voucher_policy_file(f)) for f in sorted(folder.glob("*.yaml"))]
    check_policy_set(named)
    kept = [p for _, p in named if include_illustrative or not p.illustrative]
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
    errors += _class_rate_checks(p)
    if p.stacking is not None and p.issuer is None:
        errors.append(
            FieldError("issuer", "missing", None, "an issuer id: stacking is across issuers")
        )
    if p.claim is not None and not p.claim.evidence_to_claim and p.claim.approval:
        errors.append(
            FieldError("claim.evidence_to_claim", "not_allowed", "[]", "at least one of contract")
        )
    seen: set[str] = set()
    for i, rule in enumerate(p.eligibility):
        if rule.attribute in seen:
            errors.append(
                FieldError(f"eligibility[{i}].attribute", "duplicate_name", rule.attribute)
            )
        seen.add(rule.attribute)
    return errors


def _class_rate_checks(p: VoucherPolicyFile) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str | bool]] = set()
    for i, c in enumerate(p.rate_by_class):
        key = (c.attribute, c.value)
        if key in seen:
            errors.append(FieldError(f"rate_by_class[{i}].value", "duplicate_name", str(c.value)))
        seen.add(key)
    return errors


def load_voucher_policy_dir(path: Path) -> list[VoucherPolicyFile]:
    """Every ``*.yaml`` policy file in ``path`` (not recursive), checked one by one and as a
    set: one (programme, version) per set, one stacking order per issuer."""
    if not path.is_dir():
        raise InvalidVoucherPolicy(
            errors=[FieldError("", "not_allowed", str(path), "a folder of policy files")],
            source=str(path),
        )
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise InvalidVoucherPolicy(
            errors=[FieldError("", "not_allowed", str(path), "a folder with *.yaml files")],
            source=str(path),
        )
    if len(files) > MAX_POLICY_FILES:
        raise InvalidVoucherPolicy(
            errors=[FieldError("", "out_of_range", len(files), f"<= {MAX_POLICY_FILES} files")],
            source=str(path),
        )
    loaded = [(f, load_voucher_policy_file(f)) for f in files]
    check_policy_set([(str(f), p) for f, p in loaded])
    return [p for _, p in loaded]


def check_policy_set(named: list[tuple[str, VoucherPolicyFile]]) -> None:
    """Rules between files: a (programme, version) once; an issuer's stacking order one."""
    first: dict[tuple[str, int], str] = {}
    orders: dict[str, tuple[int, str]] = {}
    for source, p in named:
        key = (p.programme, p.version)
        if key in first:
            raise InvalidVoucherPolicy(
                errors=[
                    FieldError(
                        "version", "duplicate_name", f"{p.programme} v{p.version}", first[key]
                    )
                ],
                source=source,
            )
        first[key] = source
        if p.stacking is not None and p.issuer is not None:
            seen = orders.setdefault(p.issuer, (p.stacking.order, source))
            if seen[0] != p.stacking.order:
                raise InvalidVoucherPolicy(
                    errors=[
                        FieldError(
                            "stacking.order",
                            "not_allowed",
                            str(p.stacking.order),
                            f"{seen[0]}, as issuer {p.issuer} has in {seen[1]}",
                        )
                    ],
                    source=source,
                )
