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
}
