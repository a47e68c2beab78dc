"""Real NVIDIA GPUs: detected, turned into a pool, and handed to runs by CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.gpus import detect_nvidia_gpus
from suanli.engines.local import LocalEngine
from suanli.service.bootstrap import open_platform
from tests.builders import make_spec
from tests.conftest import wait_until

GPUS = detect_nvidia_gpus()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not GPUS, reason="no NVIDIA GPU visible")]


def test_detected_gpus_form_a_local_pool(tmp_path: Path) -> None:
    platform = open_platform(tmp_path / "data")
    cluster = platform.fleet.cluster("this-machine")
    assert cluster is not None, f"GPU names not in the catalog: {[g.name for g in GPUS]}"
    assert sum(p.accelerators for p in cluster.pools) == len(GPUS)


def test_a_run_sees_exactly_its_gpu(tmp_path: Path) -> None:
    engine = LocalEngine(tmp_path / "runs", SystemClock(), GPUS)
    last = GPUS[-1].index
    spec = make_spec(run="echo visible=$CUDA_VISIBLE_DEVICES; nvidia-smi -L")
    placement = Placement(
        "this-machine", "gpu", "H100", (NodeAssignment("gpu-n0", (last,)),), Decimal(0)
    )
    engine.launch(LaunchRequest("suanli-j-gpu-a1", "j-gpu", 1, spec, placement))

    def final() -> RunStatus | None:
        s = engine.status("suanli-j-gpu-a1")
        return s if s.state.is_final else None

    status = wait_until(final, timeout=60)
    assert status.state is RunState.SUCCEEDED
    out = engine.read_log("suanli-j-gpu-a1", 0).data.decode()
    assert f"visible={last}" in out
    assert out.count("GPU ") == 1  # nvidia-smi lists only the device it was given
