"""The planner kept from one scheduling cycle to the next (``plans.Planner.serves``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from suanli.scheduler.plans import Planner, Rank
from suanli.scheduler.snapshot import Snapshot


@dataclass
class KeptPlans:
    """The planner kept from one cycle to the next (one control loop per platform): a
    cycle's plans are derived again only when the fleet or its pools changed, or for a
    kind of job (or a tenant's rates and pools) not planned before."""

    planner: Planner | None = None
    made: int = field(default=0, compare=False)  # planners made: what a test can watch

    def planner_for(self, snapshot: Snapshot, rank: Rank) -> Planner:
        planner = self.planner
        if planner is not None and planner.serves(snapshot, rank):
            if planner.snapshot is not snapshot:
                planner.at(snapshot)
            return planner
        self.made += 1
        self.planner = Planner(snapshot, rank)
        return self.planner
