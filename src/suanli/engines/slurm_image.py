"""Slurm runs images through podman under ``srun``: each node pulls the image from the
region's mirror (unless it has it) and runs the node script in a container named by the run
key and its rank. Chosen over Slurm's own ``--container`` (oci.conf + crun/runc): that needs
an OCI bundle unpacked on every node and oci.conf on the cluster, while podman pulls from the
same registry, applies the same limits and user as on the local engine, and needs nothing
of the cluster's configuration. A job podman runs as root gets its tenant's user namespace
(``userns.for_tenant``); as a tenant's user (``tenant_users``), podman's rootless one.

The node writes what it resolved and why a pull failed next to the run's output, so the
engine reports the digest and an image failure (``reason_image_failed``: not lost, not
retried) instead of a bare exit code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from suanli.domain.jobs import Reason
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.container import (
    PODMAN,
    ImageFailure,
    ImageRef,
    Limits,
    oci_runtime,
    own_ulimits,
    run_argv,
)

DIGEST, ERROR = "image.digest", "image.error"
PULL_FAILED = 125  # podman's own exit code for its errors
NAME = "__SUANLI_CONTAINER__"
MAPPING = "__SUANLI_USERNS__"
NODE_ENV = ("SUANLI_NODE_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "SUANLI_NODES")
# The node script inside the container: the setup once, then the job.
INNER = (
    'if [ -n "$SUANLI_SETUP" ]; then /bin/sh -c "$SUANLI_SETUP" || exit $?; fi; '
    'exec /bin/sh -c "$SUANLI_RUN"'
)


def container_lines(
    request: LaunchRequest,
    run_dir: Path,
    mirror: str | None,
    env: Mapping[str, str],
    checkpoint: Path | None = None,
) -> list[str]:
    """Batch script lines that replace ``$node`` with: pull, then ``podman run``
    (``checkpoint``: the job's checkpoint directory, bound at ``CHECKPOINT_MOUNT``)."""
    spec = request.spec
    try:
        ref = ImageRef.parse(spec.image or "", mirror)
    except ImageFailure as exc:  # the spec's check makes this unreachable; stay safe
        return [f"echo {shlex.quote(str(exc))} >&2", f"exit {PULL_FAILED}"]
    digest, error = shlex.quote(str(run_dir / DIGEST)), shlex.quote(str(run_dir / ERROR))
    image = shlex.quote(ref.pull_ref)
    inspect = f"podman image inspect --format '{{{{.Digest}}}}' {image}"
    pull = f"podman pull --quiet --tls-verify={str(ref.tls_verify).lower()} {image}"
    argv = run_argv(
        NAME,
        ref.pull_ref,
        INNER,
        [*env, *NODE_ENV],
        str(run_dir / "work"),
        Limits(spec.resources.cpus, spec.resources.memory_gb),
        None,  # Slurm already runs the job as its tenant's user (tenant_users) or the submitter
        runtime=oci_runtime(),
        ulimits=own_ulimits(),  # the submit host's, capped: the nodes are alike here
        checkpoint=None if checkpoint is None else str(checkpoint),
    )
    at = argv.index("run") + 1
    # Removed when done; stopped at the time limit even if Slurm only kills podman's client.
    limit = str(max(1, round(spec.time_limit.total_seconds())))
    argv[at:at] = ["--rm", "--timeout", limit, "--sig-proxy=false", MAPPING]
    idmap = userns.for_tenant(request.tenant)
    if os.geteuid() == 0:  # the mapped root may write the work dir; the job's user reads it
        for writable in (run_dir / "work", checkpoint):
            with contextlib.suppress(OSError):  # no ACLs there: the container cannot write it
                if writable is not None:
                    userns.grant(str(writable), [idmap.host(0)])
    run = (
        " ".join(shlex.quote(a) for a in argv)
        .replace(NAME, '"$SUANLI_CONTAINER"')
        .replace(MAPPING, userns.shell_flags(idmap))
    )
    node = (
        'export SUANLI_NODE_RANK="${SLURM_NODEID:-0}" NODE_RANK="${SLURM_NODEID:-0}"; '
        f'SUANLI_CONTAINER={shlex.quote(request.key)}"-${{SLURM_NODEID:-0}}"; '
        f"{inspect} >{digest} 2>/dev/null || "
        f"{{ {pull} >/dev/null 2>{error} && {inspect} >{digest}; }} || exit {PULL_FAILED}; "
        f"{run} & c=$!; {STOP_ON_SIGNAL}; wait $c; s=$?; "
        "if kill -0 $c 2>/dev/null; then wait $c; s=$?; fi; exit $s"
    )
    return [f"node={shlex.quote(node)}"]


# Slurm ends a job by signalling every process it tracks at once (SIGCONT, SIGTERM, SIGKILL
# after KillWait): podman's own signal proxy then loses the race (its `runc kill` child is
# terminated too) and the container, whose conmon left the job's process tree, ran on until
# its --timeout (found: the Slurm replica-image test left its containers running after
# scancel). The node's shell stops the container itself: SIGTERM now, SIGKILL 5 s later (the
# Slurm default KillWait is 30 s; the test cluster's 5 s).
STOP_ON_SIGNAL = (
    "trap '" + PODMAN + ' stop -t 5 "$SUANLI_CONTAINER" >/dev/null 2>&1' + "' TERM INT HUP"
)


def with_image(status: RunStatus, run_dir: Path) -> RunStatus:
    """``status`` with the digest the nodes resolved, and an image failure named as such."""
    digest = _read(run_dir / DIGEST)
    if digest:
        status = dataclasses.replace(status, image_digest=digest)
    error = _read(run_dir / ERROR)
    if status.state is RunState.FAILED and error and status.exit_code == PULL_FAILED:
        reason = Reason("reason_image_failed", {"image": "", "detail": error.splitlines()[-1]})
        status = dataclasses.replace(status, reason=reason)
    return status


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[-1000:]
    except OSError:
        return ""
