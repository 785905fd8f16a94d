"""Real VX history with a refused year: indicators restart, a missing front month is unknown.

The lake as a new user gets it from every CFE file in ../shared/data with 2008 refused
(two junk rows fail its gate): no VX curve from 2008-01-02 to 2008-12-31.
"""

import datetime as dt

import numpy as np
import polars as pl
import pytest
import talib
from polars.testing import assert_frame_equal

from features.build import build_features
from features.indicators import rsi, segments
from tests.conftest import SHARED_DATA, shared
from tests.features.feature_inputs import NOW, all_inputs, vx_history

D = dt.date
END = D(2010, 12, 31)


def build(frames: dict[str, pl.DataFrame], **kw) -> pl.DataFrame:
    return build_features({k: v.lazy() for k, v in frames.items()}, computed_at=NOW, end=END,
                          **kw)


@pytest.fixture(scope="module")
def inputs() -> dict[str, pl.DataFrame]:
    shared("vx_futures", "cfe_2008_2015")
    frames = all_inputs(SHARED_DATA)
    vx = vx_history(SHARED_DATA)
    frames["vx_futures"] = vx.filter(pl.col("trade_date").dt.year() != 2008)
    return frames


@pytest.fixture(scope="module")
def full(inputs) -> pl.DataFrame:
    return build(inputs)


def day(frame: pl.DataFrame, d: dt.date) -> dict:
    return frame.filter(pl.col("date") == d).row(0, named=True)


def test_vx_rsi_restarts_after_the_missing_year_instead_of_bridging_it(full):
    first = day(full, D(2009, 1, 2))
    # Before: 83.9, the move from 2007-12-31 to 2009-01-02 read as one day's change.
    assert first["vx_cm30"] is not None and first["vx_cm30_rsi_14"] is None
    assert first["vx_cm30_rsi_14_warming"] and not first["term_structure_stale"]
    assert first["ts_macd"] is None and first["ts_macd_warming"]
    # After the hole: TA-Lib on the observations since the restart, from its 14th change on.
    after = full.filter(pl.col("date") >= D(2009, 1, 2)).head(120)
    want = talib.RSI(after["vx_cm30"].to_numpy(), 14)
    got = after["vx_cm30_rsi_14"].to_numpy().astype(float)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got).sum() == 14
    assert np.nanmax(np.abs(got - want)) <= 1e-9
    assert after["vx_cm30_rsi_14_warming"].to_list() == [True] * 14 + [False] * 106
    # Windowed features never reach across the hole either: 60 changes need 61 closes.
    beta = full.filter(pl.col("date") >= D(2009, 1, 2))["vx_cm30_beta"]
    assert beta.head(60).null_count() == 60 and beta[60] is not None
    # The RSIs whose inputs have no hole are untouched.
    assert first["spx_rsi_14"] is not None and not first["spx_rsi_14_warming"]


def test_a_short_hole_is_bridged():
    x = [float(v) for v in range(1, 41)]
    holed = x[:20] + [None] * 5 + x[25:]
    out = pl.DataFrame({"x": holed}).select(rsi(pl.col("x"), by=segments(pl.col("x"), 5)))
    assert out["x"].null_count() == 14 + 5  # warm-up once, then only the hole's rows


def test_front_month_missing_leaves_the_term_structure_unknown(full):
    # The lake holds only the Feb-08 and May-08 contracts on 2007-06-01: VX1 (Jun-07) and
    # VX2 (Jul-07) have no settlement. Before: vx1 = 15.26, an 8-month future.
    row = day(full, D(2007, 6, 1))
    assert row["term_structure_stale"] is True
    for name in ("vx1", "vx2", "ts_slope_12", "contango", "ts_slope_steep", "vx_cm30",
                 "vx_cm110", "vx_cm220", "vx_cm30_extrapolated"):
        assert row[name] is None, name
    assert row["vix_regime"] == "calm" and row["spx_rsi_14"] is not None  # VIX, SPX known
    # Where the lake holds the listed months, the curve is there (2010: every month).
    assert full.filter(pl.col("date").dt.year() == 2010)["term_structure_stale"].sum() == 0


@pytest.mark.parametrize("start", [D(2009, 1, 2), D(2009, 1, 23), D(2010, 6, 1)])
def test_incremental_equals_full_across_the_hole(inputs, full, start):
    assert_frame_equal(build(inputs, start=start), full.filter(pl.col("date") >= start))
