"""CLI labels in zh-CN and en (messages shared with the API live in suanli.domain.i18n)."""

from __future__ import annotations

from suanli.domain.i18n import Lang

LABELS: dict[str, dict[Lang, str]] = {
    "submitted": {
        "en": "Submitted {id} ({name}): {status}",
        "zh": "已提交 {id}（{name}）：{status}",
    },
    "cancel_sent": {
        "en": "Cancel requested for {id}: {status}",
        "zh": "已请求取消 {id}：{status}",
    },
    "job": {"en": "Job", "zh": "作业"},
    "image": {"en": "Image", "zh": "镜像"},
    "checkpoint_every": {
        "en": "Checkpoint: every {minutes} min and on stop; attempts resume",
        "zh": "检查点：每 {minutes} 分钟及停止时保存；后续尝试从检查点继续",
    },
    "checkpoint_on_stop": {
        "en": "Checkpoint: on stop; attempts resume",
        "zh": "检查点：停止时保存；后续尝试从检查点继续",
    },
    "checkpoint_held": {
        "en": "Checkpoint held on {cluster}: the next attempt goes there when it has room",
        "zh": "检查点保存在 {cluster}：该集群有空位时下次尝试在此运行",
    },
    "name": {"en": "Name", "zh": "名称"},
    "status": {"en": "Status", "zh": "状态"},
    "attempt": {"en": "Attempt", "zh": "尝试"},
    "accelerator": {"en": "Accelerator", "zh": "加速卡"},
    "where": {"en": "Cluster/Pool", "zh": "集群/资源池"},
    "submitted_at": {"en": "Submitted", "zh": "提交时间"},
    "updated_at": {"en": "Updated", "zh": "更新时间"},
    "history": {"en": "History", "zh": "状态历史"},
    "time": {"en": "Time", "zh": "时间"},
    "transition": {"en": "Transition", "zh": "状态变化"},
    "reason": {"en": "Reason", "zh": "原因"},
    "placement": {"en": "Placement", "zh": "调度结果"},
    "explanation": {"en": "Why this placement", "zh": "调度说明"},
    "col_price": {"en": "¥/h", "zh": "元/时"},
    "col_net": {"en": "Net ¥", "zh": "净费用"},
    "col_hours": {"en": "Hours", "zh": "小时"},
    "titled": {"en": "{heading}: {text}", "zh": "{heading}：{text}"},
    "why_waits": {"en": "Why it waits", "zh": "等待原因"},
    "full_now": {"en": "full now", "zh": "当前已满"},
    "pool": {"en": "Pool", "zh": "资源池"},
    "price": {"en": "Yuan/hour", "zh": "元/小时"},
    "verdict": {"en": "Verdict", "zh": "结论"},
    "est_net": {"en": "Expected net ¥", "zh": "预计净费用 ¥"},
    "est_hours": {"en": "Expected h", "zh": "预计小时"},
    "chosen": {"en": "chosen", "zh": "选中"},
    "runner_up": {"en": "runner-up", "zh": "备选"},
    "excluded": {"en": "excluded", "zh": "排除"},
    "exit_code": {"en": "Exit code", "zh": "退出码"},
    "jobs_total": {"en": "{shown} of {total} jobs", "zh": "共 {total} 个作业，显示 {shown} 个"},
    "fleet_title": {"en": "Fleet", "zh": "算力网络"},
    "region": {"en": "Region", "zh": "地域"},
    "provider": {"en": "Provider", "zh": "算力伙伴"},
    "accelerators": {"en": "Accelerators", "zh": "加速卡数"},
    "pflops": {"en": "PFLOPS (FP16 dense)", "zh": "算力 PFLOPS（FP16 稠密）"},
    "domestic_share": {"en": "Domestic share", "zh": "国产占比"},
    "unrated": {"en": "Unrated cards", "zh": "未标定算力卡数"},
    "total": {"en": "Total", "zh": "合计"},
    "server_up": {
        "en": "suanli {version} serving on {url}  (console: {url}/console; data: {data_dir}; fleet: {fleet})",
        "zh": "suanli {version} 已启动：{url}（控制台：{url}/console；数据目录：{data_dir}；算力网络：{fleet}）",
    },
    "demo_fleet": {"en": "built-in demo fleet", "zh": "内置演示算力网络"},
    "operator_token": {
        "en": "operator API token: {path} (mode 0600; the CLI on this machine uses it)",
        "zh": "运营方 API 令牌：{path}（权限 0600；本机 CLI 自动使用）",
    },
    "sandbox_partial": {
        "en": "warning: local jobs are only partly sandboxed here ({missing}): {remains}. "
        "Run as root with bubblewrap installed for the whole sandbox (README, Job sandbox).",
        "zh": "警告：本机作业沙箱不完整（缺少 {missing}）：{remains}。"
        "以 root 运行并安装 bubblewrap 才有完整沙箱（见 README「作业沙箱」）。",
    },
    "sandbox_missing_users": {
        "en": "per-tenant users (needs root)",
        "zh": "按租户的系统用户（需 root）",
    },
    "sandbox_missing_namespaces": {
        "en": "namespaces (bubblewrap)",
        "zh": "命名空间（bubblewrap）",
    },
    "sandbox_remains_namespaces": {
        "en": "jobs run as the server's user, but see neither the data directory nor any other "
        "process, and get only their own environment",
        "zh": "作业以服务器的用户运行，但看不到数据目录和其他进程，只得到自己的环境变量",
    },
    "sandbox_remains_users": {
        "en": "jobs run as their tenant's own user and cannot read the data directory or signal "
        "the server, but see the host's other processes and files",
        "zh": "作业以所属租户的系统用户运行，不能读数据目录、不能向服务器发信号，"
        "但能看到主机上的其他进程和文件",
    },
    "sandbox_remains_env": {
        "en": "jobs get only their own environment, nothing else: they can read the data "
        "directory (tokens, database) and signal the server",
        "zh": "作业只得到自己的环境变量，其余均无隔离：能读数据目录（令牌、数据库），"
        "能向服务器发信号",
    },
    "bad_input": {"en": "error", "zh": "错误"},
    "no_decision": {
        "en": "{id} ({status}) has not been through a scheduling cycle yet",
        "zh": "{id}（{status}）尚未经过调度",
    },
}


def t(key: str, lang: Lang, **params: object) -> str:
    entry = LABELS.get(key, {})
    return (entry.get(lang) or entry.get("en") or key).format(**params)


class LabelTable:
    """A module's own labels, falling back to another table's (then to the key itself)."""

    def __init__(
        self, labels: dict[str, dict[Lang, str]], fallback: LabelTable | None = None
    ) -> None:
        self.labels = labels
        self.fallback = fallback

    def __call__(self, key: str, lang: Lang, **params: object) -> str:
        entry = self.labels.get(key)
        if entry is None:
            if self.fallback is not None:
                return self.fallback(key, lang, **params)
            return key.format(**params)
        return (entry.get(lang) or entry["en"]).format(**params)
