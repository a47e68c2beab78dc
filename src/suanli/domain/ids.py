"""Identifiers: short, URL-safe, sortable by creation for humans reading lists."""

from __future__ import annotations

import secrets
from typing import NewType

JobId = NewType("JobId", str)
ClusterName = NewType("ClusterName", str)
PoolName = NewType("PoolName", str)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_job_id() -> JobId:
    """Return a fresh job id such as ``j-7f3k2a9q4m``."""
    # One draw of 50 random bits, 5 per character (32 letters: exactly uniform). A draw per
    # character would cost ten system calls, which showed on the submit path.
    bits = int.from_bytes(secrets.token_bytes(7)) & ((1 << 50) - 1)
    return JobId("j-" + "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(10)))


def engine_key(job_id: JobId, attempt: int) -> str:
    """The stable key an engine is told, so a restarted control plane re-adopts the run."""
    return f"suanli-{job_id}-a{attempt}"


def parse_engine_key(key: str) -> tuple[JobId, int] | None:
    """The job id and attempt an engine key names, or None when it is no suanli key."""
    head, sep, attempt = key.rpartition("-a")
    if not sep or not head.startswith("suanli-j-") or not attempt.isdigit():
        return None
    return JobId(head.removeprefix("suanli-")), int(attempt)
