"""A waiting job's explanation is stored again only when it says something new."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Decision, Estimate, PoolVerdict, Reason
from suanli.service.scheduling import FORECAST_REFRESH, news, says_more
from tests.builders import T0, make_job


def decision(
    finish_in_s: float, summary: str = "queue_no_capacity", net: str = "19.97"
) -> Decision:
    estimate = Estimate(
        2.5, 0.4, Decimal(net), Decimal(0), Decimal(0), 0.0, Decimal(net),
        T0 + dt.timedelta(seconds=finish_in_s),
    )  # fmt: skip
    lines = (
        PoolVerdict("c", "a", True, Decimal(8), None, estimate),
        PoolVerdict("c", "b", False, None, Reason("pool_full"), None),
    )
    return Decision(Reason(summary), lines)


def test_a_forecast_moved_by_the_clock_alone_is_not_news_until_it_is_stale() -> None:
    stored = decision(9000)
    assert not says_more(stored, decision(9000))
    assert not says_more(stored, decision(9060))  # a minute later, the same words
    late = FORECAST_REFRESH.total_seconds()
    assert says_more(stored, decision(9000 + late))  # the forecast is stale: stored again


def test_new_words_a_new_figure_or_no_explanation_yet_are_news() -> None:
    stored = decision(9000)
    assert says_more(None, stored)
    assert says_more(stored, decision(9000, summary="queue_over_quota"))
    assert says_more(stored, decision(9000, net="20.00"))
    assert says_more(stored, dataclasses.replace(stored, verdicts=stored.verdicts[:1]))
    assert says_more(stored, dataclasses.replace(stored, chosen=("c", "a")))


# Explanations as a cycle holds them: a few objects shared by many jobs (stored ones saved
# from one cycle's shared explanation, new ones shared by the jobs of one kind), some equal
# to each other, some saying more.
SHARED = (
    decision(9000),
    decision(9000),
    decision(9060),
    decision(9000 + FORECAST_REFRESH.total_seconds()),
    decision(9000, summary="queue_over_quota"),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([None, *range(len(SHARED))]), st.integers(0, len(SHARED) - 1)),
        max_size=30,
    )
)
def test_news_compares_each_pair_of_explanations_as_says_more_does(
    pairs: list[tuple[int | None, int]],
) -> None:
    explained = [
        (
            make_job(job_id=f"j{i}", decision=None if s is None else SHARED[s]),
            SHARED[n],
        )
        for i, (s, n) in enumerate(pairs)
    ]
    expected = [(j, d) for j, d in explained if says_more(j.decision, d)]
    assert list(news(explained)) == expected
