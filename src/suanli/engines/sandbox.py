"""Confine a local job: its tenant's own system user, a clean environment, namespaces.

Layers, each from the kernel's own tools, as far as this host allows (``Isolation``):

* **users** (the server runs as root): every tenant's jobs run as that tenant's system user
  (``useradd --system``, no login shell, no home), made on first use; ``setpriv`` drops to it
  with no supplementary groups, no capabilities and no new privileges. File modes then keep
  the job out of the data directory (0700, files 0600) and other tenants' work directories
  (0700, their owner), and the kernel refuses its signals to the server or to other users.
* **namespaces** (``bwrap`` works here): new PID, IPC and UTS namespaces and a mount
  namespace in which the data directory, /tmp and /var/tmp are empty tmpfs, and the job's
  own work directory is bound back at its usual path: it sees no other process and no file
  of the platform, even where users are not available.
* **network**: by default the job shares the host's network, so it reaches every service
  that listens on 127.0.0.1 there (the suanli API itself, which asks a token like any
  client; a database or registry bound to loopback, which ask their own credentials) and
  whatever the host reaches. A cluster whose engine options say ``network: isolated`` runs
  its jobs in a new network namespace (``bwrap --unshare-net``; containers
  ``--network=none``): only a loopback of their own, no host service, no outside address.
* **environment** (always): the job gets its own variables and the platform's (``SUANLI_*``
  the README lists), PATH, HOME (its work directory), USER; never the server's environment.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from suanli.domain.errors import EngineFailure

USER_PREFIX = "sl-"
NOLOGIN = "/usr/sbin/nologin"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# Device nodes a run with real accelerators needs inside the namespace (its minimal /dev has
# none); CUDA_VISIBLE_DEVICES / ASCEND_VISIBLE_DEVICES then pick among them.
DEVICE_GLOBS = ("/dev/nvidia*", "/dev/dri", "/dev/davinci*", "/dev/devmm_svm", "/dev/hisi_hdc")
# Outer-environment names a job keeps (only their values on this host, never secrets).
PASSED_THROUGH = ("LANG", "LC_ALL", "TZ")


@dataclass(frozen=True)
class Account:
    """The system user a tenant's jobs run as."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Isolation:
    """What this host lets the local engine do to confine a job."""

    users: bool  # root: a system user per tenant
    bwrap: str | None  # bubblewrap, when it can make its namespaces here
    setpriv: str | None = None

    @property
    def complete(self) -> bool:
        return self.users and self.bwrap is not None

    def missing(self) -> list[str]:
        """What is not available here, in the warning's words (empty: nothing)."""
        gaps = []
        if not self.users:
            gaps.append("users")
        if self.bwrap is None:
            gaps.append("namespaces")
        return gaps


def account_name(tenant: str) -> str:
    """A system user name for ``tenant``: a prefix and a hash, whatever the tenant id holds."""
    digest = hashlib.sha256(tenant.encode("utf-8", "surrogatepass")).hexdigest()
    return USER_PREFIX + digest[:12]


@functools.cache
def detect() -> Isolation:
    """What confinement works on this host (asked once per process)."""
    setpriv = shutil.which("setpriv")
    users = os.geteuid() == 0 and shutil.which("useradd") is not None and setpriv is not None
    bwrap = shutil.which("bwrap")
    if bwrap is not None:
        # The mounts a job gets (a container may refuse a fresh /proc: then no namespaces).
        mounts = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        mounts += ["--tmpfs", "/tmp"]  # noqa: S108 - a private one
        probe = [bwrap, *_namespace_args(), *mounts, "--", "/bin/true"]
        try:
            works = (
                subprocess.run(probe, capture_output=True, timeout=20, check=False).returncode == 0
            )
        except (OSError, subprocess.SubprocessError):
            works = False
        bwrap = bwrap if works else None
    return Isolation(users, bwrap, setpriv)


def tenant_account(tenant: str) -> Account:
    """The tenant's system user, made on first use (several servers may race: both fine)."""
    name = account_name(tenant)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        argv = [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            NOLOGIN if Path(NOLOGIN).exists() else "/bin/false",
            "--comment",
            "suanli tenant",
            name,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise EngineFailure(
                engine="local",
                detail=f"could not create the system user {name}: {done.stderr.strip()}",
            ) from None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def job_environment(
    variables: Mapping[str, str], workdir: Path, account: Account | None
) -> dict[str, str]:
    """The whole environment of a job: its variables and a few the shell expects, no more."""
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env["PATH"] = os.environ.get("PATH") or DEFAULT_PATH
    env["HOME"] = str(workdir)
    env["SUANLI_WORKDIR"] = str(workdir)
    if account is not None:
        env["USER"] = env["LOGNAME"] = account.name
    env.update(variables)
    return env


def shared_mounts(text: str | None) -> tuple[Path, ...]:
    """``SUANLI_JOB_MOUNTS``: host directories every local job sees, read-write, at their own
    path (a shared dataset or scratch directory), separated by ``:``; absolute paths only."""
    paths = tuple(Path(p) for p in (text or "").split(":") if p)
    for path in paths:
        if not path.is_absolute() or not path.is_dir():
            raise EngineFailure(
                engine="local",
                detail=f"SUANLI_JOB_MOUNTS: {str(path)!r} is not an absolute path to a directory",
            )
    return paths


def confinement(
    isolation: Isolation,
    account: Account | None,
    workdir: Path,
    hidden: Sequence[Path],
    devices: bool,
    shared: Sequence[Path] = (),
    isolated_network: bool = False,
) -> list[str]:
    """The command prefix that confines a job; its own argv follows (empty: run it as is)."""
    prefix: list[str] = []
    if isolation.bwrap is not None:
        mounts = _mounts(workdir, hidden, devices, shared)
        net = ["--unshare-net"] if isolated_network else []
        prefix = [isolation.bwrap, *_namespace_args(), *net, *mounts]
        prefix += ["--chdir", str(workdir), "--"]
    if account is not None and isolation.setpriv is not None:
        prefix += [
            isolation.setpriv,
            f"--reuid={account.uid}",
            f"--regid={account.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    return prefix


NETWORKS = ("host", "isolated")  # a local cluster's ``network`` engine option


def _namespace_args() -> list[str]:
    # --die-with-parent: the job dies with its supervisor, so a lost run leaves nothing behind.
    return ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]


def _mounts(
    workdir: Path, hidden: Sequence[Path], devices: bool, shared: Sequence[Path]
) -> list[str]:
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if devices:
        for pattern in DEVICE_GLOBS:
            for node in sorted(glob.glob(pattern)):
                args += ["--dev-bind", node, node]
    # Private, empty and writable by the job (sticky, like the host's).
    for scratch in ("/tmp", "/var/tmp", "/dev/shm"):  # noqa: S108 - private ones
        args += ["--perms", "1777", "--tmpfs", scratch]
    for path in hidden:
        args += ["--perms", "0711", "--tmpfs", str(path)]
    for path in (workdir, *shared):
        args += [*_passable(path, hidden), "--bind", str(path), str(path)]
    return args


def _passable(path: Path, hidden: Sequence[Path]) -> list[str]:
    """Directories on the way back to ``path`` inside a hidden one: passable (cd $HOME
    works, a checkpoint directory is reached), not listable."""
    top = next((h for h in hidden if path.is_relative_to(h)), None)
    if top is None:
        return []
    args: list[str] = []
    for parent in reversed(path.relative_to(top).parents[:-1]):
        args += ["--perms", "0711", "--dir", str(top / parent)]
    return args
