"""Find the NVIDIA GPUs on this machine (nvidia-smi), so local runs get real devices."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_mib: int
    uuid: str


def detect_nvidia_gpus() -> list[Gpu]:
    """Return visible GPUs, or [] when there is no driver, no nvidia-smi or it fails."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        out = subprocess.run(
            [tool, "--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(text: str) -> list[Gpu]:
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4 or not parts[0].isdigit():
            continue
        memory = int(parts[2]) if parts[2].isdigit() else 0
        gpus.append(Gpu(int(parts[0]), parts[1], memory, parts[3]))
    return gpus
