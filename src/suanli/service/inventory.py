"""What each cluster holds now, read from its own engine (sinfo, Ray's resources, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from suanli.domain.errors import SuanliError
from suanli.engines.base import Inventory, inventory_source
from suanli.service.deps import Platform


class InventoryState(StrEnum):
    READ = "read"  # the engine answered with its nodes
    NOT_REPORTED = "not_reported"  # the engine keeps no inventory (e.g. the local engine)
    UNAVAILABLE = "unavailable"  # the engine did not answer (the detail says how)


@dataclass(frozen=True)
class ClusterInventory:
    cluster: str
    provider: str
    region: str
    engine: str
    state: InventoryState
    inventory: Inventory | None = None
    error: SuanliError | None = None  # why it did not answer (rendered in the reader's language)


def read_inventories(p: Platform, provider: str | None = None) -> list[ClusterInventory]:
    """Every cluster's inventory (of ``provider`` only, when given), asked of its engine now.

    One engine not answering does not hide the others: it is reported unavailable.
    """
    found: list[ClusterInventory] = []
    for owner in p.fleet.providers:
        if provider is not None and owner.name != provider:
            continue
        for cluster in owner.clusters:
            engine = p.engine(cluster.name)
            source = inventory_source(engine) if engine is not None else None
            base = (cluster.name, owner.name, cluster.region, cluster.engine.type)
            if source is None:
                found.append(ClusterInventory(*base, InventoryState.NOT_REPORTED))
                continue
            try:
                inventory = source.inventory()
            except SuanliError as exc:
                found.append(ClusterInventory(*base, InventoryState.UNAVAILABLE, None, exc))
                continue
            found.append(ClusterInventory(*base, InventoryState.READ, inventory))
    return found
