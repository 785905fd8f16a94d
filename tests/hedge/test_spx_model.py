"""The 1DTE SPX model: properties, and its fit to the real SPXW chains (the leave-one-out
condor credits at the engine's strikes: tests/flows/test_calibrate.py)."""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import next_session
from hedge.spx_fit import fit_spx, spx_errors, spx_points
from hedge.spx_model import (
    SOURCES,
    SpxModel,
    atm_source,
    atm_vol,
    leg_marks,
    long_level,
    settle_years,
)
from sources import cboe, fred
from sources.chains.quotedata import parse_quotedata
from tests.conftest import shared
from tests.hedge.rows import shipped_spx

realdata = pytest.mark.realdata
D = dt.date
QUOTES = ("options", "cboe_delayed_quotes")
# Every SPX quotedata file with a next-session expiry. The two intraday snapshots
# (2022-07-12 11:55 ET, 2023-06-09 13:40 ET) are read too, to show spx_points drops them: their
# spot is not the close and their horizon is longer than close-to-settlement.
CHAIN_FILES = ("2022-02-04", "2022-06-10", "2022-07-12_intraday", "2022-09-13_reformatted",
               "2023-02-07", "2023-06-09", "2023-08-18", "2023-09-14", "2024-01-05",
               "2025-01-06_JANexp")
USABLE = [D(2022, 2, 4), D(2022, 6, 10), D(2022, 9, 13), D(2023, 2, 7), D(2023, 8, 18),
          D(2023, 9, 14), D(2024, 1, 5), D(2025, 1, 6)]
Q = 0.015
DEFAULT = shipped_spx()  # the policy's [pricing.spx_model]


def _close(name: str, column: str) -> pl.DataFrame:
    path = shared("cboe", name)
    return cboe.parse(path.read_bytes(), path.name).select("date", pl.col("close").alias(column))


def _vix1d() -> pl.DataFrame:
    # VIX1D exists only as a panel column: written out in CBOE's value-only layout, as
    # tests/features/feature_inputs.py does.
    panel = pl.read_csv(shared("cboe", "cboe_volatility_panel_heliar.csv"),
                        columns=["date", "VIX1D"], infer_schema=False)
    payload = panel.drop_nulls("VIX1D").rename({"date": "DATE"}).write_csv().encode()
    return cboe.parse(payload, "VIX1D_History.csv").select("date",
                                                            pl.col("close").alias("vix1d_close"))


def _levels() -> pl.DataFrame:
    path = shared("fred", "DTB3.csv")
    rate = fred.parse(path.read_bytes(), path.name).select(
        "date", (pl.col("value") / 100.0).alias("rate")).sort("date")
    frame = _close("SPX_History.csv", "spx_close")
    for part in (_close("VIX_History.csv", "vix_close"),
                 _close("VIX9D_History.csv", "vix9d_close"), _vix1d()):
        frame = frame.join(part, on="date", how="left")
    return frame.sort("date").join_asof(rate, on="date")


def _chain() -> pl.DataFrame:
    frames = []
    for tag in CHAIN_FILES:
        path = shared(*QUOTES, f"spx_quotedata_{tag}.csv")
        frames.append(parse_quotedata(path.read_bytes(), path.name))
    return pl.concat(frames, how="vertical_relaxed")


@pytest.fixture(scope="module")
def real():
    chain, levels = _chain(), _levels()
    return chain, levels, spx_points(chain, levels)


# ---------------------------------------------------------------- real data
@realdata
def test_points_are_the_end_of_day_next_session_days(real):
    _, _, points = real
    assert sorted(points["quote_date"].unique().to_list()) == USABLE
    assert (points["expiration"] == points["quote_date"].map_elements(
        next_session, return_dtype=pl.Date)).all()
    assert (points["mid"] > 0).all() and (points["z_em"].abs() <= 5).all()


@realdata
def test_the_shipped_parameters_are_the_fit_to_every_usable_day(real):
    fitted = fit_spx(real[2], q=Q).to_dict()
    for name, value in DEFAULT.to_dict().items():
        assert fitted[name] == pytest.approx(value, rel=1e-3, abs=1e-5), name


@realdata
def test_per_day_errors(real):
    errors = spx_errors(DEFAULT, real[2], q=Q)
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_width_chars=160, float_precision=3):
        print(errors)
    assert errors["quote_date"].to_list() == USABLE
    # The day's own ATM ratio stays within 20% of the fitted one on every day.
    assert ((errors["day_ratio"] / errors["model_ratio"] - 1).abs() < 0.2).all()


# ---------------------------------------------------------------- properties and small cases
def test_settle_years_friday_to_monday_is_three_days():
    assert settle_years(D(2024, 1, 5), D(2024, 1, 8)) == 3 / 365
    assert settle_years(D(2023, 9, 14), D(2023, 9, 15)) == 1 / 365


