import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import TermStructureConfig
from features.term_structure import term_structure_inputs

D = dt.date


def curve(rows: list[tuple[dt.date, dt.date, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"trade_date": pl.Date, "expiry": pl.Date,
                                      "settle": pl.Float64}, orient="row")


def cm(rows, **cfg) -> pl.DataFrame:
    return term_structure_inputs(curve(rows), TermStructureConfig(**cfg)).collect().sort("date")


def test_linear_in_calendar_days_between_bracketing_expiries():
    day = D(2024, 1, 2)
    out = cm([(day, D(2024, 1, 17), 14.0), (day, D(2024, 2, 14), 16.0),
              (day, D(2024, 3, 20), 17.0), (day, D(2024, 8, 21), 20.0)],
             maturities_days=(30, 110))
    # target 2024-02-01: 15 of 28 days from Jan 17 to Feb 14.
    assert out["vx_cm30"][0] == pytest.approx(14.0 + 2.0 * 15 / 28, abs=1e-12)
    # target 2024-04-21: 32 of 154 days from Mar 20 to Aug 21.
    assert out["vx_cm110"][0] == pytest.approx(17.0 + 3.0 * 32 / 154, abs=1e-12)
    assert out["vx_cm30_extrapolated"][0] is False
    assert (out["vx1"][0], out["vx2"][0]) == (14.0, 16.0)


def test_exact_expiry_match_and_flat_extrapolation_flagged():
    day = D(2024, 1, 2)
    out = cm([(day, D(2024, 2, 1), 15.0), (day, D(2024, 3, 1), 16.0)],
             maturities_days=(30, 220))
    assert out["vx_cm30"][0] == 15.0 and out["vx_cm30_extrapolated"][0] is False
    assert out["vx_cm220"][0] == 16.0 and out["vx_cm220_extrapolated"][0] is True


def test_contract_expiring_on_trade_date_is_not_vx1():
    day = D(2024, 1, 17)
    rows = [(day, day, 13.0), (day, D(2024, 2, 14), 15.0), (day, D(2024, 3, 20), 16.5)]
    out = cm(rows, maturities_days=(30,))
    assert (out["vx1"][0], out["vx2"][0]) == (15.0, 16.5)
    kept = cm(rows, maturities_days=(30,), drop_expiring_today=False)
    assert (kept["vx1"][0], kept["vx2"][0]) == (13.0, 15.0)


def test_one_row_per_trade_date_and_each_day_uses_its_own_curve():
    rows = [(D(2024, 1, 2), D(2024, 1, 17), 14.0), (D(2024, 1, 2), D(2024, 2, 14), 16.0),
            (D(2024, 1, 3), D(2024, 1, 17), 20.0), (D(2024, 1, 3), D(2024, 2, 14), 22.0)]
    out = cm(rows, maturities_days=(30,))
    expected = pl.DataFrame({"date": [D(2024, 1, 2), D(2024, 1, 3)],
                             "vx1": [14.0, 20.0], "vx2": [16.0, 22.0]})
    assert_frame_equal(out.select("date", "vx1", "vx2"), expected)
    assert out["vx_cm30"][1] == pytest.approx(20.0 + 2.0 * 16 / 28, abs=1e-12)
