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
    # a file not read at all (schemas.validation.read_bounded): why, without the system's English
    "file_missing": {
        "en": "cannot read the {what}: no such file",
        "zh": "无法读取{what}：文件不存在",
    },
    "file_denied": {
        "en": "cannot read the {what}: permission denied",
        "zh": "无法读取{what}：没有读取权限",
    },
    "file_not_regular": {
        "en": "cannot read the {what}: not a regular file (a device, FIFO or directory is not read)",
        "zh": "无法读取{what}：不是普通文件（设备、FIFO 或目录不会被读取）",
    },
    "file_loop": {
        "en": "cannot read the {what}: too many levels of symbolic links",
        "zh": "无法读取{what}：符号链接层级过多",
    },
    "file_name_too_long": {
        "en": "cannot read the {what}: the file name is too long",
        "zh": "无法读取{what}：文件名过长",
    },
    "file_unreadable": {
        "en": "cannot read the {what}: system error {errno}",
        "zh": "无法读取{what}：系统错误 {errno}",
    },
    "what.scenario_file": {"en": "scenario file", "zh": "场景文件"},
    "what.throughput_file": {"en": "throughput file", "zh": "吞吐量表文件"},
    "what.the_packing_file": {"en": "packing file", "zh": "装箱配置文件"},
    "what.trace_file": {"en": "trace file", "zh": "轨迹文件"},
    # the server could not be reached: why, in the reader's language (client/wire.py)
    "unreachable.refused": {
        "en": "nothing listens there (connection refused)",
        "zh": "该地址无服务监听（连接被拒绝）",
    },
    "unreachable.name": {
        "en": "the host name is not known",
        "zh": "无法解析主机名",
    },
    "unreachable.timeout": {"en": "no answer in time", "zh": "等待应答超时"},
    "unreachable.tls": {
        "en": "the TLS certificate or handshake failed",
        "zh": "TLS 证书或握手失败",
    },
    "unreachable.broken": {
        "en": "the connection broke ({errno})",
        "zh": "连接中断（{errno}）",
    },
    "cli.no_such_option": {
        "en": "{option}: no such option here; allowed: {allowed}",
        "zh": "{option}：此处没有该选项；可选：{allowed}",
    },
    "cli.no_such_command": {
        "en": "{command}: no such command; allowed: {allowed}",
        "zh": "{command}：没有该命令；可选：{allowed}",
    },
    "cli.missing": {
        "en": "{name}: missing; it is required (see --help)",
        "zh": "{name}：缺少该参数；此参数必填（见 --help）",
    },
    "cli.between": {"en": "a number from {low} to {high}", "zh": "{low} 到 {high} 之间的数"},
    "cli.at_least": {"en": "a number of at least {low}", "zh": "不小于 {low} 的数"},
    "cli.at_most": {"en": "a number of at most {high}", "zh": "不大于 {high} 的数"},
    "cli.bad_server": {
        "en": "--server: {value!r} is not allowed; allowed: an http:// or https:// URL, e.g. http://127.0.0.1:8642",
        "zh": "--server：不允许取值 {value!r}；可选：http:// 或 https:// 开头的地址，例如 http://127.0.0.1:8642",
    },
    "excluded_accelerator_summary": {
        "en": "{count} pools have another accelerator ({models}); the job asks for {wanted}",
        "zh": "{count} 个资源池的加速卡型号不符（{models}）；作业要求 {wanted}",
    },
}
