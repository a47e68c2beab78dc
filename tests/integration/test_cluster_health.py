"""Cluster health is stored: a second process on the same database reports the same."""

from __future__ import annotations

from pathlib import Path

from suanli.engines.base import EngineAdapter
from suanli.service.bootstrap import open_platform
from suanli.service.reconcile import check_engines
from suanli.store.stores import MEMORY_URL


class Silent:
    """An engine that stops answering (its pings fail), wrapping a real one."""

    def __init__(self, engine: EngineAdapter) -> None:
        self._engine = engine
        self.name = engine.name

    def ping(self) -> bool:
        return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)


def test_an_api_only_process_sees_the_leaders_view_of_cluster_health(
    tmp_path: Path, database_url: str
) -> None:
    leader = open_platform(tmp_path / "a", database_url=database_url, detect_gpus=False)
    api_only = open_platform(tmp_path / "b", database_url=database_url, detect_gpus=False)
    try:
        name = sorted(leader.engines)[0]
        leader.engines[name] = Silent(leader.engines[name])  # type: ignore[assignment]
        check_engines(leader)
        since = leader.down_since[name]
        assert api_only.unavailable == frozenset({name})
        assert api_only.down_since == {name: since}
        check_engines(leader)
        assert api_only.down_since[name] == since
        leader.engines[name] = leader.engines[name]._engine  # type: ignore[attr-defined]
        check_engines(leader)  # it answers again: swept, then available
        assert api_only.unavailable == frozenset()
    finally:
        leader.close()
        api_only.close()


def test_a_memory_platform_keeps_health_too(tmp_path: Path) -> None:
    p = open_platform(tmp_path / "m", database_url=MEMORY_URL, detect_gpus=False)
    name = sorted(p.engines)[0]
    p.health.mark_down(name, p.clock.now())
    assert p.unavailable == frozenset({name})
