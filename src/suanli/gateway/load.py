"""What the gateway saw of each service, reported as LoadSample rows (the autoscaler's input)."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from suanli.domain.serving import LoadSample

GATEWAY_ID = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ServiceLoad:
    in_flight: int = 0
    waiting: int = 0
    requests: int = 0  # answered in the window
    output_tokens: int = 0  # generated in the window
    quiet: bool = False  # the last sample said all zero


class LoadBook:
    """Counters per service id since the last report."""

    def __init__(self, start: dt.datetime) -> None:
        self.since = start
        self.services: dict[str, ServiceLoad] = {}

    def of(self, service_id: str) -> ServiceLoad:
        load = self.services.get(service_id)
        if load is None:
            load = self.services[service_id] = ServiceLoad()
        return load

    def samples(self, end: dt.datetime) -> list[LoadSample]:
        """One sample per service seen busy since the last report (a quiet one once, so the
        autoscaler sees it go idle), and a new window from ``end``."""
        out: list[LoadSample] = []
        for service_id, load in list(self.services.items()):
            idle = not (load.in_flight or load.waiting or load.requests)
            if idle and load.quiet:
                del self.services[service_id]
                continue
            out.append(
                LoadSample(
                    service_id,
                    GATEWAY_ID,
                    self.since,
                    end,
                    load.in_flight,
                    load.requests,
                    load.output_tokens,
                    load.waiting,
                )
            )
            load.requests = load.output_tokens = 0
            load.quiet = idle
        self.since = end
        return out
