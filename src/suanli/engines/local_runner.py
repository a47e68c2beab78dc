"""The local engine's per-run supervisor, started detached as ``python -m ...local_runner DIR``.

It outlives the control plane: a ``kill -9`` of the server leaves it running, and the
files it keeps in DIR (lock, started, output.log, result.json) let a restarted server
re-adopt the run. It runs the job at most once per DIR, whatever happens.

Every file it writes is its own (umask 077): the job, confined by the command prefix in
``launch.json`` (see ``sandbox``), writes only to its work directory and its output stream.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from suanli.domain.clock import SystemClock
from suanli.engines import container_runner as containers

LOCK, STARTED, RESULT, LAUNCH, CANCEL, OUTPUT = (
    "runner.lock",
    "started.json",
    "result.json",
    "launch.json",
    "cancel",
    "output.log",
)
KILL_GRACE_S = 5.0
# Each line a rank of a multi-node job writes is headed so (what `suanli logs --rank N` and
# the console's per-rank view read; Slurm's and Ray's gangs write the same).
RANK_PREFIX = "[rank {}] "
LINE_MAX = 65536  # a longer line without a newline is written as it is, in pieces
MAX_GRACE_S = 3600.0
POLL_S = 0.2


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data))


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` whole with a file only its owner may read (0600)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)
    os.replace(tmp, path)


def stop_grace(run_dir: Path) -> float:
    """Seconds between the stop signal and the kill: what the cancel file asks, or the default."""
    try:
        text = (run_dir / CANCEL).read_text().strip()
    except FileNotFoundError:
        return KILL_GRACE_S
    try:
        grace = float(text) if text else KILL_GRACE_S
    except ValueError:
        return KILL_GRACE_S
    return min(max(grace, 0.0), MAX_GRACE_S) if math.isfinite(grace) else KILL_GRACE_S


class Runner:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self.clock = SystemClock()
        self.stopping = False  # set from the signal handler; a plain flag is signal-safe
        self._pause = threading.Event()  # never set: waiting on it is a sleep
        self.group: int | None = None
        self._leader: subprocess.Popen[bytes] | None = None
        self._confine: list[str] = []
        # bubblewrap's outer process dies of a stop signal and takes its namespace with it:
        # the stop signal goes to the job's own processes, the kill to all.
        self._spared: set[int] = set()
        self._started: dict[str, Any] = {}

    def main(self) -> int:
        os.umask(0o077)
        lock = self._acquire_lock()
        if lock is None:
            return 0  # another runner owns this run
        if (self.dir / RESULT).exists():
            return 0  # ran before: never start it twice
        launch = json.loads((self.dir / LAUNCH).read_text())
        started = containers.read_started(self.dir)
        if started is not None and not launch.get("container"):
            return 0  # ran before: never start it twice
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if started is None:
            self._started = {"pid": os.getpid(), "at": self._now()}
            if launch.get("container"):
                self._started["pulling"] = True  # running once the image is here
            write_json_atomic(self.dir / STARTED, self._started)
        else:  # a container run whose supervisor died: follow its containers, start none
            self._started = {**started, "pid": os.getpid()}
            write_json_atomic(self.dir / STARTED, self._started)
        with (self.dir / OUTPUT).open("ab", buffering=0) as log:
            try:
                if started is not None:
                    result = containers.adopt(self, launch, started, log)
                elif launch.get("container"):
                    result = containers.run(self, launch, log)
                else:
                    result = self._run(launch, log)
            except OSError as exc:  # e.g. bash missing, workdir not creatable
                log.write(f"\n[suanli] could not run the job: {exc}\n".encode())
                self._kill_group([])
                result = {
                    "state": "failed",
                    "exit_code": None,
                    "reason": "runner_error",
                    "detail": str(exc),
                }
        result["finished_at"] = self._now()
        write_json_atomic(self.dir / RESULT, result)
        containers.clean_up(self._started)
        lock.close()
        return 0

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _acquire_lock(self) -> TextIO | None:
        handle = (self.dir / LOCK).open("a")
        # The adapter probes the lock for a moment to see if we live; retry past such probes.
        for _ in range(25):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._pause.wait(0.1)
                continue
            return handle
        handle.close()
        return None

    def _run(self, launch: dict[str, Any], log: Any) -> dict[str, Any]:
        deadline = self.clock.monotonic() + float(launch["time_limit_s"])
        workdir = Path(launch["workdir"])
        workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {str(k): str(v) for k, v in launch["env"].items()}  # nothing of ours
        self._confine = [str(a) for a in launch.get("confine") or []]
        self._start_group()
        if launch.get("setup"):
            outcome = self._wait([self._spawn(launch["setup"], workdir, env, log)], deadline, log)
            if outcome is not None:
                return outcome
        procs = []
        nodes = int(launch["nodes"])
        lines = RankLines(log) if nodes > 1 else None
        for rank in range(nodes):
            rank_env = {**env, "SUANLI_NODE_RANK": str(rank), "NODE_RANK": str(rank)}
            out = lines.pipe(rank) if lines else log
            procs.append(self._spawn(launch["run"], workdir, rank_env, out))
            if lines:
                os.close(out)  # the rank holds it; its end of file is the rank's end
        outcome = self._wait(procs, deadline, log)
        self._kill_group([])  # background processes the job left behind
        if lines:
            lines.join()
        return outcome or {"state": "succeeded", "exit_code": 0}

    def _start_group(self) -> None:
        # A do-nothing leader keeps the job's process group alive for the whole run, so every
        # phase and node rank can join it and one killpg stops them all, grandchildren too.
        self._leader = subprocess.Popen(
            [sys.executable, "-c", "import signal; signal.pause()"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        self.group = self._leader.pid
        write_json_atomic(
            self.dir / STARTED, {"pid": os.getpid(), "group": self.group, "at": self._now()}
        )

    def _spawn(
        self, script: str, cwd: Path, env: dict[str, str], log: Any
    ) -> subprocess.Popen[bytes]:
        """``log``: the output log, or a rank's pipe (`RankLines`)."""
        proc = subprocess.Popen(
            [*self._confine, "/bin/bash", "-c", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=self.group,
        )
        if self._confine and Path(self._confine[0]).name == "bwrap":
            self._spared.add(proc.pid)
        return proc

    def _wait(
        self, procs: list[subprocess.Popen[bytes]], deadline: float, log: Any
    ) -> dict[str, Any] | None:
        """Wait for all; None when all exited 0, else the result to record."""
        while True:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                self._kill_group(procs)
                return {"state": "failed", "exit_code": failed[0]}
            if all(c == 0 for c in codes):
                return None
            if self.stopping or (self.dir / CANCEL).exists():
                log.write(b"\n[suanli] cancel requested; stopping the job\n")
                self._kill_group(procs, cancelled=True)
                return {"state": "cancelled", "exit_code": None}
            if self.clock.monotonic() >= deadline:
                log.write(b"\n[suanli] hard time limit reached; stopping the job\n")
                self._kill_group(procs)
                return {"state": "failed", "exit_code": None, "reason": "time_limit"}
            self._pause.wait(POLL_S)

    def _kill_group(self, procs: list[subprocess.Popen[bytes]], cancelled: bool = False) -> None:
        """SIGTERM the job's group, SIGKILL what is left after the grace.

        A cancel's grace comes from the cancel file and is read again while waiting: a later
        request with a shorter grace (the platform's "grace is over") shortens the wait.
        """
        if self.group is None:
            return
        if self._spared:
            for pid in group_members(self.group) - self._spared:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGTERM)
        start = self.clock.monotonic()
        while any(p.poll() is None for p in procs):
            grace = stop_grace(self.dir) if cancelled else KILL_GRACE_S
            if self.clock.monotonic() - start >= grace:
                break
            self._pause.wait(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)  # stragglers and their children
        for p in [*procs, *([self._leader] if self._leader else [])]:
            p.wait()

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # What the container path (container_runner.Supervisor) uses.
    def pause(self, seconds: float) -> None:
        self._pause.wait(seconds)

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def now(self) -> str:
        return self._now()

    def grace(self, cancelled: bool) -> float:
        return stop_grace(self.dir) if cancelled else KILL_GRACE_S

    def record_started(self, data: dict[str, Any]) -> None:
        self._started = {**self._started, **data}
        write_json_atomic(self.dir / STARTED, self._started)


