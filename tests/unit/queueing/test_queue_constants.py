"""The default policy's constants are queue settings a file may set, checked at the edge."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suanli.scheduler.queueing import QueueSettings
from suanli.scheduler.queueing.model import GUARD_S, LEVELS_S, MOVE_GAIN, PREEMPT_GAIN
from suanli.schemas.queuefile import QueueEntry
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
