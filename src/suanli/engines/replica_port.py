"""A service replica's port and address on engines whose runs start on a remote node
(Slurm, Ray), where only the node knows which ports are free.

Before the replica's command, a few lines of bash on the node pick a port nothing listens
on (``PORT``, unless set), find the address the cluster reaches the node at (``HOST``: the
replica listens there, e.g. ``--host "$HOST" --port "$PORT"``), and print one line,
``suanli-replica-address http://HOST:PORT``, first in the run's output (for a run in an
image, on the node before the container starts: ``container_prelude``). The engine's
``address`` reads it back from the log (the first such line only: what the replica itself
prints afterwards cannot move it). The local engine picks the port itself (engines.local).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from suanli.domain.spec import JobSpec
from suanli.engines.base import LogChunk, is_replica

ADDRESS_MARK = "suanli-replica-address "
# Where the cluster reaches a Slurm node: its NodeAddr (slurm.conf), else its hostname.
SLURM_HOST = (
    '"$(scontrol show node "${SLURMD_NODENAME:-}" 2>/dev/null '
    "| sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p')\""
)
# Elsewhere: the node's first address, else its hostname.
NODE_HOST = "\"$(hostname -I 2>/dev/null | cut -d' ' -f1)\""
_URL = re.compile(r"^http://[A-Za-z0-9.\-]{1,253}:[0-9]{1,5}$")
LOG_HEAD = 64 * 1024  # the mark is printed first: it lies in the log's first bytes


def prelude(host: str) -> str:
    """The bash lines that set ``PORT`` and ``HOST`` and print the address (host: a shell
    expression)."""
    return (
        'if [ -z "${PORT:-}" ]; then for _ in $(seq 200); do p=$((20000 + RANDOM % 40000)); '
        '(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { PORT=$p; break; }; done; fi; '
        f'export PORT; h={host}; export HOST="${{h:-$(hostname)}}"; '
        f'echo "{ADDRESS_MARK}http://$HOST:$PORT"\n'
    )


def run_script(spec: JobSpec, host: str) -> str:
    """``spec.run``, preceded by the prelude when the run is a service replica."""
    return prelude(host) + spec.run if is_replica(spec) else spec.run


def container_prelude(spec: JobSpec, host: str, names: list[str]) -> tuple[str, list[str]]:
    """For a run in a container started by a script on the node (images on Ray and Slurm:
    inside, ``/bin/sh`` may be dash, with no ``$RANDOM`` nor ``/dev/tcp``): the prelude
    that script runs first, on the node (where bash, the node's free ports and its address
    are), and the env names the container gets, ``PORT`` and ``HOST`` added; for a batch
    run, nothing and ``names``."""
    if not is_replica(spec):
        return "", names
    return prelude(host), sorted({*names, "PORT", "HOST"})


def address_in_log(read_log: Callable[[str, int, int], LogChunk], key: str) -> str | None:
    """The address the prelude printed in the run's output, once it has."""
    text = read_log(key, 0, LOG_HEAD).data.decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.startswith(ADDRESS_MARK):
            url = line[len(ADDRESS_MARK) :].strip()
            return url if _URL.match(url) else None
    return None
