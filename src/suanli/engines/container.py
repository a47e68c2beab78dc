"""Jobs in OCI images, run by podman: the image reference, the pull, the ``podman run`` line.

Pure parts (``ImageRef``, ``run_argv``) decide; the rest calls podman and is used by the
local engine's supervisor (``local_runner``), which owns the container's life:

* the image is pulled from the region's mirror (the fleet file's ``registry:``) unless it is
  already on the node (a digest reference: never pulled again; a tag: the registry is asked
  whether the tag moved, and only new layers are fetched);
* the resolved digest is what ran, recorded with the attempt;
* the container is named by the run key, so a supervisor that comes back finds it
  (``podman wait``) and never starts a second one;
* limits from the spec (``--cpus``, ``--memory``), the job's env only, its own user
  namespace (``userns``: root inside is an unprivileged host uid of its tenant's range),
  no capabilities, no new privileges; its work directory is the only host path it sees.

A pull that fails (unknown image, registry down, digest mismatch) fails the run with
``reason_image_failed``: a distinct reason, never retried as lost.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import re
import resource
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from suanli.domain.spec import IMAGE_REF
from suanli.engines.checkpoints import CHECKPOINT_MOUNT
from suanli.engines.userns import IdRange

PODMAN = "podman"
PULL_TIMEOUT_S = 900.0
MAX_NPROC = 32768  # processes a container may have (see own_ulimits)
WORK = "/work"  # where the job's work directory appears inside
LOOPBACK = re.compile(r"^(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$")
# Ascend driver paths a CANN image expects from the host (read-only), per the catalog's stack.
ASCEND_MOUNTS = ("/usr/local/Ascend/driver", "/usr/local/dcmi", "/usr/local/bin/npu-smi")
ASCEND_SHARED = ("/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc")


class ImageFailure(Exception):
    """The image could not be had: the run fails with this detail, not retried as lost."""


@dataclass(frozen=True)
class ImageRef:
    registry: str | None
    name: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str, mirror: str | None = None) -> ImageRef:
        """``text`` as the spec holds it; no registry in it: the region's ``mirror``."""
        found = IMAGE_REF.match(text)
        if found is None or not (found["tag"] or found["digest"]):
            raise ImageFailure(f"not an image reference: {text!r}")
        registry, name = found["registry"], found["name"]
        if registry and "." not in registry and ":" not in registry and registry != "localhost":
            registry, name = None, f"{registry}/{name}"  # docker's rule: that was a path part
        return cls(registry or mirror, name, found["tag"], found["digest"])

    @property
    def full(self) -> str:
        head = f"{self.registry}/{self.name}" if self.registry else self.name
        return (
            head
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )

    @property
    def pull_ref(self) -> str:
        """What podman pulls: by digest when one is given (the tag is then only a label)."""
        head = f"{self.registry}/{self.name}" if self.registry else self.name
        return f"{head}@{self.digest}" if self.digest else f"{head}:{self.tag}"

    @property
    def tls_verify(self) -> bool:
        """Mirrors on this host's loopback speak plain HTTP; any other registry TLS."""
        return not (self.registry and LOOPBACK.match(self.registry))


@dataclass(frozen=True)
class Limits:
    cpus: int
    memory_gb: int


def run_argv(
    name: str,
    image: str,
    script: str,
    env_names: Sequence[str],
    workdir: str | None,
    limits: Limits,
    user: tuple[int, int] | None,
    devices: Sequence[str] = (),
    mounts: Sequence[str] = (),
    runtime: str | None = None,
    ulimits: Mapping[str, tuple[int, int]] | None = None,
    network: str = "host",
    idmap: IdRange | None = None,
    checkpoint: str | None = None,
) -> list[str]:
    """The ``podman run`` line for one container of a run (pure).

    ``ulimits``: the supervisor's own (podman's defaults ask more than a host may grant).
    ``workdir`` None: ``/work`` is a private tmpfs (no host path at all).
    ``checkpoint``: the job's checkpoint directory on the host, bound at ``CHECKPOINT_MOUNT``.
    ``idmap``: the container's own user namespace (``userns``); ``user`` is then a uid inside.
    """
    argv = [PODMAN, *(["--runtime", runtime] if runtime else []), "run"]
    argv += [
        "--name",
        name,
        "--label",
        f"suanli.run={name}",
        "--pull=never",
        "--init",
        "--cpus",
        str(limits.cpus),
        "--cap-drop=all",
        "--security-opt=no-new-privileges",
        f"--network={network}",  # host, or none for a cluster with isolated networks
        "--log-driver=passthrough",  # straight into the run's output file
        *(
            ["--volume", f"{workdir}:{WORK}:rw"]
            if workdir is not None
            else ["--tmpfs", f"{WORK}:rw,exec,mode=1777"]
        ),
        "--workdir",
        WORK,
    ]
    for name, (soft, hard) in sorted((ulimits or {}).items()):
        argv += ["--ulimit", f"{name}={soft}:{hard}"]
    if limits.memory_gb > 0:
        argv += ["--memory", f"{limits.memory_gb}g"]
    if idmap is not None:
        argv += idmap.argv(network)
    if user is not None:
        argv += ["--user", f"{user[0]}:{user[1]}"]
    for var in env_names:  # values come from podman's own environment, never its argv
        argv += ["--env", var]
    argv += ["--env", f"HOME={WORK}"]
    for dev in devices:
        argv += ["--device", dev]
    for path in mounts:
        argv += ["--volume", f"{path}:{path}:ro"]
    if checkpoint is not None:
        argv += ["--volume", f"{checkpoint}:{CHECKPOINT_MOUNT}:rw"]
    return [*argv, image, "/bin/sh", "-c", script]


