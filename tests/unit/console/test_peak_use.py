"""The utilisation chart's points: the most cards in use at once in each interval."""

from __future__ import annotations

import datetime as dt

from suanli.service.operations import peak_use

T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
STEP = 1800  # half an hour, as the 24-hour chart's 48 points


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_sixteen_cards_for_five_minutes_count_sixteen_not_the_average() -> None:
    runs = [(at(10), at(15), 16)]
    assert peak_use(runs, T0, STEP, 4) == [16, 0, 0, 0]


def test_runs_at_once_add_up_and_runs_one_after_another_do_not() -> None:
    together = [(at(5), at(20), 8), (at(10), at(25), 8)]
    assert peak_use(together, T0, STEP, 2) == [16, 0]
    in_turn = [(at(5), at(10), 8), (at(10), at(20), 8)]
    assert peak_use(in_turn, T0, STEP, 2) == [8, 0]


def test_a_run_across_intervals_counts_in_each_and_is_clipped_to_the_window() -> None:
    runs = [(at(-60), at(70), 4), (at(40), at(200), 2)]
    assert peak_use(runs, T0, STEP, 4) == [4, 6, 6, 2]


def test_sixteen_h100_in_two_gangs_of_eight_over_a_day() -> None:
    # 48 half-hour points over 24 h: two 8-card jobs overlap for one hour in the afternoon.
    runs = [(at(14 * 60), at(16 * 60), 8), (at(15 * 60), at(17 * 60), 8)]
    peaks = peak_use(runs, T0, STEP, 48)
    assert max(peaks) == 16
    assert peaks[30] == 16
    assert peaks[31] == 16
    assert peaks[28] == 8
    assert peaks[33] == 8
    assert peaks[27] == 0
    assert peaks[34] == 0
