"""The control plane of model services in zh-CN and en; joined into suanli.domain.i18n."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

SERVICES: Mapping[str, Mapping[Literal["en", "zh"], str]] = {
    "service.rollout_stuck": {
        "en": "rollout.surge and rollout.max_unavailable are both 0, so no replica could "
        "ever be replaced; allow at least one of them",
        "zh": "rollout.surge 与 rollout.max_unavailable 均为 0，副本永远无法替换；"
        "请至少允许其中一项",
    },
    "service.spec_or_yaml": {
        "en": "give exactly one of spec (a mapping) or spec_yaml (the file's text)",
        "zh": "spec（映射）与 spec_yaml（文件文本）必须且只能给出其一",
    },
    "service_not_found": {
        "en": "no service {service}",
        "zh": "没有服务 {service}",
    },
    "service_revision_not_found": {
        "en": "service {service} has no revision {revision}; it has 1 to {latest}",
        "zh": "服务 {service} 没有第 {revision} 版；现有第 1 至 {latest} 版",
    },
    "service_scale_out_of_range": {
        "en": "{replicas} replicas is outside replicas.min {min} to replicas.max {max}",
        "zh": "副本数 {replicas} 超出 replicas.min {min} 至 replicas.max {max} 的范围",
    },
    "service_deleted": {
        "en": "service {service} is being deleted",
        "zh": "服务 {service} 正在删除",
    },
    "reason_replica_started": {
        "en": "replica {replica} of service {service} (revision {revision})",
        "zh": "服务 {service} 的副本 {replica}（第 {revision} 版）",
    },
    "ui.services": {"en": "Services", "zh": "服务"},
    "ui.service": {"en": "Service", "zh": "服务"},
    "ui.owner": {"en": "Owner", "zh": "所属"},
    "ui.model": {"en": "Model", "zh": "模型"},
    "ui.revision": {"en": "Revision", "zh": "版本"},
    "ui.revisions": {"en": "Revisions", "zh": "版本历史"},
    "ui.in_force": {"en": "in force", "zh": "当前"},
    "ui.replicas": {"en": "Replicas", "zh": "副本"},
    "ui.replica": {"en": "Replica", "zh": "副本"},
    "ui.replicas_ready": {"en": "Ready / wanted", "zh": "就绪 / 期望"},
    "ui.address": {"en": "Address", "zh": "地址"},
    "ui.job": {"en": "Job", "zh": "作业"},
    "ui.since": {"en": "Since", "zh": "起始"},
    "ui.deleting": {"en": "deleting", "zh": "删除中"},
    "ui.no_services": {
        "en": "No services yet: suanli serve up FILE",
        "zh": "暂无服务：suanli serve up 文件",
    },
    "ui.no_replicas": {"en": "No replica runs now", "zh": "当前没有运行的副本"},
    "ui.no_load": {
        "en": "No requests reported in the last 15 minutes",
        "zh": "最近 15 分钟没有请求",
    },
    "ui.requests_per_s": {
        "en": "Requests per second (last 15 minutes)",
        "zh": "每秒请求数（最近 15 分钟）",
    },
    "ui.replica_starting": {"en": "starting", "zh": "启动中"},
    "ui.replica_ready": {"en": "ready", "zh": "就绪"},
    "ui.replica_draining": {"en": "draining", "zh": "排空中"},
    "ui.replica_stopped": {"en": "stopped", "zh": "已停止"},
    "ui.replica_failed": {"en": "failed", "zh": "失败"},
    "ui.replica_floor": {"en": "min (never preempted)", "zh": "最小副本（不被抢占）"},
    "ui.services_help": {
        "en": "Each replica is a job placed by the same scheduler as batch work; a replica is routed once its readiness path answers.",
        "zh": "每个副本都是由与批处理作业相同的调度器放置的作业；副本的就绪路径应答后才接收流量。",
    },
}
