"""Policy files: the shipped programmes load, and every mistake names its field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from suanli.billing.policy import VoucherKind, VoucherPolicy
from suanli.schemas.voucherfile import (
    InvalidVoucherPolicy,
    VoucherPolicyFile,
    load_voucher_policy_file,
    parse_voucher_policy_text,
    shipped_voucher_policies,
)
from tests.unit.billing.make import COMPUTE, EXAMPLE, MODEL, SUBSIDY

GOOD = {
    "format": "suanli/voucher-policy/v1",
    "programme": "some-city-compute",
    "version": 2,
    "kind": "compute",
    "title": "Some city compute voucher",
    "cite": "a document, §1",
    "annual_pool": 1000000,
    "rate_domestic": 0.4,
    "rate_non_domestic": 0.3,
    "tenant_cap": 100000,
    "valid_from": "2025-01-01",
    "valid_to": "2025-12-31",
    "eligibility": [{"attribute": "registered_zone", "allowed": ["some-zone"]}],
    "stacks": False,
}


def parse(**changes: object) -> VoucherPolicyFile:
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not ...}
    return parse_voucher_policy_text(yaml.safe_dump(data, allow_unicode=True), "t.yaml")


def errors_of(**changes: object) -> tuple[set[tuple[str, str]], InvalidVoucherPolicy]:
    with pytest.raises(InvalidVoucherPolicy) as info:
        parse(**changes)
    return {(e.field, e.code) for e in info.value.errors}, info.value


class TestShippedProgrammes:
    def test_the_seed_programmes_ship_and_the_example_is_opt_in(self) -> None:
        assert [p.programme for p in shipped_voucher_policies()] == [COMPUTE, MODEL, SUBSIDY]
        every = {p.programme: p for p in shipped_voucher_policies(include_illustrative=True)}
        assert every[EXAMPLE].illustrative

    def test_the_compute_voucher_says_what_seed_004_section_1_says(self) -> None:
        p = VoucherPolicy.from_terms(
            next(f for f in shipped_voucher_policies() if f.programme == COMPUTE)
        )
        assert p.kind is VoucherKind.COMPUTE
        assert (p.rate_domestic, p.rate_non_domestic) == (Decimal("0.40"), Decimal("0.30"))
        assert p.annual_pool == Decimal("100000000.00")
        assert p.tenant_cap == Decimal("20000000.00")
        assert (str(p.valid_from), str(p.valid_to)) == ("2024-03-28", "2027-03-31")
        assert {r.attribute for r in p.eligibility} >= {
            "registered_zone",
            "no_major_penalty_3y",
            "not_on_dishonesty_list",
        }
        assert "§1" in p.cite

    def test_a_new_city_is_a_new_file(self, tmp_path: Path) -> None:
        path = tmp_path / "some-city.yaml"
        path.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
        p = VoucherPolicy.from_terms(load_voucher_policy_file(path))
        assert (p.programme, p.version, p.rate_domestic) == (
            "some-city-compute",
            2,
            Decimal("0.4"),
        )


class TestFieldErrors:
    @pytest.mark.parametrize(
        ("changes", "want"),
        [
            ({"rate_domestic": -0.1}, ("rate_domestic", "out_of_range")),
            ({"rate_non_domestic": 1.2}, ("rate_non_domestic", "out_of_range")),
            ({"kind": "coupon"}, ("kind", "not_allowed")),
            ({"valid_from": ...}, ("valid_from", "missing")),
            ({"valid_to": "2024-12-31"}, ("valid_to", "out_of_range")),
            ({"annual_pool": -5}, ("annual_pool", "out_of_range")),
            ({"tenant_cap": "12.345"}, ("tenant_cap", "invalid_value")),
            ({"tenant_cap": 2000000}, ("tenant_cap", "out_of_range")),
            ({"stacks": True}, ("stacks", "not_allowed")),
            ({"surprise": 1}, ("surprise", "extra_forbidden")),
            (
                # Two equal rules, not one object twice (YAML would write an alias: refused).
                {"eligibility": [{"attribute": "a", "allowed": [True]} for _ in range(2)]},
                ("eligibility[1].attribute", "duplicate_name"),
            ),
        ],
        ids=[
            "negative-rate",
            "rate-above-one",
            "unknown-kind",
            "missing-validity",
            "ends-before-it-starts",
            "negative-pool",
            "money-below-the-fen",
            "cap-above-pool",
            "stacking",
            "unknown-field",
            "rule-twice",
        ],
    )
    def test_each_mistake_names_its_field(
        self, changes: dict[str, object], want: tuple[str, str]
    ) -> None:
        found, _ = errors_of(**changes)
        assert want in found

    def test_the_message_names_the_file_and_field_in_both_languages(self) -> None:
        _, exc = errors_of(rate_domestic=1.5)
        assert exc.message("en").startswith("t.yaml: the voucher policy file is invalid")
        assert "rate_domestic" in exc.message("en")
        assert "政策文件无效" in exc.message("zh")

    def test_a_yaml_syntax_error_is_a_policy_error(self) -> None:
        with pytest.raises(InvalidVoucherPolicy) as info:
            parse_voucher_policy_text("kind: [", "bad.yaml")
        assert info.value.errors[0].code == "yaml_syntax"

    def test_rates_keep_the_digits_written(self) -> None:
        assert parse(rate_domestic=0.1).rate_domestic == Decimal("0.1")
