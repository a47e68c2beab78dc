"""Packing policies by name: the one place the CLI, the simulator and benchmarks look them up."""

from __future__ import annotations

from suanli.scheduler.packing.base import PolicyFactory
from suanli.scheduler.packing.fgd import Fgd, SuanliDefault
from suanli.scheduler.packing.simple import BestFit, RandomFit

POLICIES: dict[str, PolicyFactory] = {
    RandomFit.name: RandomFit,
    BestFit.name: BestFit,
    Fgd.name: Fgd,
    SuanliDefault.name: SuanliDefault,
}
