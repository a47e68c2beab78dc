"""Slurm clusters through the Slurm CLI (sbatch, squeue, sinfo, scancel).

Why the CLI and not slurmrestd: every Slurm site has the CLI on its login nodes, it needs no
JWT set-up or extra daemon, and its output formats have been stable for years, while the
REST API version changes with each Slurm release (v0.0.38 on 22.05, gone in 24.x).

The run's key is the Slurm job name (and comment), so the control plane never keeps Slurm
job ids: a restarted control plane finds its runs by name, and a key Slurm already knows is
never submitted again. Output goes to ``ROOT/KEY/output.log`` (ROOT on a file system the
control plane and the compute nodes share, as at any Slurm site).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.clock import Clock
from suanli.domain.errors import EngineFailure, EngineUnavailable
from suanli.domain.jobs import Reason
from suanli.engines import replica_port as port
from suanli.engines import slurm_image
from suanli.engines.base import (
    EngineFeature,
    Inventory,
    LaunchRequest,
    LogChunk,
    NodeInventory,
    RunState,
    RunStatus,
    job_env,
    read_log_file,
)
from suanli.engines.checkpoints import CHECKPOINT_ENV, CHECKPOINT_MOUNT
from suanli.engines.sandbox import Account, tenant_account
from suanli.engines.slurm_checkpoints import SlurmCheckpoints
from suanli.engines.slurm_options import SlurmOptions as SlurmOptions

KEY_PREFIX = "suanli-"  # every key starts so (suanli.domain.ids.engine_key)
COMMAND_TIMEOUT_S = 30.0
PING_TIMEOUT_S = 5.0
# A command that succeeded this recently answers a ping (the control loop pings every tick).
PING_FRESH_S = 1.0
# A run we submitted is watched closely until Slurm starts it: while it is pending, a status
# call asks Slurm about the watched runs alone (squeue -j) when the table is older than this,
# instead of waiting for the next full listing (cache_s). Given up after WATCH_FOR_S.
WATCH_S = 0.05
WATCH_FOR_S = 30.0
OUTPUT = "output.log"
SCRIPT = "job.sbatch"
ACTIVE = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED"})
# Slurm's own words -> ours. Node failures and preemption lose the run: suanli decides retries
# (jobs are submitted --no-requeue, so Slurm never starts one again by itself).
STATES: Mapping[str, RunState] = {
    "PENDING": RunState.PENDING,
    "CONFIGURING": RunState.PENDING,
    "REQUEUED": RunState.PENDING,
    "REQUEUE_HOLD": RunState.PENDING,
    "REQUEUE_FED": RunState.PENDING,
    "RESV_DEL_HOLD": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "COMPLETING": RunState.RUNNING,
    "SUSPENDED": RunState.RUNNING,
    "STOPPED": RunState.RUNNING,
    "RESIZING": RunState.RUNNING,
    "SIGNALING": RunState.RUNNING,
    "STAGE_OUT": RunState.RUNNING,
    "COMPLETED": RunState.SUCCEEDED,
    "FAILED": RunState.FAILED,
    "OUT_OF_MEMORY": RunState.FAILED,
    "TIMEOUT": RunState.FAILED,
    "DEADLINE": RunState.FAILED,
    "SPECIAL_EXIT": RunState.FAILED,
    "CANCELLED": RunState.CANCELLED,
    "NODE_FAIL": RunState.LOST,
    "BOOT_FAIL": RunState.LOST,
    "PREEMPTED": RunState.LOST,
    "REVOKED": RunState.LOST,
}
# squeue fields, the job name last (it is the only one that may hold the separator).
QUEUE_FORMAT = "JobID:|,State:|,exit_code:|,StartTime:|,EndTime:|,TimeLimit:|,Reason:|,Name:"
NODE_FORMAT = "NodeList:|,StateLong:|,CPUsState:|,Memory:|,AllocMem:|,Gres:|,GresUsed:"
GRES = re.compile(r"(?P<name>[A-Za-z0-9_]+):(?:(?P<type>[A-Za-z0-9_.-]+):)?(?P<count>\d+)")


@dataclass(frozen=True)
class SlurmJob:
    """One line of squeue."""

    job_id: int
    state: str
    exit_code: int | None
    start: dt.datetime | None
    end: dt.datetime | None
    limit: str
    reason: str
    name: str


class SlurmEngine:
    name = "slurm"
    features = frozenset(
        {
            EngineFeature.GANG,
            EngineFeature.CANCEL,
            EngineFeature.LOGS,
            EngineFeature.TIME_LIMIT,
            EngineFeature.INVENTORY,
        }
    )

    def __init__(self, root: Path, clock: Clock, options: SlurmOptions | None = None) -> None:
        self.root = root
        self.clock = clock
        self.options = options or SlurmOptions()
        self.root.mkdir(parents=True, exist_ok=True)
        self.checkpoints = SlurmCheckpoints(root, self.options.checkpoint_dir)
        self._table: dict[str, SlurmJob] = {}
        self._table_at = -math.inf
        self._answered_at = -math.inf
        self._loaded = False  # whether _table has been read from Slurm since we started
        self._watch: dict[str, float] = {}  # key -> when we submitted it, until it starts
        self._watch_at = -math.inf

    # --- the protocol -------------------------------------------------------------------

    def launch(self, request: LaunchRequest) -> None:
        run_dir = self._dir(request.key)
        # Never submit a key Slurm knows. Once the table has been read from Slurm, it holds
        # every key (ours are added as we submit them), so only the first launch asks Slurm.
        if request.key in self._table:
            return
        if not self._loaded and self._find(request.key) is not None:
            return
        as_user = self._tenant_user(request, run_dir)
        keeps = self.checkpoints.prepare(request, as_user)  # SUANLI_CHECKPOINT_DIR
        script = render_batch_script(request, run_dir, self.options, keeps)
        # The script holds the job's env values: its owner's alone.
        fd = os.open(run_dir / SCRIPT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(script)
        user = [f"--uid={as_user.uid}", f"--gid={as_user.gid}"] if as_user else []
        out = self._run(["sbatch", "--parsable", *user, str(run_dir / SCRIPT)], "sbatch")
        job_id = out.strip().split(";")[0]
        self._table[request.key] = SlurmJob(
            int(job_id) if job_id.isdigit() else 0,
            "PENDING",
            None,
            None,
            None,
            "",
            "",
            request.key,
        )
        self._watch[request.key] = self.clock.monotonic()
        self._watch_at = -math.inf  # the next status call asks Slurm how it is doing

    def drop_checkpoint(self, job_id: str) -> None:
        self.checkpoints.drop(job_id)  # the job ended for good (checkpoints.CheckpointStore)

    def address(self, key: str) -> str | None:
        return port.address_in_log(self.read_log, key)

    def watching(self) -> bool:
        """Whether a run we submitted is still pending: the caller should ask again soon."""
        now = self.clock.monotonic()
        self._watch = {k: t for k, t in self._watch.items() if now - t <= WATCH_FOR_S}
        return bool(self._watch)

    def status(self, key: str) -> RunStatus:
        self._dir(key)
        now = self.clock.monotonic()
        if now - self._table_at > self.options.cache_s:
            self._ping_unless_fresh()
            self._table = self._queue()
            self._table_at = self._watch_at = self.clock.monotonic()
            self._loaded = True
            self._unwatch()
        elif key in self._watch and now - self._watch_at > WATCH_S:
            self._ping_unless_fresh()
            self._table.update(
                self._jobs(self._table[k].job_id for k in self._watch if k in self._table)
            )
            self._watch_at = self.clock.monotonic()
            self._unwatch()
        job = self._table.get(key)
        if job is None:
            return RunStatus(
                RunState.LOST,
                reason=Reason("reason_lost", {"detail": "Slurm has no job by this name"}),
            )
        return slurm_image.with_image(_status(job), self.root / key)

    def cancel(self, key: str, grace_s: float | None = None) -> None:
        self._dir(key)
        if grace_s is None:
            # Slurm's own stop: SIGTERM, then SIGKILL after the cluster's KillWait.
            self._run(["scancel", "--name", key], "scancel")
        else:
            # A job not started yet just goes; a running one gets SIGTERM on the batch
            # shell and every step (--full) now, and SIGKILL when the grace is over: the
            # caller asks again with grace 0 then (Slurm keeps no per-job grace of its own).
            self._run(["scancel", "--state=PENDING", "--name", key], "scancel")
            signal_name = "KILL" if grace_s <= 0 else "TERM"
            self._run(
                ["scancel", "--state=RUNNING", "--full", f"--signal={signal_name}", "--name", key],
                "scancel",
            )
        self._table_at = -math.inf

    def read_log(self, key: str, offset: int, limit: int = 1 << 20) -> LogChunk:
        return read_log_file(self._dir(key) / OUTPUT, offset, limit)

    def ping(self) -> bool:
        if self.clock.monotonic() - self._answered_at < PING_FRESH_S:
            return True
        try:
            self._run(["scontrol", "ping"], "scontrol", timeout=PING_TIMEOUT_S)
        except EngineFailure:
            return False
        return True

    # --- inventory ----------------------------------------------------------------------

    def inventory(self) -> Inventory:
        out = self._run(["sinfo", "--noheader", "--Node", "--Format", NODE_FORMAT], "sinfo")
        nodes: dict[str, NodeInventory] = {}
        for line in out.splitlines():
            node = _node(line)
            if node is not None:
                nodes[node.name] = node  # one line per node and partition: keep one
        return Inventory(tuple(nodes[n] for n in sorted(nodes)), self.clock.now())

    def live_runs(self) -> list[str]:
        return sorted(
            name
            for name, job in self._queue().items()
            if name.startswith(KEY_PREFIX) and job.state in ACTIVE
        )

    # --- Slurm --------------------------------------------------------------------------

    def _ping_unless_fresh(self) -> None:
        # scontrol ping fails at once when slurmctld is gone; squeue would retry for ~10 s.
        # A command that answered within PING_FRESH_S vouches for the controller instead.
        if self.clock.monotonic() - self._answered_at >= PING_FRESH_S:
            self._run(["scontrol", "ping"], "scontrol", timeout=PING_TIMEOUT_S)

    def _unwatch(self) -> None:
        """Stop watching runs Slurm has started (or ended, or forgotten), or watched too long."""
        now = self.clock.monotonic()
        for key, since in list(self._watch.items()):
            job = self._table.get(key)
            pending = job is not None and STATES.get(job.state) is RunState.PENDING
            if not pending or now - since > WATCH_FOR_S or job is None or job.job_id == 0:
                del self._watch[key]

    def _jobs(self, job_ids: Iterable[int]) -> dict[str, SlurmJob]:
        """squeue for these job ids only, by name (one call)."""
        ids = ",".join(str(i) for i in sorted(set(job_ids)))
        if not ids:
            return {}
        try:
            out = self._run(
                ["squeue", "--noheader", "--states=all", "--jobs", ids, "--Format", QUEUE_FORMAT],
                "squeue",
            )
        except EngineUnavailable:
            raise
        except EngineFailure:
            return self._queue()  # an id Slurm has purged meanwhile: list everything instead
        return {j.name: j for j in map(_job, out.splitlines()) if j is not None}

    def _tenant_user(self, request: LaunchRequest, run_dir: Path) -> Account | None:
        """The run's directories; with ``tenant_users``, its tenant's user's (0700), whose
        job writes its output and work files there and can reach no other tenant's."""
        work = run_dir / "work"
        work.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (self.options.tenant_users and os.geteuid() == 0):
            return None
        account = tenant_account(request.tenant)
        os.chmod(self.root, 0o711)  # noqa: S103 - passable to reach its own run, not listable
        for path in (run_dir, work):
            os.chown(path, account.uid, account.gid)
            os.chmod(path, 0o700)
        return account

    def _dir(self, key: str) -> Path:
        if not key.startswith(KEY_PREFIX) or not re.fullmatch(r"[A-Za-z0-9._-]{1,120}", key):
            raise EngineFailure(engine=self.name, detail=f"bad run key {key!r}")
        return self.root / key

    def _find(self, key: str) -> SlurmJob | None:
        out = self._run(
            ["squeue", "--noheader", "--states=all", "--name", key, "--Format", QUEUE_FORMAT],
            "squeue",
        )
        jobs = [j for j in map(_job, out.splitlines()) if j is not None and j.name == key]
        return max(jobs, key=lambda j: j.job_id) if jobs else None

    def _queue(self) -> dict[str, SlurmJob]:
        out = self._run(
            ["squeue", "--noheader", "--states=all", "--Format", QUEUE_FORMAT], "squeue"
        )
        table: dict[str, SlurmJob] = {}
        for job in map(_job, out.splitlines()):
            # Should a name appear twice (someone else's sbatch), the newest job speaks for it.
            if job is not None and (job.name not in table or table[job.name].job_id < job.job_id):
                table[job.name] = job
        return table

    def _run(self, argv: list[str], what: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        # sbatch hands its own environment to the job (--export=ALL): never the server's.
        env = {k: v for k, v in os.environ.items() if k in COMMAND_ENV}
        if self.options.conf:
            env["SLURM_CONF"] = self.options.conf
        if self.options.bin_dir:
            argv = [str(Path(self.options.bin_dir) / argv[0]), *argv[1:]]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._answered_at = -math.inf
            raise EngineUnavailable(engine=self.name, detail=f"{what}: {exc}") from exc
        if done.returncode != 0:
            detail = f"{what}: {(done.stderr or done.stdout).strip()[:500]}"
            if _unreachable(done.stderr) or argv[-1] == "ping":
                self._answered_at = -math.inf  # the next ping asks again
                raise EngineUnavailable(engine=self.name, detail=detail)
            raise EngineFailure(engine=self.name, detail=detail)
        self._answered_at = self.clock.monotonic()
        return done.stdout


def render_batch_script(
    request: LaunchRequest,
    run_dir: Path,
    options: SlurmOptions,
    keeps: Path | None = None,
) -> str:
    """The sbatch script for one attempt: resources as #SBATCH lines, then the job's commands.

    Every node runs ``setup`` then ``run`` once (srun, one task per node) with its rank, so a
    gang of N nodes starts all together or not at all: Slurm allocates all N at once.
    """
    spec, placement = request.spec, request.placement
    nodes = max(len(placement.nodes), spec.resources.nodes)
    minutes = max(1, math.ceil(spec.time_limit.total_seconds() / 60))  # Slurm counts minutes
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={request.key}",
        f"#SBATCH --comment={request.key}",
        f"#SBATCH --output={run_dir / OUTPUT}",
        "#SBATCH --open-mode=append",
        f"#SBATCH --chdir={run_dir / 'work'}",
        f"#SBATCH --nodes={nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --cpus-per-task={spec.resources.cpus}",
        f"#SBATCH --time={minutes}",
        "#SBATCH --no-requeue",
    ]
    if spec.resources.memory_gb > 0:
        lines.append(f"#SBATCH --mem={spec.resources.memory_gb}G")
    if placement.accelerator and spec.accelerators_per_node:
        kind = options.gres_type(placement.accelerator)
        lines.append(f"#SBATCH --gres={options.gres}:{kind}:{spec.accelerators_per_node}")
    if options.partition:
        lines.append(f"#SBATCH --partition={options.partition}")
    if options.account:
        lines.append(f"#SBATCH --account={options.account}")
    # A replica: PORT, HOST and its address first; in an image, on the node before it starts.
    head, names = port.container_prelude(spec, port.SLURM_HOST, []) if spec.image else ("", [])
    env = {
        **job_env(request, nodes),
        **request.extra_env,
        **dict.fromkeys(names, ""),
        **spec.env,
        # After the job's env: a spec cannot point its checkpoints elsewhere.
        **(
            {}
            if keeps is None
            else {CHECKPOINT_ENV: CHECKPOINT_MOUNT if spec.image else str(keeps)}
        ),
        "SUANLI_SETUP": spec.setup or "",
        "SUANLI_RUN": spec.run if head else port.run_script(spec, port.SLURM_HOST),
    }
    lines.append("")
    lines.append("umask 077")  # what the job writes is its own (and its user's) alone
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    lines += [
        'export WORLD_SIZE="$SLURM_NNODES"',
        # One node needs no lookup (scontrol costs a round trip to slurmctld at every start).
        'export MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"'
        if nodes > 1
        else "export MASTER_ADDR=localhost",
        'export SUANLI_NODES="$SLURM_JOB_NODELIST"',
        f"node={shlex.quote(NODE_SCRIPT)}",
    ]
    if spec.image:  # each node pulls the image and runs the node script in a container
        lines += [head.rstrip("\n")] if head else []
        lines += slurm_image.container_lines(request, run_dir, options.registry, env, keeps)
    if nodes > 1:  # each line a node writes headed "[rank N] ", as the local engine does
        lines.append(f'node="set -o pipefail; ( $node ) 2>&1 | "{shlex.quote(RANKED)}')
        lines.append('exec srun --ntasks-per-node=1 --kill-on-bad-exit=1 /bin/bash -c "$node"')
    else:
        lines.append('exec /bin/bash -c "$node"')
    return "\n".join(lines) + "\n"


