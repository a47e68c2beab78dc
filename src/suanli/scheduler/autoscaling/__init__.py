"""Autoscaling: how many replicas a service wants, as a pure decision (no I/O)."""

from suanli.scheduler.autoscaling.model import Sample, ScalingRule, Window
from suanli.scheduler.autoscaling.policies import (
    POLICIES,
    Oracle,
    ScalingPolicy,
    Static,
    TargetTracking,
    policy_named,
)

__all__ = [
    "POLICIES",
    "Oracle",
    "Sample",
    "ScalingPolicy",
    "ScalingRule",
    "Static",
    "TargetTracking",
    "Window",
    "policy_named",
]
