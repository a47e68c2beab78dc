"""User-facing messages in zh-CN and en, keyed by stable codes.

Every message a tenant, provider or operator reads is looked up here, so the CLI, the
API and the console say the same thing in the same two languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from suanli.domain.i18n_billing import BILLING
from suanli.domain.i18n_cli import CLI
from suanli.domain.i18n_console import CONSOLE
from suanli.domain.i18n_eval import EVAL
from suanli.domain.i18n_gateway import GATEWAY
from suanli.domain.i18n_input import INPUT
from suanli.domain.i18n_services import SERVICES
from suanli.domain.i18n_serving import SERVING
from suanli.domain.i18n_tenants import TENANTS
from suanli.domain.i18n_vouchers import VOUCHERS
from suanli.domain.wording import said

Lang = Literal["en", "zh"]

_CORE: Mapping[str, Mapping[Lang, str]] = {
    # spec and file validation
    "yaml_syntax": {
        "en": "not valid YAML: {detail}",
        "zh": "不是合法的 YAML：{detail}",
    },
    "not_a_mapping": {
        "en": "the file must hold a mapping of fields, got {kind}",
        "zh": "文件内容必须是字段映射，实际为 {kind}",
    },
    "too_large": {
        "en": "{what} is {size} bytes; at most {limit} bytes are allowed",
        "zh": "{what}大小为 {size} 字节，最多允许 {limit} 字节",
    },
    # what is too large: said in the reader's language (see schemas.validation._too_large)
    "what.job_spec": {"en": "job spec", "zh": "作业描述文件"},
    "what.fleet_file": {"en": "fleet file", "zh": "算力网络配置文件"},
    "what.tenants_file": {"en": "tenants file", "zh": "租户文件"},
    "what.voucher_policy_file": {"en": "voucher policy file", "zh": "算力券政策文件"},
    "what.catalog_file": {"en": "catalog file", "zh": "加速卡目录文件"},
    "what.request_body": {"en": "request body", "zh": "请求体"},
    "what.the_node_list": {"en": "the node list", "zh": "节点列表"},
    "what.the_pod_list": {"en": "the pod list", "zh": "Pod 列表"},
    "what.accelerators": {"en": "accelerators", "zh": "张加速卡"},
    "what.cpus": {"en": "CPUs", "zh": "个 CPU"},
    "what.memory_gb": {"en": "GB memory", "zh": "GB 内存"},
    "amount.below_fen": {"en": "< 0.01", "zh": "不足 0.01"},
    "missing": {"en": "this field is required", "zh": "此字段为必填项"},
    "extra_forbidden": {
        "en": "unknown field; allowed here: {allowed}",
        "zh": "未知字段；此处允许的字段：{allowed}",
    },
    "out_of_range": {
        "en": "value {value} is out of range; allowed: {allowed}",
        "zh": "取值 {value} 超出范围；允许：{allowed}",
    },
    "wrong_type": {
        "en": "value {value} has the wrong type; expected {allowed}",
        "zh": "取值 {value} 类型错误；应为 {allowed}",
    },
    "not_allowed": {
        "en": "value {value} is not allowed; allowed: {allowed}",
        "zh": "取值 {value} 不被允许；允许：{allowed}",
    },
    "invalid_value": {
        "en": "value {value} is invalid: {detail}",
        "zh": "取值 {value} 无效：{detail}",
    },
    "unknown_accelerator": {
        "en": "unknown accelerator model {value}; known models: {allowed}",
        "zh": "未知的加速卡型号 {value}；已知型号：{allowed}",
    },
    "unknown_region": {
        "en": "unknown region {value}; regions in this fleet: {allowed}",
        "zh": "未知地域 {value}；本算力网络中的地域：{allowed}",
    },
    "unknown_cluster": {
        "en": "unknown cluster {value}; clusters in this fleet: {allowed}",
        "zh": "未知集群 {value}；本算力网络中的集群：{allowed}",
    },
    "duplicate_name": {
        "en": "name {value} is used twice; names must be unique",
        "zh": "名称 {value} 重复；名称必须唯一",
    },
    "over_quota": {
        "en": "{value} accelerators is more than tenant {tenant} can ever hold at once "
        "(its quota, with what it may borrow in its cohort): {allowed}",
        "zh": "{value} 张加速卡超过租户 {tenant} 任何时候能同时占用的上限"
        "（其配额及可在同组内借用的部分）：{allowed}",
    },
    "no_feasible_pool": {
        "en": "no pool in the fleet can ever run this job: {detail}",
        "zh": "算力网络中没有任何资源池能运行此作业：{detail}",
    },
    # request-level errors
    "invalid_spec": {"en": "the job spec is invalid", "zh": "作业描述无效"},
    "invalid_fleet": {"en": "the fleet file is invalid", "zh": "算力网络文件无效"},
    "invalid_tenants": {"en": "the tenants file is invalid", "zh": "租户文件无效"},
    "unknown_tenant": {
        "en": "unknown tenant {value}; tenants on this platform: {allowed}",
        "zh": "未知租户 {value}；本平台的租户：{allowed}",
    },
    "tenant_not_found": {"en": "no tenant {tenant}", "zh": "租户 {tenant} 不存在"},
    "provider_not_found": {"en": "no provider {provider}", "zh": "算力伙伴 {provider} 不存在"},
    "contract_not_found": {
        "en": "no model contract {contract}",
        "zh": "模型合同 {contract} 不存在",
    },
    "programme_not_found": {
        "en": "no voucher programme {programme}; programmes in force: {allowed}",
        "zh": "补贴券政策 {programme} 不存在；现行政策：{allowed}",
    },
    "model_not_domestic": {
        "en": "the 模型券 covers only domestic (技术自主可控) base models, so only such contracts"
        " are recorded: send domestic: true (CLI --domestic) and name the proof in evidence",
        "zh": "模型券仅适用于技术自主可控的国产基座大模型，只记录此类合同：请设置 domestic: true"
        "（命令行 --domestic），并在 evidence 中写明证明材料",
    },
    "unknown_provider": {
        "en": "unknown provider {value}; providers in this fleet: {allowed}",
        "zh": "未知算力服务商 {value}；本算力网络中的服务商：{allowed}",
    },
    "accelerator_not_domestic": {
        "en": "{value} is not a domestic AI chip; the provider subsidy covers only domestic"
        " AI-chip servers (国产智算芯片服务器): {allowed}",
        "zh": "{value} 不是国产智算芯片；算力服务商补贴仅适用于国产智算芯片服务器：{allowed}",
    },
    "cluster_of_other_provider": {
        "en": "cluster {value} belongs to provider {owner}, so these servers are not listed"
        " there; this provider's clusters: {allowed}",
        "zh": "集群 {value} 属于服务商 {owner}，这些服务器并未在该集群上架；本服务商的集群：{allowed}",
    },
    "cluster_without_accelerator": {
        "en": "cluster {value} has no {model} pool, so these servers are not listed there;"
        " its accelerators: {allowed}",
        "zh": "集群 {value} 没有 {model} 资源池，这些服务器并未在该集群上架；其加速卡：{allowed}",
    },
    "project_of_other_provider": {
        "en": "project {value} is already a project of provider {allowed}",
        "zh": "项目 {value} 已属于服务商 {allowed}",
    },
    "purchase_not_found": {
        "en": "no server purchase {purchase}",
        "zh": "服务器采购 {purchase} 不存在",
    },
    "completed_over_contract": {
        "en": "{value} is more than the contract has left to complete: {allowed}",
        "zh": "{value} 超过合同尚未完成的金额：{allowed}",
    },
    "redemption_differs": {
        "en": "{contract} is already redeemed for {period} on {stored} completed, not {given}",
        "zh": "合同 {contract} 的 {period} 期间已按完成金额 {stored} 兑付，而非 {given}",
    },
    "period_in_future": {
        "en": "period {value} has not begun; redeem periods up to {allowed}",
        "zh": "期间 {value} 尚未开始；只能兑付 {allowed} 及以前的期间",
    },
    "period_before_contract": {
        "en": "period {value} is before the contract was signed ({allowed})",
        "zh": "期间 {value} 早于合同签订日期（{allowed}）",
    },
    "amount_positive": {
        "en": "{value} must be more than 0.00 yuan, in whole fen",
        "zh": "{value} 必须大于 0.00 元，且精确到分",
    },
    "billing_unavailable": {
        "en": "billing is not configured on this platform",
        "zh": "本平台未配置计费",
    },
    "invalid_request": {"en": "the request is invalid", "zh": "请求无效"},
    "invalid_trace": {"en": "the trace file is invalid", "zh": "轨迹文件无效"},
    "invalid_sim_args": {"en": "the simulation settings are invalid", "zh": "仿真参数无效"},
    "invalid_packing": {"en": "the packing settings are invalid", "zh": "装箱策略配置无效"},
    "job_not_found": {"en": "no job {job_id}", "zh": "作业 {job_id} 不存在"},
    "illegal_transition": {
        "en": "job {job_id} cannot go from {from_status} to {to_status}",
        "zh": "作业 {job_id} 不能从 {from_status} 变为 {to_status}",
    },
    "already_finished": {
        "en": "job {job_id} has already finished ({status})",
        "zh": "作业 {job_id} 已结束（{status}）",
    },
    "engine_error": {
        "en": "engine {engine} failed: {detail}",
        "zh": "执行引擎 {engine} 出错：{detail}",
    },
    "engine_unavailable": {
        "en": "engine {engine} does not answer: {detail}",
        "zh": "执行引擎 {engine} 无响应：{detail}",
    },
    "server_unreachable": {
        "en": "cannot reach the suanli server at {url}: {detail}. Start it with `suanli up`.",
        "zh": "无法连接 suanli 服务 {url}：{detail}。请先运行 `suanli up`。",
    },
    "internal": {"en": "internal error", "zh": "内部错误"},
    "data_dir_in_use": {
        "en": "another suanli server already uses {data_dir}; stop it or pass --data-dir",
        "zh": "另一个 suanli 服务正在使用 {data_dir}；请先停止它或指定 --data-dir",
    },
    # placement reasons, stored on the job and shown by `suanli status`
    "pool_model_mismatch": {
        "en": "accelerator {model} is not among {wanted}",
        "zh": "加速卡 {model} 不在所需型号 {wanted} 之中",
    },
    "pool_memory_too_small": {
        "en": "{model} has {have} GB memory, job needs at least {need} GB",
        "zh": "{model} 显存 {have} GB，作业至少需要 {need} GB",
    },
    "pool_memory_unknown": {
        "en": "{model} memory is not known, job needs at least {need} GB",
        "zh": "{model} 显存未知，作业至少需要 {need} GB",
    },
    "pool_tflops_too_low": {
        "en": "{model} has {have} TFLOPS, job needs at least {need}",
        "zh": "{model} 算力 {have} TFLOPS，作业至少需要 {need}",
    },
    "pool_tflops_unknown": {
        "en": "{model} TFLOPS is not known, job needs at least {need}",
        "zh": "{model} 算力未知，作业至少需要 {need} TFLOPS",
    },
    "pool_stack_mismatch": {
        "en": "{model} runs {stack}, job supports {wanted}",
        "zh": "{model} 使用 {stack} 软件栈，作业支持 {wanted}",
    },
    "pool_region_excluded": {
        "en": "region {region} is not among {wanted}",
        "zh": "地域 {region} 不在允许的 {wanted} 之中",
    },
    "pool_not_domestic": {
        "en": "{model} is not a domestic accelerator and the job is domestic-only",
        "zh": "{model} 不是国产加速卡，而作业要求仅用国产算力",
    },
    "pool_cluster_excluded": {
        "en": "cluster {cluster} was not the one requested ({wanted})",
        "zh": "集群 {cluster} 不是指定的集群（{wanted}）",
    },
    "pool_node_too_small": {
        "en": "nodes have {have} {what}, job needs {need} per node",
        "zh": "节点仅有 {have} {what}，作业每节点需要 {need}",
    },
    "pool_too_few_nodes": {
        "en": "pool has {have} nodes, job needs {need}",
        "zh": "资源池只有 {have} 个节点，作业需要 {need} 个",
    },
    "pool_busy": {
        "en": "full now: the job needs {need} node(s) with enough free accelerators, CPUs and memory",
        "zh": "当前已满：作业需要 {need} 个加速卡、CPU 和内存都足够空闲的节点",
    },
    "pool_cluster_unavailable": {
        "en": "cluster {cluster} is unavailable",
        "zh": "集群 {cluster} 不可用",
    },
    "placed_cheapest": {
        "en": "cheapest feasible pool: {price} yuan/hour for the whole job",
        "zh": "可行资源池中最便宜：整个作业每小时 {price} 元",
    },
    "placed_lowest_cost": {
        "en": "lowest expected cost: {net} yuan = {gross} for about {hours} h - {voucher} voucher + {data} data movement",
        "zh": "预计成本最低：{net} 元 = 约 {hours} 小时费用 {gross} - 算力券 {voucher} + 数据迁移 {data}",
    },
    "placed_lowest_batch_cost": {
        "en": "lowest total cost for this cycle's jobs: {net} yuan here = {gross} for about {hours} h - {voucher} voucher + {data} data movement; the pools cheaper for this job went to other jobs, which saved more there",
        "zh": "本轮作业总成本最低：此处 {net} 元 = 约 {hours} 小时费用 {gross} - 算力券 {voucher} + 数据迁移 {data}；对本作业更便宜的资源池分给了在那里节省更多的其他作业",
    },
    "placed_fastest": {
        "en": "earliest expected finish: about {hours} h incl. data transfer, {net} yuan net",
        "zh": "预计最早完成：约 {hours} 小时（含数据传输），净费用 {net} 元",
    },
    "pool_over_budget": {
        "en": "expected cost {net} yuan is over the budget of {budget}",
        "zh": "预计费用 {net} 元超出预算 {budget} 元",
    },
    "pool_misses_deadline": {
        "en": "expected finish {finish} is after the deadline {deadline}",
        "zh": "预计完成时间 {finish} 晚于截止时间 {deadline}",
    },
    "unschedulable": {
        "en": "no pool in the fleet can run this job",
        "zh": "算力网络中没有资源池能运行此作业",
    },
    # lifecycle reasons
    "reason_submitted": {"en": "submitted", "zh": "已提交"},
    "reason_admitted": {"en": "admitted to the queue", "zh": "已进入队列"},
    "reason_placed": {
        "en": "placed on {cluster}/{pool} ({nodes} node(s) × {count} {model})",
        "zh": "已调度到 {cluster}/{pool}（{nodes} 个节点 × {count} 张 {model}）",
    },
    "reason_dispatching": {
        "en": "handed to engine {engine} as {key}",
        "zh": "已交给执行引擎 {engine}，键 {key}",
    },
    "reason_running": {"en": "process started", "zh": "进程已启动"},
    "reason_exit_ok": {"en": "exited with code 0", "zh": "退出码 0"},
    "reason_exit_failed": {
        "en": "exited with code {code}",
        "zh": "退出码 {code}",
    },
    "reason_time_limit": {
        "en": "hard time limit of {limit} reached; stopped",
        "zh": "达到硬性时限 {limit}，已终止",
    },
    "reason_cancel_requested": {"en": "cancel requested by user", "zh": "用户请求取消"},
    "reason_cancelled": {"en": "cancelled", "zh": "已取消"},
    "reason_lost": {
        "en": "the engine lost the run: {detail}",
        "zh": "执行引擎丢失了此次运行：{detail}",
    },
    "reason_retry": {
        "en": "attempt {attempt} of {max_attempts} will be placed again",
        "zh": "将重新调度第 {attempt}/{max_attempts} 次尝试",
    },
    "reason_retries_exhausted": {
        "en": "no attempts left ({max_attempts} allowed)",
        "zh": "重试次数已用尽（允许 {max_attempts} 次）",
    },
    "reason_adopted": {
        "en": "control plane restarted; run {key} re-adopted from engine {engine}",
        "zh": "控制面重启；已从执行引擎 {engine} 重新接管运行 {key}",
    },
    "reason_image_failed": {
        "en": "image {image} could not be run: {detail}",
        "zh": "无法运行镜像 {image}：{detail}",
    },
    "reason_image_resolved": {
        "en": "attempt {attempt} runs image {image} at {digest}",
        "zh": "第 {attempt} 次尝试运行镜像 {image}，摘要 {digest}",
    },
    "reason_dispatch_failed": {
        "en": "engine refused the run: {detail}",
        "zh": "执行引擎拒绝了运行：{detail}",
    },
    "reason_cluster_down": {
        "en": "cluster {cluster} has not answered for {seconds} s; run {key} given up",
        "zh": "集群 {cluster} 已 {seconds} 秒无响应；放弃运行 {key}",
    },
    "reason_cluster_back_readopted": {
        "en": "cluster {cluster} answers again; run {key} still runs there and is re-adopted",
        "zh": "集群 {cluster} 已恢复响应；运行 {key} 仍在运行，已重新接管",
    },
    "reason_stray_run_cancelled": {
        "en": "cluster {cluster} answers again; run {key} was replaced, so it was cancelled",
        "zh": "集群 {cluster} 已恢复响应；运行 {key} 已被替代，已取消",
    },
}


_QUEUE: Mapping[str, Mapping[Lang, str]] = {
    "queue_behind_head": {
        "en": "waiting behind an earlier job of {tenant} (no backfill)",
        "zh": "排在 {tenant} 更早的作业之后（未启用回填）",
    },
    "queue_quota_full": {
        "en": "{tenant} uses {used} of its quota of {quota} accelerators; this job needs {need}",
        "zh": "{tenant} 已用 {used} 张，配额 {quota} 张；此作业需要 {need} 张",
    },
    "queue_cohort_full": {
        "en": "{tenant} uses {used} of its quota of {quota}, and cohort {cohort} has no idle "
        "quota to lend for {need} more",
        "zh": "{tenant} 已用 {used} 张，配额 {quota} 张；资源组 {cohort} 没有可借出的空闲配额（需 {need} 张）",
    },
    "queue_too_large": {
        "en": "needs {need} accelerators at once; the largest pool it may use has {have}",
        "zh": "需同时使用 {need} 张加速卡；可用的最大资源池只有 {have} 张",
    },
    "queue_no_pool": {
        "en": "no pool that {tenant} may use can run this job",
        "zh": "{tenant} 可使用的资源池均无法运行此作业",
    },
    "queue_no_capacity": {
        "en": "waiting for {need} accelerators; {free} free for it now after jobs ranked ahead",
        "zh": "等待 {need} 张加速卡；排在前面的作业之后，当前可用 {free} 张",
    },
    "queue_reserved": {
        "en": "could start now, but {need} accelerators are held for an earlier job ({holder}) "
        "expected to start in {wait} s, and this one is not expected to end before then",
        "zh": "现在即可启动，但 {need} 张加速卡已为更早的作业（{holder}）预留，该作业预计 {wait} 秒后"
        "启动，而此作业预计无法在此之前结束",
    },
    "queue_awaiting_nodes": {
        "en": "admitted to {pool}; waiting for {need} accelerators on whole nodes to be freed",
        "zh": "已获准使用 {pool}；等待整节点上的 {need} 张加速卡释放",
    },
    "preempt_reclaim": {
        "en": "preempted: {tenant} ran on borrowed quota that its owner needs back",
        "zh": "被抢占：{tenant} 借用的配额被所有者收回",
    },
    "preempt_outranked": {
        "en": "preempted after {ran} s: jobs with less service so far need the accelerators",
        "zh": "运行 {ran} 秒后被抢占：已获服务更少的作业需要这些加速卡",
    },
    "preempt_restart": {
        "en": "preempted after {ran} s: jobs expected to finish much sooner need the "
        "accelerators; this job does not checkpoint, so its next attempt starts from zero",
        "zh": "运行 {ran} 秒后被抢占：预计更快结束的作业需要这些加速卡；此作业未设置检查点，"
        "下次尝试将从头开始",
    },
    "reason_preempt_asked": {
        "en": "the engine is asked to stop attempt {attempt} (grace {grace} s to checkpoint)",
        "zh": "已请求执行引擎停止第 {attempt} 次尝试（宽限 {grace} 秒用于保存检查点）",
    },
    "reason_checkpoint_resumed": {
        "en": "resumes from its checkpoint on {cluster}",
        "zh": "将从 {cluster} 上的检查点继续",
    },
    "reason_checkpoint_left_behind": {
        "en": "starts on {placed} without its checkpoint: {cluster} holds it and could not "
        "take this attempt now (it resumes from what it saves on {placed})",
        "zh": "在 {placed} 上开始，不带检查点：检查点在 {cluster}，该集群当前无法运行本次尝试"
        "（此后从它在 {placed} 上保存的检查点继续）",
    },
    "reason_preempted": {
        "en": "attempt {attempt} stopped for a preemption; back in the queue "
        "(service so far {attained} kept)",
        "zh": "第 {attempt} 次尝试因抢占而停止；重新排队（已获服务 {attained} 保留）",
    },
    "reason_preempt_withdrawn": {
        "en": "placement withdrawn before it started: {tenant} needs its quota back",
        "zh": "尚未启动即撤回调度：{tenant} 需要收回其配额",
    },
    "queue_unknown_tenant": {
        "en": "tenant {tenant} has no queue terms here",
        "zh": "租户 {tenant} 在此没有排队条款",
    },
    "invalid_scenario": {"en": "the scenario file is invalid", "zh": "仿真场景文件无效"},
    "invalid_throughput": {"en": "the throughput table is invalid", "zh": "吞吐率表无效"},
}


_ACCESS: Mapping[str, Mapping[Lang, str]] = {
    "access.unauthenticated": {
        "en": "no API token: send 'Authorization: Bearer TOKEN' (see suanli login)",
        "zh": "缺少 API 令牌：请发送 'Authorization: Bearer 令牌'（见 suanli login）",
    },
    "access.bad_token": {
        "en": "the API token is unknown, revoked or expired",
        "zh": "API 令牌无效、已吊销或已过期",
    },
    "access.forbidden": {
        "en": "{user} ({role}) may not {action}",
        "zh": "{user}（{role}）无权执行 {action}",
    },
    "access.read_only": {
        "en": "this token may only read (scopes: {scopes}); {action} needs the write scope",
        "zh": "此令牌只能读取（权限范围：{scopes}）；{action} 需要 write 权限",
    },
    "access.cross_origin": {
        "en": "a write from {origin} with the console's cookie is refused",
        "zh": "拒绝来自 {origin} 的携带控制台 Cookie 的写请求",
    },
    "access.org_not_found": {"en": "no organisation {name}", "zh": "组织 {name} 不存在"},
    "access.user_not_found": {"en": "no user {name}", "zh": "用户 {name} 不存在"},
    "access.token_not_found": {"en": "no API token {name}", "zh": "API 令牌 {name} 不存在"},
    "access.exists": {"en": "{what} {name} already exists", "zh": "{what} {name} 已存在"},
    "access.role_kind": {
        "en": "role {value} needs an organisation of kind {allowed}",
        "zh": "角色 {value} 需要类型为 {allowed} 的组织",
    },
    "access.unknown_party": {
        "en": "{value} is not a {kind} on this platform; known: {allowed}",
        "zh": "{value} 不是本平台的{kind}；已知：{allowed}",
    },
    "access.scope_escalation": {
        "en": "a token cannot have scopes its creator lacks: {value}",
        "zh": "令牌的权限范围不能超出创建者的权限：{value}",
    },
    "http.bad_request": {
        "en": "the request could not be read: {detail}",
        "zh": "无法读取请求：{detail}",
    },
    "http.not_found": {"en": "no such path", "zh": "路径不存在"},
    "http.method_not_allowed": {
        "en": "this method is not allowed on this path",
        "zh": "此路径不支持该请求方法",
    },
    "quota.rate": {
        "en": "more than {rate} requests per second with this token; retry in {retry_after} s",
        "zh": "此令牌每秒请求超过 {rate} 次；请 {retry_after} 秒后重试",
    },
    "quota.active_jobs": {
        "en": "tenant {tenant} already has {active} active jobs; at most {limit} at once",
        "zh": "租户 {tenant} 已有 {active} 个未结束的作业；同时最多 {limit} 个",
    },
}

_PARTS = (
    _CORE,
    BILLING,
    _QUEUE,
    _ACCESS,
    CONSOLE,
    INPUT,
    EVAL,
    CLI,
    SERVING,
    VOUCHERS,
    SERVICES,
    GATEWAY,
    TENANTS,
)
MESSAGES: Mapping[str, Mapping[Lang, str]] = {k: v for part in _PARTS for k, v in part.items()}


def render(code: str, lang: Lang = "en", /, **params: object) -> str:
    """Return the message for ``code`` in ``lang``, with ``params`` filled in."""
    entry = MESSAGES.get(code)
    if entry is None:
        return code if not params else f"{code}: {params}"
    template = entry.get(lang) or entry["en"]
    shown = {k: said(code, k, v, lang, MESSAGES) for k, v in params.items()}
    try:
        return template.format(**shown)
    except (KeyError, IndexError):
        return template


def pick_lang(accept_language: str | None) -> Lang:
    """Choose zh or en from an Accept-Language header or a LANG-style value."""
    if not accept_language:
        return "en"
    best: tuple[float, Lang] = (-1.0, "en")
    for part in accept_language.replace("_", "-").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        lang: Lang | None = (
            "zh"
            if tag.lower().startswith("zh")
            else ("en" if tag.lower().startswith("en") else None)
        )
        if lang is not None and weight > best[0]:
            best = (weight, lang)
    return best[1]
