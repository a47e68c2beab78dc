"""The /api/v1/voucher-redemptions calls `suanli voucher redeem | redemptions` make."""

from __future__ import annotations

from typing import Any

from suanli.client.http import SuanliClient
from suanli.schemas.redemptions import RedemptionReportResponse


def redeem(c: SuanliClient, period: str) -> RedemptionReportResponse:
    r = c.call("POST", "/voucher-redemptions", json={"period": period})
    return RedemptionReportResponse.model_validate(r.json())


def redemptions(
    c: SuanliClient, period: str | None, tenant: str | None
) -> RedemptionReportResponse:
    params: dict[str, Any] = {
        k: v for k, v in (("period", period), ("tenant", tenant)) if v is not None
    }
    r = c.call("GET", "/voucher-redemptions", params=params)
    return RedemptionReportResponse.model_validate(r.json())
