"""The double-entry ledger: balanced, append-only entries applied once per idempotency key.

Sign convention: every posting is a signed Decimal yuan amount and every entry sums to
exactly 0.00. A positive balance is value the account holds (cash a tenant prepaid, a
pool not yet spent, money the platform owes a provider); a negative one is value it has
given or owes (a tenant's unpaid usage, a programme's funding already committed).

Nothing is ever edited or deleted: a mistake is corrected by a reversing entry, so the
history an auditor reads is the history that happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from suanli.billing.money import ZERO, exact, is_fen, total
from suanli.domain.errors import Conflict, NotFound


class AccountKind(StrEnum):
    TENANT_CASH = "tenant_cash"  # owner: tenant
    TENANT_VOUCHER = "tenant_voucher"  # owner: tenant; scope: programme/year
    VOUCHER_POOL = "voucher_pool"  # owner: programme; scope: year
    PROGRAMME_FUNDING = "programme_funding"  # owner: programme; scope: year
    PROVIDER_RECEIVABLE = "provider_receivable"  # owner: provider
    PLATFORM_REVENUE = "platform_revenue"
    EXTERNAL = "external"  # money crossing the platform's boundary (bank, payouts)


@dataclass(frozen=True, slots=True, order=True)
class Account:
    """One ledger account: a kind, whose it is, and an optional scope (programme, year)."""

    kind: AccountKind
    owner: str = ""
    scope: str = ""

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind.value, self.owner, self.scope) if p)


def tenant_cash(tenant: str) -> Account:
    return Account(AccountKind.TENANT_CASH, tenant)


def tenant_voucher(tenant: str, programme: str, year: int) -> Account:
    """A company's voucher balance under one programme in one year (caps are per year)."""
    return Account(AccountKind.TENANT_VOUCHER, tenant, f"{programme}/{year}")


def voucher_pool(programme: str, year: int) -> Account:
    return Account(AccountKind.VOUCHER_POOL, programme, str(year))


def programme_funding(programme: str, year: int) -> Account:
    return Account(AccountKind.PROGRAMME_FUNDING, programme, str(year))


def provider_receivable(provider: str) -> Account:
    return Account(AccountKind.PROVIDER_RECEIVABLE, provider)


def platform_revenue() -> Account:
    return Account(AccountKind.PLATFORM_REVENUE)


def external(name: str = "bank") -> Account:
    return Account(AccountKind.EXTERNAL, name)


class LedgerError(Conflict):
    """A posting the ledger refuses (messages: the ``ledger.*`` codes in suanli.domain.i18n)."""


class UnbalancedEntry(LedgerError):
    code = "ledger.unbalanced"


class MalformedEntry(LedgerError):
    code = "ledger.malformed"


class IdempotencyConflict(LedgerError):
    code = "ledger.key_conflict"


class AlreadyReversed(LedgerError):
    code = "ledger.already_reversed"


class UnknownEntry(NotFound):
    code = "ledger.unknown_entry"


@dataclass(frozen=True, slots=True)
class Posting:
    """A signed fen amount on one account; zero postings are refused as noise."""

    account: Account
    amount: Decimal

    def __post_init__(self) -> None:
        amount = exact(self.amount)
        if not is_fen(amount) or amount == 0:
            raise ValueError(f"posting on {self.account} must be a non-zero fen amount")


@dataclass(frozen=True, slots=True)
class Entry:
    """A balanced set of postings, applied at most once per ``key``."""

    key: str
    postings: tuple[Posting, ...]
    at: dt.datetime
    memo: str = ""
    reverses: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key:
            raise MalformedEntry(key="''", detail="empty idempotency key")
        if self.at.tzinfo is None:
            raise MalformedEntry(key=self.key, detail="naive timestamp")
        if len(self.postings) < 2:
            raise MalformedEntry(key=self.key, detail="fewer than two postings")
        s = total(p.amount for p in self.postings)
        if s != 0:
            raise UnbalancedEntry(key=self.key, sum=s)

    def same_postings(self, other: Entry) -> bool:
        """Equal effect, whatever the order, memo or time (a retry may differ in those)."""
        return sorted(_pair(p) for p in self.postings) == sorted(_pair(p) for p in other.postings)

    def amount_on(self, account: Account) -> Decimal:
        return total(p.amount for p in self.postings if p.account == account)


def _pair(p: Posting) -> tuple[Account, Decimal]:
    return (p.account, p.amount)


@dataclass(frozen=True)
class Posted:
    """The result of posting: the entry now in the ledger, and whether this call applied it."""

    entry: Entry
    applied: bool


@dataclass(frozen=True)
class LedgerReport:
    """What :func:`verify_ledger` proved, or the problems it found."""

    entries: int
    postings: int
    accounts: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "postings": self.postings,
            "accounts": self.accounts,
            "problems": list(self.problems),
        }


