import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.expiry import monthly_expiries
from features.config import TermStructureConfig
from features.term_structure import term_structure_inputs

D = dt.date
# Monthly VX expiries by the CFE rule, Jan 2024 .. Dec 2024.
JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC = monthly_expiries(
    D(2024, 1, 1), 12).to_list()


def curve(rows: list[tuple[dt.date, dt.date, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"trade_date": pl.Date, "expiry": pl.Date,
                                      "settle": pl.Float64}, orient="row")


def cm(rows, **cfg) -> pl.DataFrame:
    return term_structure_inputs(curve(rows), TermStructureConfig(**cfg)).collect().sort("date")


def board(day: dt.date, expiries: list[dt.date], first: float = 14.0) -> list:
    """A listed board: one settle per expiry, rising by one point a month."""
    return [(day, e, first + i) for i, e in enumerate(expiries)]


def test_linear_in_calendar_days_between_bracketing_expiries():
    day = D(2024, 1, 2)
    out = cm(board(day, [JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP]),
             maturities_days=(30, 110))
    assert (JAN, FEB, APR, MAY) == (D(2024, 1, 17), D(2024, 2, 14), D(2024, 4, 17),
                                   D(2024, 5, 22))
    # target 2024-02-01: 15 of 28 days from Jan 17 to Feb 14.
    assert out["vx_cm30"][0] == pytest.approx(14.0 + 15 / 28, abs=1e-12)
    # target 2024-04-21: 4 of 35 days from Apr 17 to May 22.
    assert out["vx_cm110"][0] == pytest.approx(17.0 + 4 / 35, abs=1e-12)
    assert out["vx_cm30_extrapolated"][0] is False
    assert (out["vx1"][0], out["vx2"][0]) == (14.0, 15.0)


def test_a_missing_bracketing_contract_is_not_bridged_by_a_farther_one():
    day = D(2024, 1, 2)
    # April and May are listed but not in the lake: the 110-day point is unknown, not read
    # off the March-to-August line.
    out = cm([(day, e, p) for e, p in ((JAN, 14.0), (FEB, 16.0), (MAR, 17.0), (AUG, 20.0))],
             maturities_days=(30, 110))
    assert out["vx_cm30"][0] == pytest.approx(14.0 + 2.0 * 15 / 28, abs=1e-12)
    assert out["vx_cm110"][0] is None and out["vx_cm110_extrapolated"][0] is None


def test_exact_expiry_match_and_flat_extrapolation_flagged():
    day = D(2024, 1, 18)  # after January's expiry: Feb is VX1
    out = cm(board(day, [FEB, MAR]), maturities_days=(27, 30, 220))
    assert out["vx_cm27"][0] == 14.0 and out["vx_cm27_extrapolated"][0] is False  # Feb 14
    # 30 days: 2024-02-17, 3 of 35 days from Feb 14 to Mar 20.
    assert out["vx_cm30"][0] == pytest.approx(14.0 + 3 / 35, abs=1e-12)
    # Beyond the last settled contract: flat from it, flagged.
    assert out["vx_cm220"][0] == 15.0 and out["vx_cm220_extrapolated"][0] is True
    early = cm(board(D(2024, 1, 2), [JAN, FEB]), maturities_days=(7,))
    # 7 days out is before VX1's expiry: flat from VX1, flagged.
    assert early["vx_cm7"][0] == 14.0 and early["vx_cm7_extrapolated"][0] is True


def test_front_month_by_the_expiry_rule_not_the_first_row_present():
    day = D(2024, 1, 2)
    # Only March and April in the lake: VX1 (January) and VX2 (February) have no settle,
    # so the curve is unknown that day rather than read from an 11-week future.
    out = cm([(day, MAR, 17.0), (day, APR, 18.0)], maturities_days=(30, 110))
    assert out.select(pl.exclude("date")).row(0) == (None,) * (out.width - 1)
    # VX2 missing alone also leaves the day unknown.
    gap = cm([(day, JAN, 14.0), (day, MAR, 17.0), (day, APR, 18.0)], maturities_days=(30,))
    assert gap["vx1"][0] is None and gap["vx_cm30"][0] is None


def test_contract_expiring_on_trade_date_is_not_vx1():
    day = JAN
    rows = [(day, JAN, 13.0), (day, FEB, 15.0), (day, MAR, 16.5)]
    out = cm(rows, maturities_days=(30,))
    assert (out["vx1"][0], out["vx2"][0]) == (15.0, 16.5)
    kept = cm(rows, maturities_days=(30,), drop_expiring_today=False)
    assert (kept["vx1"][0], kept["vx2"][0]) == (13.0, 15.0)


def test_one_row_per_trade_date_and_each_day_uses_its_own_curve():
    rows = [(D(2024, 1, 2), JAN, 14.0), (D(2024, 1, 2), FEB, 16.0),
            (D(2024, 1, 3), JAN, 20.0), (D(2024, 1, 3), FEB, 22.0)]
    out = cm(rows, maturities_days=(30,))
    expected = pl.DataFrame({"date": [D(2024, 1, 2), D(2024, 1, 3)],
                             "vx1": [14.0, 20.0], "vx2": [16.0, 22.0]})
    assert_frame_equal(out.select("date", "vx1", "vx2"), expected)
    assert out["vx_cm30"][1] == pytest.approx(20.0 + 2.0 * 16 / 28, abs=1e-12)
