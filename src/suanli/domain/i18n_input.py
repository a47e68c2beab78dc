"""Refusals of hostile or malformed input in zh-CN and en; joined into
suanli.domain.i18n.MESSAGES (see suanli.schemas.bounded and suanli.api.limits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

INPUT: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    "invalid_input": {"en": "the input is refused", "zh": "输入被拒绝"},
    "invalid_json": {"en": "not valid JSON: {detail}", "zh": "不是合法的 JSON：{detail}"},
    "too_deep": {
        "en": "nested {value} levels deep; allowed: {allowed}",
        "zh": "嵌套深度 {value} 层；允许：{allowed}",
    },
    "yaml_alias": {
        "en": "YAML alias {value} on line {line}: aliases and merge keys are not accepted",
        "zh": "第 {line} 行有 YAML 别名 {value}：不接受别名和合并键",
    },
    "yaml_duplicate": {
        "en": "key {value} appears again on line {line}; each key may appear once",
        "zh": "键 {value} 在第 {line} 行重复出现；每个键只能出现一次",
    },
    "yaml_key": {
        "en": "a key on line {line} is a map or list; keys must be plain values",
        "zh": "第 {line} 行的键是映射或列表；键必须是普通值",
    },
    "yaml_tag": {
        "en": "YAML tag {value} is not accepted; allowed: {allowed}",
        "zh": "不接受 YAML 标签 {value}；允许：{allowed}",
    },
    "bad_character": {
        "en": "value {value} holds a character that is not allowed; allowed: {allowed}",
        "zh": "取值 {value} 含有不允许的字符；允许：{allowed}",
    },
    "spec_too_large": {
        "en": "the stored job spec would be {size} bytes; at most {limit} bytes are allowed",
        "zh": "存储后的作业描述为 {size} 字节，最多允许 {limit} 字节",
    },
    "access.token_outlives": {
        "en": "a token may not live longer than the token that makes it "
        "(at most {allowed} days from now)",
        "zh": "新令牌的有效期不能超过创建它的令牌（自现在起最多 {allowed} 天）",
    },
    "access.role_escalation": {
        "en": "a {value} token may not be made by a {allowed}",
        "zh": "{allowed} 不能创建 {value} 的令牌",
    },
    "access.bad_tokens": {
        "en": "too many requests with unknown tokens from this address; retry in {retry_after} s",
        "zh": "此地址使用无效令牌的请求过多；请 {retry_after} 秒后重试",
    },
    "http.timeout": {
        "en": "the request was not received in time",
        "zh": "未能及时收到完整请求",
    },
}
