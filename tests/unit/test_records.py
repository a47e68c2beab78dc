"""``domain.records.replacer``: a copy with changes that is exactly ``dataclasses.replace``."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.billing.verdicts import Consideration, Outcome
from suanli.domain.jobs import Job, job_with
from suanli.domain.records import replace, replacer
from tests.builders import make_job

JOB_FIELDS = tuple(f.name for f in dataclasses.fields(Job))

# The copy checks no types (neither does ``dataclasses.replace``): any value goes, and a
# value must come back as the very object that was given or kept.
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=3), st.builds(object)
)


@st.composite
def _changes(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return {name: draw(_VALUES) for name in chosen}


def _same(a: object, b: object, names: tuple[str, ...]) -> None:
    assert type(a) is type(b)
    assert a == b
    for name in names:
        assert getattr(a, name) is getattr(b, name), name


@settings(max_examples=100, deadline=None)
@given(start=_changes(JOB_FIELDS), changes=_changes(JOB_FIELDS))
def test_a_job_copy_is_what_dataclasses_replace_gives(
    start: dict[str, Any], changes: dict[str, Any]
) -> None:
    job = dataclasses.replace(make_job(), **start)
    _same(job_with(job, **changes), dataclasses.replace(job, **changes), JOB_FIELDS)


def test_a_copy_is_a_new_record_and_the_original_is_untouched() -> None:
    job = make_job(attempt=2)
    copy = job_with(job)
    assert copy is not job
    assert copy == job
    assert job_with(job, attempt=3).attempt == 3
    assert job.attempt == 2


def test_a_name_that_is_no_field_is_refused_in_the_same_words() -> None:
    job = make_job()
    with pytest.raises(TypeError) as ours:
        job_with(job, attempt=1, no_such_field=1)
    with pytest.raises(TypeError) as theirs:
        dataclasses.replace(job, attempt=1, no_such_field=1)  # type: ignore[call-arg]
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError):
        job_with(job, job)


def test_other_records_copy_the_same_way() -> None:
    names = tuple(f.name for f in dataclasses.fields(Consideration))
    copy = replacer(Consideration)
    c = Consideration("p", 1, Outcome.WRONG_KIND, params={"a": 1})
    three = Decimal(3)
    _same(copy(c, limit=None, offer=three), dataclasses.replace(c, limit=None, offer=three), names)


@dataclasses.dataclass(frozen=True, slots=True)
class _Point:
    x: int
    y: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class _Point3(_Point):
    z: int = 0


def test_an_instance_of_a_subclass_stays_of_its_class() -> None:
    point = replacer(_Point)
    assert point(_Point3(1, 2, 3), y=5) == _Point3(1, 5, 3)
    assert point(_Point(1), y=5) == _Point(1, 5)


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    x: int

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x")


@dataclasses.dataclass(frozen=True, slots=True)
class _Derived:
    x: int
    double: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    x: int


@dataclasses.dataclass(slots=True)
class _Mutable:
    x: int


@dataclasses.dataclass(frozen=True, slots=True)
class _WithInitVar:
    x: int
    scale: dataclasses.InitVar[int] = 1


@pytest.mark.parametrize("cls", [_Checked, _Derived, _NoSlots, _Mutable, _WithInitVar])
def test_records_a_copy_could_get_wrong_are_left_to_dataclasses_replace(cls: type) -> None:
    with pytest.raises(TypeError):
        replacer(cls)


def test_replace_copies_through_the_class_replacer_or_dataclasses_replace() -> None:
    assert replace(_Point(1), y=2) == _Point(1, 2)
    assert replace(_Point3(1), z=2) == _Point3(1, 0, 2)
    job = make_job()
    _same(replace(job, attempt=4), dataclasses.replace(job, attempt=4), JOB_FIELDS)
    assert replace(_Checked(1), x=2) == _Checked(2)
    with pytest.raises(ValueError, match="x"):  # its __post_init__ still runs
        replace(_Checked(1), x=-1)
    with pytest.raises(TypeError) as ours:
        replace(object())
    with pytest.raises(TypeError) as theirs:
        dataclasses.replace(object())  # type: ignore[type-var]
    assert str(ours.value) == str(theirs.value)


@dataclasses.dataclass(frozen=True)
class _Open:
    x: int


@dataclasses.dataclass(frozen=True, slots=True)
class _HalfSlotted(_Open):
    y: int = 0


def test_a_record_over_a_base_without_slots_copies_the_same() -> None:
    half = _HalfSlotted(1, 2)
    _same(replacer(_HalfSlotted)(half, y=3), dataclasses.replace(half, y=3), ("x", "y"))
