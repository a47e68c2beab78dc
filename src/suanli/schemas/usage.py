"""Wire models of /api/v1/usage: model-service tokens, token charges and model vouchers."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageRowResponse(_Wire):
    period: str  # China time: minute, hour, day or month, as asked
    caller: str
    api_key_id: str | None
    service_id: str
    service_name: str
    owner: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal  # exact yuan at the prices answered at (0 when the owner pays)


class TokenChargeResponse(_Wire):
    key: str  # the ledger entry is settle:<key>
    service_id: str
    service_name: str
    caller: str
    owner: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    gross: Decimal
    voucher: Decimal  # 模型券 deduction
    net: Decimal
    programme: str | None
    why: list[str]  # each programme considered, applied or not, and why
    settled_at: str
    posted: bool


class UsageResponse(_Wire):
    tenant: str | None  # None: every tenant (the operator)
    side: Literal["caller", "publisher"]
    month: str
    by: Literal["minute", "hour", "day", "month"]
    requests: int
    prompt_tokens: int
    completion_tokens: int
    gross: Decimal  # charged to the caller (side caller) or earned (side publisher)
    voucher: Decimal  # of which model vouchers paid
    net: Decimal  # the caller's cash
    fee: Decimal  # the platform's fee on it (the publisher is credited gross - fee)
    rows: list[UsageRowResponse]
    charges: list[TokenChargeResponse]
