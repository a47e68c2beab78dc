"""The format's newer rules at load: each mistake names the file, the field, the value and
what is allowed; a folder is checked as a set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from suanli.schemas.voucherfile import (
    InvalidVoucherPolicy,
    library_names,
    load_voucher_policy_dir,
    parse_voucher_policy_text,
    resolve_policy_dir,
)

GOOD: dict[str, Any] = {
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
}


def errors_of(**changes: Any) -> tuple[set[tuple[str, str]], InvalidVoucherPolicy]:
    data = {**GOOD, **changes}
    with pytest.raises(InvalidVoucherPolicy) as info:
        parse_voucher_policy_text(yaml.safe_dump(data, allow_unicode=True), "t.yaml")
    return {(e.field, e.code) for e in info.value.errors}, info.value


@pytest.mark.parametrize(
    ("changes", "want"),
    [
        ({"stacking": {"order": 1, "combined_cap": 1.0}}, ("issuer", "missing")),
        (
            {"issuer": "x", "stacking": {"order": 1, "combined_cap": 1.5}},
            ("stacking.combined_cap", "out_of_range"),
        ),
        (
            {"issuer": "x", "stacking": {"order": 0, "combined_cap": 1}},
            ("stacking.order", "out_of_range"),
        ),
        ({"claim": {"contract_share": 0}}, ("claim.contract_share", "out_of_range")),
        (
            {"claim": {"evidence_to_redeem": ["receipt"]}},
            ("claim.evidence_to_redeem[0]", "not_allowed"),
        ),
        ({"claim": {"max_contract_months": 0}}, ("claim.max_contract_months", "out_of_range")),
        ({"claim": {"evidence_to_claim": []}}, ("claim.evidence_to_claim", "not_allowed")),
        ({"claim": {"surprise": 1}}, ("claim.surprise", "extra_forbidden")),
        (
            {
                "rate_by_class": [
                    {
                        "attribute": "stage",
                        "value": "startup",
                        "rate_domestic": 2,
                        "rate_non_domestic": 0.6,
                    }
                ]
            },
            ("rate_by_class[0].rate_domestic", "out_of_range"),
        ),
        (
            {
                "rate_by_class": [  # two equal entries, written out (no YAML alias)
                    {
                        "attribute": "stage",
                        "value": "s",
                        "rate_domestic": 0.6,
                        "rate_non_domestic": 0.6,
                    }
                    for _ in range(2)
                ]
            },
            ("rate_by_class[1].value", "duplicate_name"),
        ),
        (
            {"eligibility": [{"attribute": "a", "allowed": [True], "of": "model"}]},
            ("eligibility[0].of", "not_allowed"),
        ),
        ({"kind": "vouchers"}, ("kind", "not_allowed")),
        (
            {
                "sources": [
                    {"title": "t", "date": "2025-01-01", "issuer_text": True, "url": "ftp://x"}
                ]
            },
            ("sources[0].url", "not_allowed"),
        ),
    ],
    ids=[
        "stacking-without-issuer",
        "sum-cap-above-100-percent",
        "order-zero",
        "claim-share-zero",
        "unknown-evidence",
        "zero-month-contract",
        "approval-without-evidence",
        "unknown-claim-field",
        "class-rate-above-one",
        "class-twice",
        "eligibility-of-what",
        "unknown-kind",
        "source-url-not-http",
    ],
)
def test_each_mistake_names_its_field(changes: dict[str, Any], want: tuple[str, str]) -> None:
    found, exc = errors_of(**changes)
    assert want in found, found
    assert exc.message("en").startswith("t.yaml: ")
    assert "政策文件无效" in exc.message("zh")


def write(folder: Path, name: str, **changes: Any) -> None:
    (folder / name).write_text(yaml.safe_dump({**GOOD, **changes}, allow_unicode=True))


def test_a_folder_refuses_one_programme_version_twice(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml")
    write(tmp_path, "b.yaml")
    with pytest.raises(InvalidVoucherPolicy) as info:
        load_voucher_policy_dir(tmp_path)
    assert info.value.source == str(tmp_path / "b.yaml")
    (error,) = info.value.errors
    assert (error.field, error.value, error.allowed) == (
        "version",
        "some-city-compute v2",
        str(tmp_path / "a.yaml"),
    )


def test_one_issuer_has_one_stacking_order(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", issuer="city", stacking={"order": 1, "combined_cap": 1})
    write(
        tmp_path,
        "b.yaml",
        programme="other",
        issuer="city",
        stacking={"order": 2, "combined_cap": 1},
    )
    with pytest.raises(InvalidVoucherPolicy) as info:
        load_voucher_policy_dir(tmp_path)
    assert "stacking.order" in info.value.message("en")
    assert "a.yaml" in info.value.message("en")


def test_a_folder_must_exist_and_hold_policy_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidVoucherPolicy):
        load_voucher_policy_dir(tmp_path / "nope")
    with pytest.raises(InvalidVoucherPolicy):
        load_voucher_policy_dir(tmp_path)


def test_the_library_is_named_and_an_unknown_name_lists_the_known() -> None:
    assert library_names() == ["beijing", "shanghai", "shenzhen"]
    assert len(load_voucher_policy_dir(resolve_policy_dir("library:shenzhen"))) == 3
    with pytest.raises(InvalidVoucherPolicy) as info:
        resolve_policy_dir("library:atlantis")
    assert info.value.errors[0].allowed == "beijing, shanghai, shenzhen"


def test_every_library_file_cites_a_dated_source_with_its_text() -> None:
    for name in library_names():
        for f in load_voucher_policy_dir(resolve_policy_dir(f"library:{name}")):
            assert f.sources, f.programme
            assert all(s.url.startswith("http") and s.quote for s in f.sources), f.programme
            # no issuer's own page could be reached: every source says it is secondary
            assert not any(s.issuer_text for s in f.sources), f.programme
