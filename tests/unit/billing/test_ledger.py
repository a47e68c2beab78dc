"""The ledger: balanced entries only, each key once, corrections by reversal, verify proves it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanli.billing.ledger import (
    AlreadyReversed,
    Entry,
    IdempotencyConflict,
    Ledger,
    Posting,
    UnbalancedEntry,
    UnknownEntry,
    external,
    provider_receivable,
    tenant_cash,
    tenant_voucher,
    verify_ledger,
    voucher_pool,
)
from suanli.billing.settlement import pool_opening_entry, settlement_entry, top_up_entry
from suanli.billing.vouchers import VoucherUsage, charge_for_line, decide
from tests.unit.billing.make import COMPUTE, ELIGIBLE, POLICIES, T0, make_line

D = Decimal


def transfer(key: str, amount: str = "10.00") -> Entry:
    return Entry(
        key, (Posting(external(), -D(amount)), Posting(tenant_cash("acme"), D(amount))), T0
    )


class TestEntries:
    def test_an_unbalanced_entry_is_refused(self) -> None:
        with pytest.raises(UnbalancedEntry) as info:
            Entry("k", (Posting(external(), D("-1.00")), Posting(tenant_cash("a"), D("0.99"))), T0)
        assert "-0.01" in info.value.message("en")
        assert "借贷不平" in info.value.message("zh")

    @pytest.mark.parametrize("amount", ["0.00", "0.001"], ids=["zero", "below-the-fen"])
    def test_a_posting_is_a_non_zero_fen_amount(self, amount: str) -> None:
        with pytest.raises(ValueError, match="fen"):
            Posting(external(), D(amount))


class TestIdempotency:
    def test_a_repeated_key_is_a_no_op_returning_the_original(self) -> None:
        ledger = Ledger()
        first = ledger.post(transfer("top-up:1"))
        again = ledger.post(transfer("top-up:1"))
        assert (first.applied, again.applied) == (True, False)
        assert again.entry is first.entry
        assert ledger.balance(tenant_cash("acme")) == D("10.00")
        assert ledger.verify().ok

    def test_a_key_reused_for_different_postings_is_a_conflict(self) -> None:
        ledger = Ledger()
        ledger.post(transfer("top-up:1"))
        with pytest.raises(IdempotencyConflict):
            ledger.post(transfer("top-up:1", "11.00"))


class TestReversal:
    def test_a_correction_is_a_reversing_entry(self) -> None:
        ledger = Ledger()
        ledger.post(transfer("top-up:1"))
        ledger.reverse("top-up:1", T0, "wrong tenant")
        assert ledger.balance(tenant_cash("acme")) == 0
        assert len(ledger.entries) == 2
        assert ledger.verify().ok

    def test_an_entry_is_reversed_once(self) -> None:
        ledger = Ledger()
        ledger.post(transfer("top-up:1"))
        ledger.reverse("top-up:1", T0)
        assert not ledger.reverse("top-up:1", T0).applied  # same key: a no-op
        mirror = ledger.get("reverse:top-up:1")
        assert mirror is not None
        with pytest.raises(AlreadyReversed):
            ledger.post(Entry("other", mirror.postings, T0, reverses="top-up:1"))

    def test_an_unknown_entry_cannot_be_reversed(self) -> None:
        with pytest.raises(UnknownEntry):
            Ledger().reverse("nope", T0)


class TestVerify:
    def test_verify_catches_a_tampered_balance_and_a_doubled_key(self) -> None:
        ledger = Ledger()
        ledger.post(transfer("a"))
        balances = ledger.balances()
        balances[tenant_cash("acme")] = D("11.00")
        report = verify_ledger([*ledger.entries, ledger.entries[0]], balances)
        assert not report.ok
        assert any("applied twice" in p for p in report.problems)
        assert any("tenant_cash:acme" in p for p in report.problems)


class TestSettlement:
    def test_a_domestic_1000_line_settles_in_one_balanced_entry(self) -> None:
        ledger = Ledger()
        policy = POLICIES[COMPUTE]
        opening = pool_opening_entry(policy, 2025, T0)
        assert opening is not None
        ledger.post(opening)
        ledger.post(top_up_entry("acme", D("600.00"), "bank-1", T0))
        line = make_line("1000.00")
        d = decide(charge_for_line(line), ELIGIBLE, [policy], VoucherUsage())
        entry = settlement_entry(line, d, T0)
        assert entry is not None
        assert ledger.post(entry).applied
        assert ledger.balance(tenant_cash("acme")) == 0
        assert ledger.balance(provider_receivable("prov")) == D("1000.00")
        assert ledger.balance(voucher_pool(COMPUTE, 2025)) == D("99999600.00")
        assert ledger.inflow(tenant_voucher("acme", COMPUTE, 2025)) == D("400.00")
        assert ledger.verify().ok

    def test_a_platform_fee_comes_out_of_the_provider_share(self) -> None:
        line = make_line("1000.00")
        d = decide(charge_for_line(line), {}, [], VoucherUsage())
        entry = settlement_entry(line, d, T0, platform_fee_rate=D("0.05"))
        assert entry is not None
        assert entry.amount_on(provider_receivable("prov")) == D("950.00")

    def test_a_zero_line_posts_nothing(self) -> None:
        line = make_line("0.00")
        d = decide(charge_for_line(line), ELIGIBLE, [POLICIES[COMPUTE]], VoucherUsage())
        assert settlement_entry(line, d, T0) is None
