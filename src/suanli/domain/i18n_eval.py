"""Messages of accelerator and framework evaluation (``suanli eval``), zh-CN and en."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["en", "zh"]

EVAL: Mapping[str, Mapping[Lang, str]] = {
    "pool_eval_incompatible": {
        "en": "measured incompatible with {what} (suanli eval, job {job}, {at}): {detail}",
        "zh": "实测与 {what} 不兼容（suanli eval，作业 {job}，{at}）：{detail}",
    },
    "invalid_eval_result": {
        "en": "the evaluation job's result is missing or invalid",
        "zh": "评测作业的结果缺失或无效",
    },
    "invalid_eval_request": {
        "en": "the evaluation request is invalid",
        "zh": "评测请求无效",
    },
    "unknown_pool": {
        "en": "unknown pool {value}; pools here: {allowed}",
        "zh": "未知资源池 {value}；此处的资源池：{allowed}",
    },
    "eval_no_pool": {
        "en": "no pool matches: {value}",
        "zh": "没有匹配的资源池：{value}",
    },
    "eval_run_not_found": {
        "en": "evaluation run {run} not found",
        "zh": "未找到评测运行 {run}",
    },
    "eval_job_failed": {
        "en": "the evaluation job ended {status} (exit code {code})",
        "zh": "评测作业以 {status} 结束（退出码 {code}）",
    },
    "eval_started": {
        "en": "evaluation run {run}: {count} job(s) submitted",
        "zh": "评测运行 {run}：已提交 {count} 个作业",
    },
    "eval_matrix": {"en": "Compatibility matrix", "zh": "兼容性矩阵"},
    "eval_throughput": {"en": "Measured throughput", "zh": "实测吞吐"},
    "eval_datasheet": {
        "en": "Measured vs datasheet (dense FP16/BF16 GEMM)",
        "zh": "实测与标称对比（稠密 FP16/BF16 矩阵乘）",
    },
    "eval_regressions": {
        "en": "Regressions (a failure after a pass, or a drop over {drop})",
        "zh": "性能回退（由通过变失败，或下降超过 {drop}）",
    },
    "eval_none": {
        "en": "nothing measured yet: run `suanli eval run`",
        "zh": "尚无测量结果：请运行 `suanli eval run`",
    },
    "eval_emulated": {
        "en": "measured {device}, not the pool's {model}: not used for placement",
        "zh": "实测硬件为 {device}，而非资源池的 {model}：不用于调度",
    },
    "eval_waiting": {
        "en": "waiting for {count} evaluation job(s)...",
        "zh": "正在等待 {count} 个评测作业……",
    },
    "eval_set_aside": {
        "en": "Unsteady figures set aside (placement and regressions use the previous steady one)",
        "zh": "已搁置的不稳定数值（调度与回退判断改用此前的稳定数值）",
    },
    "eval_unsteady": {"en": "UNSTEADY: {why}", "zh": "不稳定：{why}"},
    "eval_used_previous": {
        "en": "uses {value} (job {job})",
        "zh": "改用 {value}（作业 {job}）",
    },
    "eval_used_fallback": {
        "en": "no steady figure: the throughput table or catalog TFLOPS",
        "zh": "无稳定数值：改用吞吐表或目录标称 TFLOPS",
    },
    "ui.eval": {"en": "Evaluation", "zh": "芯片评测"},
    "ui.eval_intro": {
        "en": "What `suanli eval` measured on each pool, as jobs on the pool itself: "
        "operator conformance against a float64 CPU reference, throughput, and regressions "
        "(a drop over {drop} from one measurement to the next).",
        "zh": "`suanli eval` 以作业形式在各资源池上实测的结果：与 float64 CPU 参考结果比对的算子"
        "一致性、吞吐，以及性能回退（相邻两次测量间下降超过 {drop}）。",
    },
    "ui.eval_model": {"en": "Model", "zh": "型号"},
    "ui.eval_stack": {"en": "Stack", "zh": "软件栈"},
    "ui.eval_framework": {"en": "Framework", "zh": "框架"},
    "ui.eval_hardware": {"en": "Measured on", "zh": "实测硬件"},
    "ui.eval_pools": {"en": "Pools", "zh": "资源池"},
    "ui.eval_pool": {"en": "Pool", "zh": "资源池"},
    "ui.eval_counts": {"en": "Passed / failed / skipped", "zh": "通过 / 失败 / 跳过"},
    "ui.eval_verdict": {"en": "Verdict", "zh": "结论"},
    "ui.eval_why": {"en": "What failed and why", "zh": "失败项及原因"},
    "ui.eval_item": {"en": "Item", "zh": "项目"},
    "ui.eval_value": {"en": "Value", "zh": "数值"},
    "ui.eval_note": {"en": "Note", "zh": "说明"},
    "ui.eval_sheet": {"en": "Datasheet TFLOPS", "zh": "标称 TFLOPS"},
    "ui.eval_ratio": {"en": "Measured / datasheet", "zh": "实测 / 标称"},
    "ui.eval_before": {"en": "Before", "zh": "之前"},
    "ui.eval_after": {"en": "After", "zh": "之后"},
    "ui.eval_change": {"en": "Change", "zh": "变化"},
    "ui.eval_emulated": {"en": "emulated: not this model", "zh": "模拟：并非该型号"},
    "ui.eval_no_regressions": {"en": "No regression.", "zh": "无性能回退。"},
    "ui.eval_steady": {"en": "Steady", "zh": "稳定性"},
    "ui.eval_stderr": {"en": "Median ±", "zh": "中位数误差 ±"},
    "ui.eval_steal": {"en": "Stolen", "zh": "被占用"},
    "ui.eval_used": {"en": "Used instead", "zh": "改用"},
    "ui.eval_why_unsteady": {"en": "Why", "zh": "原因"},
    "ui.eval_yes": {"en": "steady", "zh": "稳定"},
    "ui.eval_no": {"en": "unsteady", "zh": "不稳定"},
    "ui.verdict_compatible": {"en": "compatible", "zh": "兼容"},
    "ui.verdict_incompatible": {"en": "incompatible", "zh": "不兼容"},
    "ui.verdict_partial": {"en": "partly compatible", "zh": "部分兼容"},
    "ui.verdict_unavailable": {"en": "unavailable", "zh": "不可用"},
}
