"""The local supervisor's container path: pull, start one container per rank, follow them.

Called by ``local_runner.Runner`` when ``launch.json`` holds a ``container`` section. The
containers are named by the run key (``KEY``, then ``KEY-1``... for further ranks) and write
straight into the run's output file (``--log-driver=passthrough``), so they outlive a
supervisor that dies; the next supervisor (``adopt``) follows them by name with
``podman container inspect`` and never starts another.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any, Protocol

from suanli.engines import container as podman
from suanli.engines import userns
from suanli.engines.container import ImageFailure, ImageRef, Limits

# Names of the job's variables the container does not get from the host's view of them.
HOST_ONLY = ("PATH", "HOME", "SUANLI_WORKDIR")
STARTED, RESULT, CANCEL = "started.json", "result.json", "cancel"


class Supervisor(Protocol):
    """What the container path uses of ``local_runner.Runner``."""

    dir: Path
    stopping: bool

    def pause(self, seconds: float) -> None: ...
    def monotonic(self) -> float: ...
    def now(self) -> str: ...
    def grace(self, cancelled: bool) -> float: ...
    def record_started(self, data: dict[str, Any]) -> None: ...


def names(key: str, ranks: int) -> list[str]:
    return [key if r == 0 else f"{key}-{r}" for r in range(ranks)]


def run(sup: Supervisor, launch: dict[str, Any], log: Any) -> dict[str, Any]:
    """Pull the image, start the containers, wait; the result to record."""
    spec = launch["container"]
    deadline = sup.monotonic() + float(launch["time_limit_s"])
    env = {str(k): str(v) for k, v in launch["env"].items()}
    try:
        ref = ImageRef.parse(spec["image"], spec.get("mirror"))
        log.write(f"[suanli] image {ref.full}\n".encode())
        digest = podman.pull(ref, env, max(1.0, deadline - sup.monotonic()), str(sup.dir))
    except ImageFailure as exc:
        log.write(f"[suanli] image {spec['image']}: {exc}\n".encode())
        return {"state": "failed", "exit_code": None, "reason": "image", "detail": str(exc)}
    containers = names(str(launch["key"]), int(launch["nodes"]))
    started = {"image": ref.full, "image_digest": digest, "containers": containers}
    sup.record_started({**started, "pulling": False})
    log.write(f"[suanli] resolved {digest}\n".encode())
    script = launch["run"]
    if launch.get("setup"):
        script = "{\n" + launch["setup"] + "\n} || exit $?\n" + script
    try:
        checkpoint = launch.get("checkpoint")
        idmap, inside = _namespace(spec.get("user"), [launch["workdir"], checkpoint])
    except (userns.NoRange, OSError) as exc:
        log.write(f"[suanli] no user namespace for the container: {exc}\n".encode())
        detail = f"no user namespace for the container: {exc}"
        return {"state": "failed", "exit_code": None, "reason": "runner_error", "detail": detail}
    devices, mounts = podman.accelerator_devices(spec.get("slots") or [], bool(spec.get("real")))
    procs = []
    for rank, name in enumerate(containers):
        rank_env = {**env, "SUANLI_NODE_RANK": str(rank), "NODE_RANK": str(rank)}
        visible = [k for k in rank_env if k not in HOST_ONLY]
        argv = podman.run_argv(
            name,
            ref.pull_ref,
            script,
            visible,
            launch["workdir"],
            Limits(int(spec.get("cpus", 1)), int(spec.get("memory_gb", 0))),
            inside,
            devices,
            mounts,
            podman.oci_runtime(),
            podman.own_ulimits(),
            str(spec.get("network") or "host"),
            idmap,
            checkpoint,
        )
        procs.append(
            subprocess.Popen(
                argv,
                env={**podman.podman_env(), **rank_env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return _follow(sup, containers, deadline, log, procs)


def _namespace(
    user: Any, directories: list[str | None]
) -> tuple[userns.IdRange | None, tuple[int, int] | None]:
    """The container's id mapping and the uid:gid its job runs as inside.

    With a tenant's host user (the server runs as root): the tenant's range, the job as root
    inside (no capabilities), and the ACLs of ``directories`` (work, checkpoint) let that
    mapped root write there while the tenant's host user keeps reading all of it. Without
    one (an unprivileged server): podman's own rootless namespace, no mapping of ours.
    """
    if not user:
        return None, None
    idmap = userns.for_account(int(user[0]))
    for directory in directories:  # the work directory, the checkpoint directory
        if directory is not None:
            userns.grant(directory, [int(user[0]), idmap.host(0)])
    return idmap, (0, 0)


def adopt(
    sup: Supervisor, launch: dict[str, Any], started: dict[str, Any], log: Any
) -> dict[str, Any]:
    """Follow the containers a dead supervisor started; the result to record."""
    containers = [str(c) for c in started.get("containers") or []]
    at = dt.datetime.fromisoformat(str(started["at"]))
    elapsed = (dt.datetime.fromisoformat(sup.now()) - at).total_seconds()
    deadline = sup.monotonic() + float(launch["time_limit_s"]) - elapsed
    if not containers or all(podman.container_state(c) is None for c in containers):
        return {"state": "lost", "exit_code": None, "detail": "its containers are gone"}
    log.write(b"[suanli] supervisor restarted; following the run's containers\n")
    return _follow(sup, containers, deadline, log, [])


def _follow(
    sup: Supervisor,
    containers: list[str],
    deadline: float,
    log: Any,
    procs: list[subprocess.Popen[bytes]],
) -> dict[str, Any]:
    try:
        while True:
            codes = _exit_codes(containers, procs)
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                _stop(sup, containers, cancelled=False)
                return {"state": "failed", "exit_code": failed[0]}
            if all(c == 0 for c in codes):
                return {"state": "succeeded", "exit_code": 0}
            if sup.stopping or (sup.dir / CANCEL).exists():
                log.write(b"\n[suanli] cancel requested; stopping the containers\n")
                _stop(sup, containers, cancelled=True)
                return {"state": "cancelled", "exit_code": None}
            if sup.monotonic() >= deadline:
                log.write(b"\n[suanli] hard time limit reached; stopping the containers\n")
                _stop(sup, containers, cancelled=False)
                return {"state": "failed", "exit_code": None, "reason": "time_limit"}
            sup.pause(0.2)
    finally:
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def clean_up(started: dict[str, Any]) -> None:
    """Remove a finished run's containers (after its result is recorded: until then a new
    supervisor reads their exit codes)."""
    for name in started.get("containers") or []:
        podman.remove(str(name))


def _exit_codes(containers: list[str], procs: list[subprocess.Popen[bytes]]) -> list[int | None]:
    """Each container's exit code, None while it runs (from its podman client when we have one)."""
    codes: list[int | None] = []
    for i, name in enumerate(containers):
        if i < len(procs):
            codes.append(procs[i].poll())  # podman run exits with the container's code
            continue
        state = podman.container_state(name)
        if state is None:
            codes.append(137)  # removed under us: it did not finish
        else:
            codes.append(state[1] if state[0] in ("exited", "stopped") else None)
    return codes


def _stop(sup: Supervisor, containers: list[str], cancelled: bool) -> None:
    """``podman stop -t GRACE``: the stop signal now, the kill after the grace."""
    podman.stop(containers, sup.grace(cancelled))


def read_started(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / STARTED).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