class RankLines:
    """The output of each rank of a multi-node run into the one log, a whole line at a time,
    each headed `RANK_PREFIX` (read from a pipe per rank by a thread of this supervisor)."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def pipe(self, rank: int) -> int:
        """The write end for rank ``rank``'s stdout and stderr."""
        read, write = os.pipe()
        thread = threading.Thread(target=self._copy, args=(rank, read), daemon=True)
        thread.start()
        self.threads.append(thread)
        return write

    def _copy(self, rank: int, read: int) -> None:
        head = RANK_PREFIX.format(rank).encode()
        held = b""
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(LINE_MAX):
                *whole, held = (held + chunk).split(b"\n")
                if len(held) >= LINE_MAX:
                    whole, held = [*whole, held], b""
                self._write(b"".join(head + line + b"\n" for line in whole))
        if held:
            self._write(head + held + b"\n")

    def _write(self, data: bytes) -> None:
        if data:
            with self.lock:
                self.log.write(data)

    def join(self) -> None:
        """Until every rank's pipe is closed (the group is killed first, so they are)."""
        for thread in self.threads:
            thread.join(timeout=KILL_GRACE_S)


def group_members(group: int) -> set[int]:
    """Processes of the process group ``group`` (from /proc)."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(b")") + 2 :].split()
        if int(fields[2]) == group:
            found.add(int(entry.name))
    return found


if __name__ == "__main__":
    sys.exit(Runner(Path(sys.argv[1])).main())
