"""Properties of the polars row checks the suites hand to GX (no GX involved)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from validations import checks

_ALL = checks.nyse_sessions()
SESSIONS_2024 = _ALL.filter(_ALL.dt.year() == 2024)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(0, SESSIONS_2024.len() - 1), min_size=2))
def test_gaps_count_exactly_the_sessions_left_out(kept: set[int]) -> None:
    picked = SESSIONS_2024.gather(sorted(kept))
    frame = pl.DataFrame({"s": ["X"] * picked.len(), "date": picked}).sample(fraction=1.0,
                                                                            shuffle=True, seed=1)
    gaps = frame.select(checks.gap_sessions("date", ("s",)).alias("g"))["g"].drop_nulls()
    missing = gaps.str.extract(r": (\d+) missing").cast(pl.Int64).sum()
    assert missing == (max(kept) - min(kept) + 1) - len(kept)


def test_gaps_are_per_series_and_holidays_are_not_gaps() -> None:
    # 2024-07-04 (holiday) and the weekend are no gap; B skips 2024-07-08 and 07-09.
    frame = pl.DataFrame({
        "s": ["A", "A", "A", "B", "B"],
        "date": [dt.date(2024, 7, 3), dt.date(2024, 7, 5), dt.date(2024, 7, 8),
                 dt.date(2024, 7, 5), dt.date(2024, 7, 10)]})
    out = frame.select(checks.gap_sessions("date", ("s",)))
    assert out.to_series().to_list() == [None, None, None, None,
                                         "B 2024-07-10: 2 missing session(s) before"]


def test_non_sessions_are_named() -> None:
    dates = [dt.date(2024, 7, 4), dt.date(2024, 7, 5), dt.date(2024, 7, 6), dt.date(1970, 1, 3)]
    out = pl.DataFrame({"d": dates}).select(checks.non_trading_date("d")).to_series()
    # outside the calendar's 1980-2035 span a date is not judged
    assert out.to_list() == ["2024-07-04", None, "2024-07-06", None]


def test_curve_order_names_a_contract_given_two_expiries() -> None:
    d = dt.date(2024, 3, 1)
    frame = pl.DataFrame({"t": [d, d, d], "e": [dt.date(2024, 3, 20), dt.date(2024, 4, 17),
                                                 dt.date(2024, 5, 22)],
                          "s": ["VX/H24", "VX/J24", "VX/J24"]})
    out = frame.select(checks.expiry_out_of_order("t", "e", "s")).to_series().to_list()
    assert out == [None, "2024-03-01 VX/J24 2024-04-17", "2024-03-01 VX/J24 2024-05-22"]