# What the Slurm commands (and so, through sbatch, a job) get of the server's environment.
# SLURM_JWT stays out too: the CLI would authenticate with it instead of munge.
COMMAND_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME", "SLURM_CONF")

# A gang node's output, a line at a time, headed as local_runner.RANK_PREFIX ("[rank N] ").
RANKED = 'sed -u "s/^/[rank ${SLURM_NODEID:-0}] /"'
# What runs on each node: its rank, the setup once, then the job (exit status passed on).
NODE_SCRIPT = (
    'export SUANLI_NODE_RANK="${SLURM_NODEID:-0}" NODE_RANK="${SLURM_NODEID:-0}"; '
    'if [ -n "$SUANLI_SETUP" ]; then /bin/bash -c "$SUANLI_SETUP" || exit $?; fi; '
    'exec /bin/bash -c "$SUANLI_RUN"'
)


def _status(job: SlurmJob) -> RunStatus:
    state = STATES.get(job.state)
    if state is None:
        return RunStatus(
            RunState.LOST,
            reason=Reason("reason_lost", {"detail": f"unknown Slurm state {job.state}"}),
        )
    reason: Reason | None = None
    if job.state == "TIMEOUT":
        reason = Reason("reason_time_limit", {"limit": job.limit})
    elif state is RunState.LOST:
        reason = Reason("reason_lost", {"detail": f"Slurm {job.state} ({job.reason})"})
    elif job.state in ("OUT_OF_MEMORY", "DEADLINE", "SPECIAL_EXIT"):
        reason = Reason("reason_exit_failed", {"code": f"{job.exit_code} ({job.state})"})
    exit_code = job.exit_code if state in (RunState.SUCCEEDED, RunState.FAILED) else None
    started = job.start if state is not RunState.PENDING else None
    finished = job.end if state.is_final else None
    return RunStatus(state, exit_code, reason, started, finished)


