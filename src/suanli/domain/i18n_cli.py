"""Messages the CLI says (errors above all), in zh-CN and en; merged into i18n.MESSAGES."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["en", "zh"]

CLI: Mapping[str, Mapping[Lang, str]] = {
    "cli.error": {"en": "error: {message}", "zh": "错误：{message}"},
    "cli.bad_option": {
        "en": "{option}: {value!r} is not allowed; allowed: {allowed}",
        "zh": "{option}：不允许取值 {value!r}；可选：{allowed}",
    },
    "cli.bad_month": {
        "en": "--month: {value!r} is not a month; write YYYY-MM, e.g. 2026-03",
        "zh": "--month：{value!r} 不是月份；请写成 YYYY-MM，例如 2026-03",
    },
    "cli.bad_amount": {
        "en": "--amount: {value!r} is not allowed; a yuan amount from 0 to 1000000000000 with at most 2 decimals, e.g. 1000.00",
        "zh": "--amount：不允许取值 {value!r}；应为 0 到 1000000000000 之间、最多两位小数的人民币金额，例如 1000.00",
    },
    # why a job waits: the one wording the CLI, the API and the console show (domain.waits)
    # ("wait.one"/"wait.many" is a parameter: one code, its grammar said per language)
    "waiting_for_capacity": {
        "en": "waiting: {count} {could}: {pools}",
        "zh": "排队中：{count} {could}：{pools}",
    },
    "wait.one": {
        "en": "pool could run it but is full now",
        "zh": "个资源池可运行此作业，但当前已满",
    },
    "wait.many": {
        "en": "pools could run it but are all full now",
        "zh": "个资源池可运行此作业，但当前均已满",
    },
    "unknown_accelerator_near": {
        "en": "unknown accelerator model {value}; did you mean {allowed}?",
        "zh": "未知的加速卡型号 {value}；是否想写 {allowed}？",
    },
    "did_you_mean": {"en": " (did you mean {near}?)", "zh": "（是否想写 {near}？）"},
    "excluded_accelerator_summary": {
        "en": "{count} pools have another accelerator ({models}); the job asks for {wanted}",
        "zh": "{count} 个资源池的加速卡型号不符（{models}）；作业要求 {wanted}",
    },
}
