"""The default policy's constants are queue settings a file may set, checked at the edge."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suanli.domain.errors import InvalidInput
from suanli.scheduler.queueing import QueueSettings
from suanli.scheduler.queueing.model import (
    GUARD_S,
    LEVELS_S,
    MOVE_GAIN,
    PREEMPT_GAIN,
    RESTART_PRICE,
)
from suanli.schemas.queuefile import QueueEntry
from suanli.schemas.validation import validate_model
from suanli.service.bootstrap import queue_settings_of


def test_unset_constants_keep_the_documented_defaults() -> None:
    s = queue_settings_of(QueueEntry(), reserve=True)
    assert (s.levels_s, s.preempt_gain, s.guard_s, s.move_gain) == (
        LEVELS_S,
        PREEMPT_GAIN,
        GUARD_S,
        MOVE_GAIN,
    )
    assert s == QueueSettings(reserve=True)


def test_a_file_sets_each_constant() -> None:
    entry = QueueEntry.model_validate(
        {
            "levels_s": [100, 1000],
            "preempt_gain": 2,
            "guard_s": 0,
            "guard_gain": 8,
            "move_gain": 1.5,
            "quanta": False,
        }
    )
    s = queue_settings_of(entry, reserve=False)
    assert s.quanta is False
    assert s.levels_s == (100.0, 1000.0)
    assert (s.preempt_gain, s.guard_s, s.guard_gain, s.move_gain) == (2.0, 0.0, 8.0, 1.5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("levels_s", [1000, 100]),
        ("levels_s", []),
        ("preempt_gain", 0.5),
        ("guard_gain", 0),
        ("move_gain", 1000),
        ("guard_s", -1),
        ("quanta", "sometimes"),
    ],
    ids=[
        "levels-decrease",
        "no-levels",
        "gain-below-one",
        "guard-gain-zero",
        "move-gain-huge",
        "negative-guard",
        "quanta-not-a-bool",
    ],
)
def test_a_wrong_constant_is_refused_naming_its_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        QueueEntry.model_validate({field: value})
    assert field in str(info.value)


def test_a_file_sets_the_restart_price_or_never() -> None:
    assert queue_settings_of(QueueEntry(), reserve=False).restart_price == RESTART_PRICE
    for given, kept in ((2, 2.0), (0, 0.0), ("never", None)):
        entry = QueueEntry.model_validate({"restart_price": given})
        assert queue_settings_of(entry, reserve=False).restart_price == kept


@pytest.mark.parametrize("value", [-1, 1e9, float("nan"), "sometimes", True, [1]])
def test_a_wrong_restart_price_is_refused_saying_what_is_allowed(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_model(QueueEntry, {"restart_price": value}, "tenants.yaml", "tenants_invalid")
    [error] = info.value.errors
    assert (error.field, error.code) == ("restart_price", "not_allowed")
    assert error.allowed == "a number from 0 to 1000, or never"
    assert error.message("zh").startswith("取值 ")
    assert "不被允许" in error.message("zh")
    assert "is not allowed" in error.message("en")