def _job(line: str) -> SlurmJob | None:
    parts = line.split("|", 7)
    if len(parts) != 8 or not parts[0].strip().isdigit():
        return None
    job_id, state, code, start, end, limit, reason, name = (p.strip() for p in parts)
    return SlurmJob(
        int(job_id),
        state.split()[0] if state else "",
        _exit_code(code),
        _time(start),
        _time(end),
        limit,
        reason,
        name,
    )


def _exit_code(raw: str) -> int | None:
    """squeue prints the wait status: the exit code is its high byte, a signal its low bits."""
    if not raw.isdigit():
        return None
    status = int(raw)
    return status >> 8 if status & 0x7F == 0 else 128 + (status & 0x7F)


def _time(raw: str) -> dt.datetime | None:
    """Slurm prints local time without a zone; Unknown/N/A when there is none."""
    try:
        return dt.datetime.fromisoformat(raw).astimezone(dt.UTC)
    except ValueError:
        return None


def _node(line: str) -> NodeInventory | None:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) < 7 or not parts[0]:
        return None
    name, state, cpus, memory, alloc_mem, gres, gres_used = parts[:7]
    # CPUsState is allocated/idle/other/total.
    cpu_counts = [int(c) if c.isdigit() else 0 for c in cpus.split("/")]
    total_cpus = cpu_counts[3] if len(cpu_counts) == 4 else 0
    idle_cpus = cpu_counts[1] if len(cpu_counts) == 4 else 0
    total = _gres(gres)
    used = _gres(gres_used)
    free = {kind: max(0, count - used.get(kind, 0)) for kind, count in total.items()}
    flags = state.rstrip("*~#!%$@^-")
    available = flags in ("idle", "mixed", "allocated", "completing") and "drain" not in state
    mem = int(memory) if memory.isdigit() else 0
    used_mem = int(alloc_mem) if alloc_mem.isdigit() else 0
    return NodeInventory(
        name, state, available, total_cpus, idle_cpus, mem, max(0, mem - used_mem), total, free
    )


def _gres(text: str) -> dict[str, int]:
    """``gpu:h100:4(S:0-1),gpu:a100:2`` -> {"h100": 4, "a100": 2} (untyped: by GRES name)."""
    found: dict[str, int] = {}
    for part in re.sub(r"\([^)]*\)", "", text).split(","):
        m = GRES.fullmatch(part.strip())
        if m:
            kind = m["type"] or m["name"]
            found[kind] = found.get(kind, 0) + int(m["count"])
    return found


def _unreachable(stderr: str) -> bool:
    """Whether the CLI failed because the controller does not answer (not a refusal)."""
    text = stderr.lower()
    return any(
        s in text
        for s in (
            "unable to contact slurm controller",
            "connection refused",
            "slurm_persist_conn_open",
            "socket timed out",
            "communication connection failure",
            "slurmctld not responding",
            "is down",
        )
    )
