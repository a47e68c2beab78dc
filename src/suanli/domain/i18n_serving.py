"""Model services' words in zh-CN and en; joined into suanli.domain.i18n.MESSAGES."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

SERVING: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    "invalid_service_spec": {"en": "the service spec is invalid", "zh": "服务描述无效"},
    "what.service_spec": {"en": "service spec", "zh": "服务描述文件"},
    "service.max_below_min": {
        "en": "max {max} is below min {min}; allowed: a whole number from {min} to 256",
        "zh": "max 为 {max}，小于 min {min}；允许：{min} 到 256 之间的整数",
    },
    "service.tenants_needed": {
        "en": "visibility is tenants but no tenant is named; name at least one tenant",
        "zh": "可见范围为 tenants，但未列出任何租户；请至少列出一个租户",
    },
    "service.tenants_unused": {
        "en": "tenants are listed but visibility is {visibility}; set visibility: tenants "
        "or remove the list",
        "zh": "列出了租户，但可见范围为 {visibility}；请将 visibility 设为 tenants 或删除该列表",
    },
    "service.tenant_twice": {
        "en": "tenant {tenant} is listed twice; each tenant once",
        "zh": "租户 {tenant} 重复列出；每个租户只能列出一次",
    },
    "service.run_without_port": {
        "en": "run must start a server on $PORT (the port suanli gives each replica); "
        "the command does not mention PORT",
        "zh": "run 必须在 $PORT（suanli 为每个副本分配的端口）上启动服务；命令中未出现 PORT",
    },
    "service.port_in_env": {
        "en": "PORT is set by suanli for each replica; remove it from env",
        "zh": "PORT 由 suanli 为每个副本设置；请从 env 中删除",
    },
    "service.model_needed": {
        "en": "scaling.metric tokens_per_s needs a model block (an OpenAI-compatible "
        "service, whose tokens the gateway counts); add model: or use in_flight or rps",
        "zh": "scaling.metric 为 tokens_per_s 时需要 model 段（OpenAI 兼容服务，由网关计数 "
        "token）；请添加 model: 或改用 in_flight、rps",
    },
    "invalid_serve_trace": {"en": "the request trace is invalid", "zh": "请求轨迹文件无效"},
    "invalid_latency_model": {
        "en": "the replica latency model is invalid",
        "zh": "副本延迟模型无效",
    },
}