class Ledger:
    """In-memory, append-only ledger: the rules the stored ledger must follow too."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._by_key: dict[str, Entry] = {}
        self._reversed_by: dict[str, str] = {}
        self._balances: dict[Account, Decimal] = {}
        self._inflow: dict[Account, Decimal] = {}

    @classmethod
    def replay(cls, entries: Iterable[Entry]) -> Ledger:
        """Rebuild a ledger from stored entries, with every rule checked again."""
        ledger = cls()
        for entry in entries:
            ledger.post(entry)
        return ledger

    def post(self, entry: Entry) -> Posted:
        """Apply ``entry`` once; a repeated key is a no-op returning the original.

        Raises IdempotencyConflict when the key was used for *different* postings (a bug
        upstream that must not be hidden), AlreadyReversed / UnknownEntry for a bad
        reversal. Balanced-ness is checked when the Entry is built.
        """
        original = self._by_key.get(entry.key)
        if original is not None:
            if not original.same_postings(entry):
                raise IdempotencyConflict(key=entry.key)
            return Posted(original, applied=False)
        if entry.reverses is not None:
            self._check_reversal(entry.reverses)
            self._reversed_by[entry.reverses] = entry.key
        self._apply(entry)
        return Posted(entry, applied=True)

    def _check_reversal(self, target: str) -> None:
        if target not in self._by_key:
            raise UnknownEntry(key=target)
        if target in self._reversed_by:
            raise AlreadyReversed(key=target, by=self._reversed_by[target])

    def _apply(self, entry: Entry) -> None:
        self._entries.append(entry)
        self._by_key[entry.key] = entry
        for p in entry.postings:
            self._balances[p.account] = self._balances.get(p.account, ZERO) + p.amount
            if p.amount > 0:
                self._inflow[p.account] = self._inflow.get(p.account, ZERO) + p.amount

    def reverse(self, key: str, at: dt.datetime, memo: str = "") -> Posted:
        """Post the mirror image of entry ``key`` (key ``reverse:<key>``), the only correction."""
        original = self._by_key.get(key)
        if original is None:
            raise UnknownEntry(key=key)
        mirror = tuple(Posting(p.account, -p.amount) for p in original.postings)
        reversal = Entry(f"reverse:{key}", mirror, at, memo or f"reversal of {key}", reverses=key)
        return self.post(reversal)

    def get(self, key: str) -> Entry | None:
        return self._by_key.get(key)

    def balance(self, account: Account) -> Decimal:
        return self._balances.get(account, ZERO)

    def inflow(self, account: Account) -> Decimal:
        """Sum of the positive postings to ``account`` (e.g. vouchers granted to a company)."""
        return self._inflow.get(account, ZERO)

    def balances(self) -> dict[Account, Decimal]:
        return dict(self._balances)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def verify(self) -> LedgerReport:
        """Prove the running balances equal the sum of postings and no key applied twice."""
        return verify_ledger(self._entries, self._balances)


def verify_ledger(entries: Iterable[Entry], balances: Mapping[Account, Decimal]) -> LedgerReport:
    """Check stored ``entries`` against stored ``balances`` from scratch (``ledger verify``).

    Proves: every entry balances to 0.00 in fen amounts; no idempotency key occurs twice;
    every reversal names an earlier entry and no entry is reversed twice; the balance of
    every account equals the sum of its postings; all balances together sum to 0.00.
    """
    problems: list[str] = []
    seen: set[str] = set()
    reversed_: set[str] = set()
    sums: dict[Account, Decimal] = {}
    n_entries = n_postings = 0
    for entry in entries:
        n_entries += 1
        n_postings += len(entry.postings)
        problems.extend(_entry_problems(entry, seen, reversed_))
        seen.add(entry.key)
        for p in entry.postings:
            sums[p.account] = sums.get(p.account, ZERO) + p.amount
    for account in sorted(set(sums) | set(balances)):
        want, got = sums.get(account, ZERO), balances.get(account, ZERO)
        if want != got:
            problems.append(f"{account}: balance {got} but postings sum to {want}")
    if total(balances.values()) != 0:
        problems.append(f"all balances sum to {total(balances.values())}, not 0.00")
    return LedgerReport(n_entries, n_postings, len(sums), tuple(problems))


def _entry_problems(entry: Entry, seen: set[str], reversed_: set[str]) -> list[str]:
    out: list[str] = []
    if entry.key in seen:
        out.append(f"{entry.key}: idempotency key applied twice")
    s = total(p.amount for p in entry.postings)
    if s != 0:
        out.append(f"{entry.key}: postings sum to {s}")
    if any(not is_fen(p.amount) for p in entry.postings):
        out.append(f"{entry.key}: an amount is not in whole fen")
    if entry.reverses is not None:
        if entry.reverses not in seen:
            out.append(f"{entry.key}: reverses unknown or later entry {entry.reverses}")
        if entry.reverses in reversed_:
            out.append(f"{entry.key}: {entry.reverses} reversed twice")
        reversed_.add(entry.reverses)
    return out
