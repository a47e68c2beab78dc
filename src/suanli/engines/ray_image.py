"""Ray runs images as a container per job: podman under the Ray job's entrypoint.

The entrypoint runs on the Ray node that holds the job's resources; it pulls the image from
the region's mirror (the fleet file's ``registry:``) unless the node has it, prints the
digest it resolved, and runs the job's setup and run in ``podman run`` with the local
engine's flags (``container.run_argv``: limits, no capabilities, no new privileges, the
job's env only, named by the run key, the host network), stopped at the hard time limit
(see ``entrypoint``).

Chosen over Ray's ``runtime_env`` ``image_uri``: that runs Ray's own worker inside the
image, so every image would need the cluster's exact Ray and Python; a tenant's PyTorch or
CANN image should not have to carry them, and suanli's base images do not.

Ray has no per-job users (see ``ray.py``), so the container runs as ``nobody`` and its
``/work`` is a private tmpfs: it sees no path of the Ray node. Its user namespace is its
tenant's (``userns.for_tenant``; podman as root on the node): ``nobody`` inside is an
unprivileged host uid of that range, not the host's ``nobody``. A single node only: a gang
(several nodes) in an image is refused at launch with that reason.

The digest and an image failure come back as marked lines of the job's log (the Jobs API
has nowhere else for a running entrypoint to say them): ``with_image`` reads them.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Sequence

from suanli.domain.jobs import Reason
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.container import (
    ImageFailure,
    ImageRef,
    Limits,
    oci_runtime,
    own_ulimits,
    run_argv,
)

RESOLVED = "[suanli] resolved "  # the local engine's own log line, same words
FAILED = "[suanli] image failed: "
PULL_FAILED = 125  # podman's own exit code for its errors
HEAD_BYTES = 1 << 16  # the marked lines come first, before anything the job prints
NOBODY = (65534, 65534)  # inside the tenant's own user namespace (userns.for_tenant)
MAPPING = "__SUANLI_USERNS__"
SCRIPT_ENV = "SUANLI_RAY_IMAGE"  # the script travels in the environment (Ray logs argv)
# Inside the container: the setup once, then the job.
INNER = (
    'if [ -n "$SUANLI_SETUP" ]; then /bin/sh -c "$SUANLI_SETUP" || exit $?; fi; '
    'exec /bin/sh -c "$SUANLI_RUN"'
)


def entrypoint(grace_s: int, limit_s: int) -> str:
    """``timeout`` ends podman's client at the limit (exit 124: the time limit), which passes
    the signal on to the container; podman itself stops the container ``grace_s`` later,
    should the client have been killed before it could."""
    return f'umask 077; exec timeout --kill-after={grace_s}s {limit_s}s bash -c "${SCRIPT_ENV}"'


def script(
    request: LaunchRequest, mirror: str | None, env_names: Sequence[str], grace_s: int
) -> str:
    """The node's script: resolve the image (pull when absent), say its digest, run it."""
    spec = request.spec
    try:
        ref = ImageRef.parse(spec.image or "", mirror)
    except ImageFailure as exc:  # the spec's check makes this unreachable; stay safe
        return f"echo {shlex.quote(FAILED + str(exc))}; exit {PULL_FAILED}"
    image = shlex.quote(ref.pull_ref)
    inspect = f"podman image inspect --format '{{{{.Digest}}}}' {image}"
    pull = f"podman pull --quiet --tls-verify={str(ref.tls_verify).lower()} {image}"
    argv = run_argv(
        request.key,
        ref.pull_ref,
        INNER,
        [*env_names, "SUANLI_SETUP", "SUANLI_RUN"],
        None,  # a private tmpfs: no path of the Ray node
        Limits(spec.resources.cpus, spec.resources.memory_gb),
        NOBODY,
        runtime=oci_runtime(),
        ulimits=own_ulimits(),  # the control plane's, capped: the nodes are alike here
    )
    at = argv.index("run") + 1
    limit_s = max(1, math.ceil(spec.time_limit.total_seconds()))
    argv[at:at] = ["--rm", "--timeout", str(limit_s + grace_s), MAPPING]
    check = ""
    if ref.digest:
        wrong = shlex.quote(f"{FAILED}digest mismatch: asked {ref.digest}, the registry gave ")
        check = f'[ "$d" = {shlex.quote(ref.digest)} ] || {{ echo {wrong}"$d"; exit {PULL_FAILED}; }}; '
    return (
        f"d=$({inspect} 2>/dev/null) || "
        f"{{ e=$({pull} 2>&1 >/dev/null) && d=$({inspect}); }} || "
        f'{{ echo "{FAILED}$(printf %s "$e" | tail -n 1)"; exit {PULL_FAILED}; }}; '
        + check
        + f'echo "{RESOLVED}$d"; '
        + "exec "
        + " ".join(shlex.quote(a) for a in argv).replace(
            MAPPING, userns.shell_flags(userns.for_tenant(request.tenant))
        )
    )


def with_image(status: RunStatus, image: str, head: str) -> RunStatus:
    """``status`` with the digest the node resolved and an image failure named as such,
    from ``head``: the first lines of the job's log."""
    digest, failure = "", ""
    for line in head.splitlines():
        if line.startswith(RESOLVED):
            digest = line[len(RESOLVED) :].strip()
        elif line.startswith(FAILED):
            failure = line[len(FAILED) :].strip()
    if digest.startswith("sha256:"):
        status = dataclasses.replace(status, image_digest=digest)
    if status.state is RunState.FAILED and failure and status.exit_code == PULL_FAILED:
        reason = Reason("reason_image_failed", {"image": image, "detail": failure[-300:]})
        status = dataclasses.replace(status, reason=reason)
    return status