def test_atm_source_takes_the_shortest_known():
    assert atm_source({"vix1d_close": 11.4, "vix9d_close": 14.2, "vix_close": 16.0}) == (
        "vix1d_close", 11.4)
    assert atm_source({"vix1d_close": None, "vix9d_close": 0.0, "vix_close": 16.0}) == (
        "vix_close", 16.0)
    assert atm_source({"vix9d_close": 14.2}) == ("vix9d_close", 14.2)
    assert atm_source({}) is None


def test_from_dict_round_trips_and_names_bad_keys():
    assert SpxModel.from_dict(DEFAULT.to_dict()) == DEFAULT
    bad = DEFAULT.to_dict()
    del bad["put_slope"]
    bad["extra"] = 1.0
    with pytest.raises(ValueError, match="put_slope.*extra"):
        SpxModel.from_dict(bad)


def test_long_level_is_the_next_longer_known_index():
    row = {"vix1d_close": 11.42, "vix9d_close": 14.2, "vix_close": 16.04}
    assert long_level("vix1d_close", row) == 14.2
    assert long_level("vix1d_close", row | {"vix9d_close": None}) == 16.04
    assert long_level("vix9d_close", row) == 16.04
    assert long_level("vix_close", row) is None
    assert long_level("vix1d_close", None) is None


def test_long_level_blends_into_a_one_session_atm_only():
    strikes, calls = np.array([5975.0]), np.array([True])
    row = {"vix1d_close": 11.42, "vix9d_close": 14.2, "vix_close": 16.04}
    alone = leg_marks(DEFAULT, 5975.0, strikes, calls, 1 / 365, "vix1d_close", 11.42, 0.04, Q)
    same = leg_marks(DEFAULT, 5975.0, strikes, calls, 1 / 365, "vix1d_close", 11.42, 0.04, Q,
                     levels={"vix1d_close": 11.42})
    both = leg_marks(DEFAULT, 5975.0, strikes, calls, 1 / 365, "vix1d_close", 11.42, 0.04, Q,
                     levels=row)
    assert alone[1][0] == pytest.approx(same[1][0])
    blended = DEFAULT.ratio_vix1d * 11.42 ** (1 - DEFAULT.long_weight) * 14.2 ** (
        DEFAULT.long_weight) / 100
    assert both[1][0] == pytest.approx(blended, rel=1e-3)
    assert atm_vol(DEFAULT, "vix1d_close", 11.42, 1 / 365, long=14.2) == pytest.approx(blended)
    # Friday to Monday: the shortest index alone, whatever the longer one says.
    fri = [leg_marks(DEFAULT, 5975.0, strikes, calls, 3 / 365, "vix1d_close", 11.42, 0.04, Q,
                     levels=lv)[0][0] for lv in (None, row)]
    assert fri[0] == pytest.approx(fri[1])


market = st.fixed_dictionaries({
    "spot": st.floats(1000.0, 8000.0), "level": st.floats(5.0, 90.0),
    "days": st.sampled_from([1, 3, 4]), "source": st.sampled_from(SOURCES),
    "rate": st.floats(0.0, 0.06), "long": st.none() | st.floats(0.5, 2.0)})


def _strip(m: dict, is_call: bool):
    t = m["days"] / 365
    em = m["spot"] * m["level"] / 100.0 * math.sqrt(t)
    strikes = np.linspace(m["spot"] - 6 * em, m["spot"] + 6 * em, 121)
    strikes = strikes[strikes > 0]
    calls = np.full(strikes.shape, is_call)
    # A longer index at 0.5-2x the level, given for every source longer than the ATM one.
    levels = None if m["long"] is None else {
        s: m["level"] * m["long"] for s in SOURCES[SOURCES.index(m["source"]) + 1:]}
    return strikes, leg_marks(DEFAULT, m["spot"], strikes, calls, t, m["source"], m["level"],
                              m["rate"], Q, levels=levels)


@given(market)
@settings(max_examples=60, deadline=None)
def test_prices_positive_and_iv_floored(m):
    for is_call in (False, True):
        _, (price, iv, half) = _strip(m, is_call)
        long = None if m["long"] is None or m["source"] == "vix_close" else (
            m["level"] * m["long"])
        atm = atm_vol(DEFAULT, m["source"], m["level"], m["days"] / 365, long=long)
        assert (price >= 0).all() and np.isfinite(price).all() and (half > 0).all()
        assert (iv >= DEFAULT.iv_floor * atm - 1e-12).all()


@given(market)
@settings(max_examples=60, deadline=None)
def test_calls_fall_and_puts_rise_with_strike(m):
    _, (calls, _, _) = _strip(m, True)
    _, (puts, _, _) = _strip(m, False)
    assert (np.diff(calls) <= 1e-9).all()
    assert (np.diff(puts) >= -1e-9).all()
