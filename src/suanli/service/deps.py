"""The composition of one running platform: clock, store, fleet, engines, policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from suanli.domain.clock import Clock
from suanli.domain.fleet import Fleet
from suanli.engines.base import EngineAdapter
from suanli.scheduler.policies import PlacementPolicy
from suanli.store.base import JobStore


@dataclass
class Platform:
    clock: Clock
    jobs: JobStore
    fleet: Fleet
    engines: dict[str, EngineAdapter]  # by cluster name
    policy: PlacementPolicy
    data_dir: Path
    unavailable: set[str] = field(default_factory=set)  # clusters that do not answer

    def engine(self, cluster: str) -> EngineAdapter | None:
        return self.engines.get(cluster)

    def close(self) -> None:
        self.jobs.close()
