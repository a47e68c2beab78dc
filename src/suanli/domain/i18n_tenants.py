"""Tenants' limits in zh-CN and en (a tenant's own pools); joined into
suanli.domain.i18n.MESSAGES (see suanli.scheduler.plans, ``TenantTerms.pools``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

TENANTS: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    "pool_tenant_excluded": {
        "en": "not among the pools {tenant} may use ({wanted})",
        "zh": "不在 {tenant} 可使用的资源池（{wanted}）之中",
    },
}
