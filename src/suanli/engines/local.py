"""The embedded default engine: real processes on this machine, accelerators as slots.

Each run lives in ``ROOT/KEY/``; a detached runner (``local_runner``) supervises it, so
the control plane can die and come back without losing or repeating the run. The run's
files (launch, status, log, cancel) are the supervisor's alone (0700/0600, root's when it
runs as root); the job runs confined (``sandbox``: its tenant's user, namespaces, a clean
environment) in ``ROOT/KEY/work``, the only directory it may write besides its
checkpoint directory: a job whose spec checkpoints gets ``ROOT/.checkpoints/JOB`` as
``SUANLI_CHECKPOINT_DIR``, the same for every attempt (0700, its tenant user's; dropped when
the job ends for good, ``drop_checkpoint``; a job in an image sees it at ``/checkpoint``,
bound read-write into its containers). Pools whose
cluster says ``options: {devices: nvidia}`` hand the run real GPUs by CUDA_VISIBLE_DEVICES;
other pools are emulated and see no GPU.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suanli.domain.clock import Clock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import Reason
from suanli.engines.base import (
    EngineFeature,
    Inventory,
    LaunchRequest,
    LogChunk,
    RunState,
    RunStatus,
    is_replica,
    job_env,
    read_log_file,
)
from suanli.engines.checkpoints import CHECKPOINT_ENV, CHECKPOINT_MOUNT, own_directory
from suanli.engines.gpus import Gpu
from suanli.engines.local_inventory import (
    EmulatedNode,
    live_launches,
    read_inventory,
)
from suanli.engines.local_runner import (
    CANCEL,
    LAUNCH,
    LOCK,
    OUTPUT,
    RESULT,
    STARTED,
    write_json_atomic,
    write_text_atomic,
)
from suanli.engines.sandbox import (
    NETWORKS,
    Account,
    Isolation,
    confinement,
    job_environment,
    tenant_account,
)
from suanli.engines.sandbox import detect as detect_isolation

# A launched run whose runner has not taken its lock after this long never started.
START_GRACE_S = 30.0
CHECKPOINTS = ".checkpoints"  # ROOT/.checkpoints/JOB: a resumable job's, across attempts


class LocalEngine:
    name = "local"
    features = frozenset(
        {
            EngineFeature.GANG,
            EngineFeature.CANCEL,
            EngineFeature.LOGS,
            EngineFeature.TIME_LIMIT,
            EngineFeature.INVENTORY,
        }
    )

    def __init__(
        self,
        root: Path,
        clock: Clock,
        gpus: list[Gpu] | None = None,
        hidden: Sequence[Path] | None = None,
        isolation: Isolation | None = None,
        shared: Sequence[Path] = (),
        nodes: tuple[EmulatedNode, ...] = (),
        registry: str | None = None,
        network: str = "host",
    ) -> None:
        """``hidden``: what jobs must not see (the data directory; default ``root``);
        ``shared``: host directories every job sees read-write (``SUANLI_JOB_MOUNTS``);
        ``nodes``: the cluster's pools as nodes, for ``inventory()``;
        ``registry``: the region's image mirror, for images named without a registry;
        ``network``: "host" (jobs share the host's network) or "isolated" (a network
        namespace of their own: no host service, no outside address; see ``sandbox``)."""
        self.root = root
        self.clock = clock
        self.gpus = gpus or []
        self.nodes = nodes
        if self.gpus:
            self.features = self.features | {EngineFeature.REAL_GPUS}
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.hidden = tuple(p.resolve() for p in (hidden or (root,)))
        self.isolation = isolation or detect_isolation()
        if network not in NETWORKS or (network == "isolated" and self.isolation.bwrap is None):
            raise EngineFailure(
                engine=self.name,
                detail=f"network {network!r}: allowed {', '.join(NETWORKS)}; "
                "isolated needs bubblewrap (scripts/sandbox.sh)",
            )
        self.network = network
        self.shared = tuple(shared)
        self.registry = registry
        self._children: dict[str, int] = {}  # runner pids by key, until reaped

    def _dir(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise EngineFailure(engine=self.name, detail=f"bad run key {key!r}")
        return self.root / key

    def _checkpoint_dir(self, job_id: str) -> Path:
        """The job's checkpoint directory (a name no run key can take: it starts with .)."""
        if not job_id or "/" in job_id or job_id.startswith(".") or "\x00" in job_id:
            raise EngineFailure(engine=self.name, detail=f"bad job id {job_id!r}")
        return self.root.resolve() / CHECKPOINTS / job_id

    def drop_checkpoint(self, job_id: str) -> None:
        """Delete the job's checkpoints: it ended for good (no attempt resumes)."""
        path = self._checkpoint_dir(job_id)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)

    def launch(self, request: LaunchRequest) -> None:
        run_dir = self._dir(request.key)
        if (run_dir / STARTED).exists() or (run_dir / RESULT).exists():
            return
        if (run_dir / LAUNCH).exists() and (
            request.key in self._children or self._runner_alive(run_dir)
        ):
            return  # a runner is up or coming up; a second one would only wait and leave
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (run_dir / LAUNCH).exists():
            account = tenant_account(request.tenant) if self.isolation.users else None
            launch = self._launch_file(request, run_dir, account)
            _work_dir(Path(launch["workdir"]), account)
            if launch["checkpoint"] is not None:
                _checkpoint_dir(Path(launch["checkpoint"]), account)
            write_json_atomic(run_dir / LAUNCH, launch)
        self._spawn_runner(request.key, run_dir)

    def _launch_file(
        self, request: LaunchRequest, run_dir: Path, account: Account | None
    ) -> dict[str, Any]:
        spec, placement = request.spec, request.placement
        slots = [s for n in placement.nodes for s in n.slots]
        workdir = run_dir.resolve() / "work"
        devices = self._visible_devices(slots)
        env = {
            **job_env(request, len(placement.nodes)),
            "SUANLI_NODES": ",".join(n.node for n in placement.nodes),
            "SUANLI_SLOTS": ",".join(str(s) for s in placement.nodes[0].slots)
            if placement.nodes
            else "",
            "WORLD_SIZE": str(len(placement.nodes)),
            "MASTER_ADDR": "127.0.0.1",
            "CUDA_VISIBLE_DEVICES": devices,
            **request.extra_env,
            **spec.env,
        }
        # A job that checkpoints: every attempt sees the same directory; in an image, the
        # host directory bound at ``CHECKPOINT_MOUNT``.
        keeps = self._checkpoint_dir(request.job_id) if spec.resumes else None
        if keeps is not None:  # after the job's env: not redirectable
            env[CHECKPOINT_ENV] = CHECKPOINT_MOUNT if spec.image else str(keeps)
        port = free_port() if is_replica(spec) else None
        if port is not None:  # listen at HOST:PORT (the same contract on every engine)
            env["PORT"], env["HOST"] = str(port), "127.0.0.1"
        launch: dict[str, Any] = {
            "key": request.key,
            "setup": spec.setup or "",
            "run": spec.run,
            "env": job_environment(env, workdir, account),
            "nodes": len(placement.nodes),
            "time_limit_s": spec.time_limit.total_seconds(),
            "workdir": str(workdir),
            # The command prefix that confines each of the job's processes (sandbox.py).
            "confine": confinement(
                self.isolation,
                account,
                workdir,
                self.hidden,
                bool(devices),
                (*self.shared, keeps) if keeps is not None else self.shared,
                isolated_network=self.network == "isolated",
            ),
            "user": account.name if account else None,
            "checkpoint": str(keeps) if keeps is not None else None,  # on the host
        }
        if port is not None:  # a service replica: where it answers (``address``)
            launch["address"] = f"http://127.0.0.1:{port}"
        if spec.image:  # runs in a container instead (container_runner), as the same user
            launch["container"] = {
                "image": spec.image,
                "mirror": self.registry,
                "cpus": spec.resources.cpus,
                "memory_gb": spec.resources.memory_gb,
                "user": [account.uid, account.gid] if account else None,
                "slots": [int(s) for s in devices.split(",") if s],
                "real": bool(devices),
                "network": "none" if self.network == "isolated" else "host",
            }
        return launch

    def _visible_devices(self, slots: list[int]) -> str:
        # Emulated pools must not touch real devices; real pools get exactly their slots.
        if not self.gpus:
            return ""
        indices = {g.index for g in self.gpus}
        return ",".join(str(s) for s in slots if s in indices)

    def _spawn_runner(self, key: str, run_dir: Path) -> None:
        # posix_spawn, not Popen: the runner is meant to outlive us, and a Popen object would
        # complain when collected while it still runs. Its own session keeps it out of our
        # process group, so a signal to the server never reaches the job.
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (
                os.POSIX_SPAWN_OPEN,
                1,
                str(run_dir / "runner.out"),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                0o600,
            ),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        argv = [sys.executable, "-m", "suanli.engines.local_runner", str(run_dir)]
        try:
            pid = os.posix_spawn(
                sys.executable, argv, _runner_env(), file_actions=actions, setsid=True
            )
        except OSError as exc:
            raise EngineFailure(engine=self.name, detail=f"{key}: {exc}") from exc
        self._children[key] = pid

    def status(self, key: str) -> RunStatus:
        run_dir = self._dir(key)
        self._reap()
        if not (run_dir / LAUNCH).exists():
            return RunStatus(
                RunState.LOST, reason=Reason("reason_lost", {"detail": "no such run"})
            )
        result = self._result(run_dir)
        if result is not None:
            return result
        started = _read_json(run_dir / STARTED)
        if self._runner_alive(run_dir):
            if started is None or started.get("pulling"):
                return RunStatus(RunState.PENDING)  # not started, or its image on its way
            return RunStatus(
                RunState.RUNNING,
                started_at=_parse_time(started.get("at")),
                image_digest=started.get("image_digest"),
            )
        result = self._result(run_dir)  # it may have finished while we looked
        if result is not None:
            return result
        if started is not None and started.get("containers") and not (run_dir / RESULT).exists():
            # Its containers outlive it: a new supervisor follows them (never starts another).
            self._spawn_runner(key, run_dir)
            return RunStatus(RunState.RUNNING, started_at=_parse_time(started.get("at")))
        if started is not None:
            # Its job processes may outlive it: stop them before anyone starts a retry.
            _kill_orphaned_group(started.get("group"))
            return RunStatus(
                RunState.LOST,
                reason=Reason(
                    "reason_lost", {"detail": "the run's supervisor died without an exit status"}
                ),
                started_at=_parse_time(started.get("at")),
            )
        age = self.clock.now().timestamp() - (run_dir / LAUNCH).stat().st_mtime
        if age < START_GRACE_S:
            return RunStatus(RunState.PENDING)
        return RunStatus(
            RunState.LOST, reason=Reason("reason_lost", {"detail": "the run never started"})
        )

    def _result(self, run_dir: Path) -> RunStatus | None:
        data = _read_json(run_dir / RESULT)
        if data is None:
            return None
        started = _read_json(run_dir / STARTED) or {}
        state = RunState(data["state"])
        reason = None
        if data.get("reason") == "time_limit":
            launch = _read_json(run_dir / LAUNCH) or {}
            limit = dt.timedelta(seconds=round(float(launch.get("time_limit_s", 0))))
            reason = Reason("reason_time_limit", {"limit": str(limit)})
        elif data.get("reason") == "image":
            launch = _read_json(run_dir / LAUNCH) or {}
            image = str((launch.get("container") or {}).get("image", ""))
            reason = Reason("reason_image_failed", {"image": image, "detail": data.get("detail")})
        elif state is RunState.LOST:
            reason = Reason("reason_lost", {"detail": str(data.get("detail", ""))})
        elif data.get("reason") == "runner_error":
            reason = Reason("reason_dispatch_failed", {"detail": str(data.get("detail", ""))})
        return RunStatus(
            state,
            data.get("exit_code"),
            reason,
            _parse_time(started.get("at")),
            _parse_time(data.get("finished_at")),
            image_digest=started.get("image_digest"),
        )

    def _runner_alive(self, run_dir: Path) -> bool:
        lock_path = run_dir / LOCK
        if not lock_path.exists():
            return False
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def _reap(self) -> None:
        for key, pid in list(self._children.items()):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                del self._children[key]

    def cancel(self, key: str, grace_s: float | None = None) -> None:
        run_dir = self._dir(key)
        if not run_dir.exists():
            return
        # The runner reads its grace from the cancel file (empty: its default); written
        # whole, so it never reads half a number.
        write_text_atomic(run_dir / CANCEL, "" if grace_s is None else repr(float(grace_s)))
        started = _read_json(run_dir / STARTED)
        if started and self._runner_alive(run_dir):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(started["pid"]), signal.SIGTERM)

    def read_log(self, key: str, offset: int, limit: int = 1 << 20) -> LogChunk:
        return read_log_file(self._dir(key) / OUTPUT, offset, limit)

    def address(self, key: str) -> str | None:
        found = _read_json(self._dir(key) / LAUNCH)
        url = found.get("address") if found else None
        return url if isinstance(url, str) else None

    def ping(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

    def inventory(self) -> Inventory:
        """The cluster's pools as nodes, their slots free after the live runs."""
        return read_inventory(self.root, self.nodes, self.clock)

    def live_runs(self) -> list[str]:
        return [key for key, _ in live_launches(self.root)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _work_dir(workdir: Path, account: Account | None) -> None:
    """The job's only writable directory: 0700, its tenant user's."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if account is not None:
        os.chown(workdir, account.uid, account.gid)
    os.chmod(workdir, 0o700)


def _checkpoint_dir(path: Path, account: Account | None) -> None:
    """The job's checkpoint directory: 0700, its tenant user's, under a parent that is the
    server's alone, as the root is (a job reaches only its own, bound into its sandbox)."""
    parent = path.parent
    parent.mkdir(exist_ok=True, mode=0o700)
    os.chmod(parent, 0o700)
    own_directory(path, account)


def _runner_env() -> dict[str, str]:
    """The supervisor's environment: what Python needs, none of the server's settings."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep or k.startswith("PYTHON")}


def _kill_orphaned_group(group: Any) -> None:
    """SIGKILL a dead runner's job process group, if it is still ours.

    The runner's do-nothing leader holds the group id for the run's life; while any member
    lives, Linux does not hand that id to another process, so the check is the leader's
    command line when it still exists.
    """
    if not isinstance(group, int) or group <= 1:
        return
    try:
        cmdline = Path(f"/proc/{group}/cmdline").read_bytes()
    except OSError:
        cmdline = None  # leader gone; remaining members still carry the group id
    if cmdline is not None and b"signal.pause()" not in cmdline:
        return  # the id now belongs to someone else
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _parse_time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
