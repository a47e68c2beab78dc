"""Money is Decimal to the fen; usage is priced by the second."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from suanli.billing.money import FloatMoneyError, floor_fen, round_fen, yuan
from suanli.billing.pricing import gross_for, price_usage
from tests.unit.billing.make import T0, make_usage


class TestMoney:
    @pytest.mark.parametrize("value", [0.1, True], ids=["float", "bool"])
    def test_floats_are_refused(self, value: Any) -> None:
        with pytest.raises(FloatMoneyError):
            yuan(value)

    @pytest.mark.parametrize(
        ("value", "want_round", "want_floor"),
        [("0.005", "0.01", "0.00"), ("0.015", "0.02", "0.01"), ("2.675", "2.68", "2.67")],
        ids=["half-a-fen", "one-and-a-half-fen", "classic-float-trap"],
    )
    def test_amounts_round_half_up_and_ceilings_round_down(
        self, value: str, want_round: str, want_floor: str
    ) -> None:
        assert round_fen(Decimal(value)) == Decimal(want_round)
        assert floor_fen(Decimal(value)) == Decimal(want_floor)

    def test_nan_is_refused(self) -> None:
        with pytest.raises(ValueError, match="finite"):
            yuan("NaN")


class TestPricing:
    def test_partial_hours_are_billed_by_the_second(self) -> None:
        # 2 accelerators x 1 h 30 min 1 s at 12.34/h = 37.026... -> 37.03
        usage = make_usage(accelerators=2, seconds=5401)
        line = price_usage(usage, Decimal("12.34"))
        assert usage.accelerator_seconds == 10802
        assert line.gross == Decimal("37.03")

    def test_one_second_costs_its_share(self) -> None:
        assert gross_for(1, Decimal("36.00")) == Decimal("0.01")

    def test_fractions_of_a_second_are_not_billed(self) -> None:
        usage = make_usage(seconds=0)
        usage = dataclasses.replace(usage, ended_at=T0 + dt.timedelta(seconds=1.9))
        assert usage.seconds == 1

    def test_a_line_belongs_to_the_china_time_month_it_ended_in(self) -> None:
        late = dt.datetime(2025, 5, 31, 16, 30, tzinfo=dt.UTC)  # 00:30 on 1 June in Beijing
        usage = make_usage(start=late - dt.timedelta(hours=1), seconds=3600)
        assert usage.month == "2025-06"

    def test_an_end_before_the_start_is_refused(self) -> None:
        with pytest.raises(ValueError, match="before"):
            make_usage(seconds=-1)

    def test_a_negative_price_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            gross_for(10, Decimal("-1"))
