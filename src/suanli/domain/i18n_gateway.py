"""The gateway's and API keys' words in zh-CN and en; joined into suanli.domain.i18n.MESSAGES."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

GATEWAY: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    "gateway.no_key": {
        "en": "no API key: send 'Authorization: Bearer sk-sl-...' (make one with suanli apikey create)",
        "zh": "缺少 API 密钥：请发送 'Authorization: Bearer sk-sl-...'（用 suanli apikey create 创建）",
    },
    "gateway.bad_key": {
        "en": "the API key is not valid (unknown, revoked or expired)",
        "zh": "API 密钥无效（不存在、已吊销或已过期）",
    },
    "gateway.model_not_found": {
        "en": "the model '{model}' does not exist or you do not have access to it",
        "zh": "模型 '{model}' 不存在，或你无权访问",
    },
    "gateway.service_not_found": {
        "en": "the service '{service}' does not exist or you do not have access to it",
        "zh": "服务 '{service}' 不存在，或你无权访问",
    },
    "gateway.not_found": {
        "en": "no such endpoint: {path}; OpenAI-compatible endpoints: {allowed}",
        "zh": "没有此接口：{path}；兼容 OpenAI 的接口：{allowed}",
    },
    "gateway.bad_json": {
        "en": "the request body must be a JSON object: {detail}",
        "zh": "请求体必须是 JSON 对象：{detail}",
    },
    "gateway.model_missing": {
        "en": "field 'model' is required: a string naming a model from /v1/models",
        "zh": "缺少字段 'model'：应为 /v1/models 中某个模型名（字符串）",
    },
    "gateway.bad_field": {
        "en": "field '{field}' has value {value}; allowed: {allowed}",
        "zh": "字段 '{field}' 的取值 {value} 无效；允许：{allowed}",
    },
    "gateway.too_large": {
        "en": "the request body is over {limit} bytes",
        "zh": "请求体超过 {limit} 字节",
    },
    "gateway.key_rate": {
        "en": "this API key may send {rate} requests a second (bursts of {burst}); retry in {retry_after} s",
        "zh": "此 API 密钥每秒最多 {rate} 个请求（突发 {burst} 个）；请在 {retry_after} 秒后重试",
    },
    "gateway.saturated": {
        "en": "every replica of '{service}' is busy and it runs its maximum of {max} replicas; retry in {retry_after} s",
        "zh": "服务 '{service}' 的所有副本都已满载，且已达最大副本数 {max}；请在 {retry_after} 秒后重试",
    },
    "gateway.no_replica": {
        "en": "no replica of '{service}' became ready within {timeout} s; retry later",
        "zh": "服务 '{service}' 在 {timeout} 秒内没有就绪的副本；请稍后重试",
    },
    "gateway.replica_lost": {
        "en": "the replica serving this request of '{service}' stopped answering",
        "zh": "处理 '{service}' 此请求的副本已停止响应",
    },
    "gateway.timeout": {
        "en": "the replica of '{service}' did not answer within {timeout} s",
        "zh": "服务 '{service}' 的副本在 {timeout} 秒内未响应",
    },
    "gateway.method": {
        "en": "method {method} is not allowed here; allowed: {allowed}",
        "zh": "此处不允许 {method} 方法；允许：{allowed}",
    },
    # API keys (suanli apikey, /api/v1/apikeys)
    "apikey.not_found": {"en": "no API key {key_id}", "zh": "没有 API 密钥 {key_id}"},
    "apikey.revoked": {"en": "API key {key_id} revoked", "zh": "API 密钥 {key_id} 已吊销"},
    "apikey.already_revoked": {
        "en": "API key {key_id} was already revoked",
        "zh": "API 密钥 {key_id} 此前已吊销",
    },
    "apikey.shown_once": {
        "en": "the key is shown this once; keep it now:",
        "zh": "密钥仅显示这一次，请立即妥善保存：",
    },
    "apikey.no_tenant": {
        "en": "an API key belongs to a tenant: name one with --tenant",
        "zh": "API 密钥属于某个租户：请用 --tenant 指定",
    },
    "apikey.none": {"en": "no API keys", "zh": "没有 API 密钥"},
}