def oci_runtime() -> str | None:
    """runc where installed: it applies cgroup v1 and hybrid-mode limits, which crun refuses
    ("cgroups in hybrid mode not supported"); else podman's default runtime."""
    return shutil.which("runc")


def own_ulimits() -> dict[str, tuple[int, int]]:
    """Open-file and process limits for the container: this process's own, never more, and at
    most MAX_NPROC processes (podman's default, 1048576, is refused where the host's is lower;
    the dev host here refused anything from 65536 on, with its own limit at 96367)."""
    found = {}
    for name, which in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        soft, hard = resource.getrlimit(which)
        top = MAX_NPROC if name == "nproc" else hard
        if hard == resource.RLIM_INFINITY:
            hard = top
        if soft == resource.RLIM_INFINITY:
            soft = hard
        found[name] = (min(soft, top), min(hard, top))
    return found


def accelerator_devices(slots: Sequence[int], real: bool) -> tuple[list[str], list[str]]:
    """Devices and read-only mounts that give a container its slots (empty: emulated).

    NVIDIA through CDI (``nvidia.com/gpu=N``) when the toolkit wrote a spec, else the device
    nodes; Ascend through ``/dev/davinciN`` plus the shared nodes and the driver mounts.
    """
    if not real or not slots:
        return [], []
    if glob.glob("/etc/cdi/nvidia*.yaml") or glob.glob("/var/run/cdi/nvidia*.yaml"):
        return [f"nvidia.com/gpu={s}" for s in slots], []
    if os.path.exists("/dev/nvidiactl"):
        nodes = [f"/dev/nvidia{s}" for s in slots]
        nodes += [p for p in ("/dev/nvidiactl", "/dev/nvidia-uvm") if os.path.exists(p)]
        return nodes, []
    if glob.glob("/dev/davinci[0-9]*"):
        nodes = [f"/dev/davinci{s}" for s in slots]
        nodes += [p for p in ASCEND_SHARED if os.path.exists(p)]
        return nodes, [p for p in ASCEND_MOUNTS if os.path.exists(p)]
    return [], []


def pull(ref: ImageRef, env: Mapping[str, str], timeout_s: float, auth_dir: str) -> str:
    """Make the image present on this node; returns its digest. Raises ImageFailure.

    An image already on the node is not pulled again (Kubernetes' IfNotPresent), except a
    ``latest`` tag, which always asks the registry whether it moved.
    Credentials, when the job has them (``SUANLI_REGISTRY_USER``/``_PASSWORD`` secrets),
    go to podman in an auth file only the supervisor reads (``auth_dir``), never on argv.
    """
    target = ref.pull_ref
    if ref.tag != "latest" or ref.digest:
        with contextlib.suppress(ImageFailure):
            return _checked(ref, image_digest(target))  # here already: no pull
    argv = ["pull", "--quiet", f"--tls-verify={str(ref.tls_verify).lower()}"]
    user, password = env.get("SUANLI_REGISTRY_USER"), env.get("SUANLI_REGISTRY_PASSWORD")
    if user and password is not None and ref.registry:
        path = os.path.join(auth_dir, "auth.json")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"auths": {ref.registry: {"auth": token}}}, f)
        argv += ["--authfile", path]
    done = _podman([*argv, target], timeout_s=timeout_s)
    if done.returncode != 0:
        raise ImageFailure(_tail(done.stderr) or f"podman pull exited {done.returncode}")
    return _checked(ref, image_digest(target))


def _checked(ref: ImageRef, digest: str) -> str:
    if ref.digest and digest != ref.digest:
        raise ImageFailure(f"digest mismatch: asked {ref.digest}, the registry gave {digest}")
    return digest


def image_digest(target: str) -> str:
    done = _podman(["image", "inspect", "--format", "{{.Digest}}", target], timeout_s=30)
    if done.returncode != 0:
        raise ImageFailure(_tail(done.stderr) or "image not on the node after the pull")
    return done.stdout.strip()


def container_state(name: str) -> tuple[str, int] | None:
    """(status, exit code) of the container ``name``; None when there is none."""
    done = _podman(
        ["container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name],
        timeout_s=30,
    )
    if done.returncode != 0:
        return None
    status, _, code = done.stdout.strip().partition(" ")
    return status, int(code or 0)


def stop(names: Sequence[str], grace_s: float) -> None:
    """The stop signal now, the kill ``grace_s`` later (``podman stop -t``)."""
    _podman(["stop", "--ignore", "--time", str(max(0, round(grace_s))), *names], grace_s + 60)


def remove(name: str) -> None:
    _podman(["rm", "--force", "--ignore", name], timeout_s=60)


def _podman(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [PODMAN, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=podman_env(),
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"podman {args[0]} timed out")
    except OSError as exc:
        return subprocess.CompletedProcess(args, 127, "", f"podman: {exc}")


def podman_env() -> dict[str, str]:
    """podman's own environment: what it needs of ours, none of the server's settings."""
    keep = ("PATH", "LANG", "TZ", "XDG_RUNTIME_DIR", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")
    return {k: v for k, v in os.environ.items() if k in keep}


def _tail(text: str, limit: int = 400) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[-limit:]
