"""The 1DTE SPX model: properties, and leave-one-out condor credits on the real SPXW chains."""

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
    DEFAULT,
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
WING, STEP = 25.0, 5.0


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


# ---------------------------------------------------------------- the engine's condor, by hand
def _round_out(x: float, up: bool) -> float:
    n = x / STEP
    return STEP * (math.ceil(n - 1e-9) if up else math.floor(n + 1e-9))


def _listed(strikes: list[float], target: float, up: bool) -> float:
    beyond = [k for k in strikes if (k >= target - 1e-9 if up else k <= target + 1e-9)]
    return min(beyond) if up else max(beyond)


def _condor(chain: pl.DataFrame, lv: dict, day: dt.date):
    """The engine's strikes (recommend.condor_strikes' rule) on listed SPXW strikes, and mids."""
    quotes = chain.filter((pl.col("quote_date") == day) & (pl.col("root") == "SPXW")
                          & (pl.col("expiration") == next_session(day))
                          & pl.col("bid").is_not_null() & (pl.col("ask") >= pl.col("bid"))
                          ).with_columns(mid=(pl.col("bid") + pl.col("ask")) / 2)
    spx = lv["spx_close"]
    em = spx * (lv["vix1d_close"] or lv["vix_close"]) / 100.0 / math.sqrt(252.0)
    k = 1.5 if lv["vix_close"] < 20 else 2.0
    puts = sorted(quotes.filter(pl.col("right") == "P")["strike"].to_list())
    calls = sorted(quotes.filter(pl.col("right") == "C")["strike"].to_list())
    sp = _listed(puts, _round_out(spx - k * em, up=False), up=False)
    sc = _listed(calls, _round_out(spx + k * em, up=True), up=True)
    strikes = np.array([_listed(puts, sp - WING, up=False), sp, sc,
                        _listed(calls, sc + WING, up=True)])
    is_call = np.array([False, False, True, True])
    mids = [quotes.filter((pl.col("strike") == s) & (pl.col("right") == ("C" if c else "P"))
                          )["mid"].item() for s, c in zip(strikes, is_call, strict=True)]
    return strikes, is_call, np.array(mids)


def _credit(p: np.ndarray) -> float:
    return float(p[1] - p[0] + p[2] - p[3])


@pytest.fixture(scope="module")
def loo(real):
    """Leave-one-out: fit on the other days, price the day's condor at its strikes."""
    chain, levels, points = real
    rows = []
    for day in USABLE:
        model = fit_spx(points.filter(pl.col("quote_date") != day), q=Q)
        lv = levels.filter(pl.col("date") == day).row(0, named=True)
        strikes, is_call, mids = _condor(chain, lv, day)
        source, level = atm_source(lv)
        price, _, _ = leg_marks(model, lv["spx_close"], strikes, is_call,
                                settle_years(day, next_session(day)), source, level,
                                lv["rate"], Q, levels=lv)
        rows.append({"day": day, "weekday": day.strftime("%a"), "source": source,
                     "level": level, "strikes": "/".join(f"{s:g}" for s in strikes),
                     "mid_credit": _credit(mids), "model_credit": _credit(price),
                     "ratio": _credit(price) / _credit(mids)})
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_width_chars=160, float_precision=3):
        print(table)
    return table


# ---------------------------------------------------------------- real data
@realdata
def test_points_are_the_end_of_day_next_session_days(real):
    _, _, points = real
    assert sorted(points["quote_date"].unique().to_list()) == USABLE
    assert (points["expiration"] == points["quote_date"].map_elements(
        next_session, return_dtype=pl.Date)).all()
    assert (points["mid"] > 0).all() and (points["z_em"].abs() <= 5).all()


@realdata
def test_default_is_the_fit_to_every_usable_day(real):
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


@realdata
def test_leave_one_out_median_credit_ratio(loo):
    assert 0.8 <= loo["ratio"].median() <= 1.25


@realdata
@pytest.mark.xfail(strict=True, reason=(
    "measured with the VIX9D blend (long_weight): 0.489 1.071 1.365 0.848 1.216 0.906 1.096 "
    "0.719, median 0.989; every VIX1D day passes, 2022-02-04 (VIX9D only, a Friday) stays at "
    "0.49: 0.52 even fitted in-sample, its put wing ~2x the model's (the chain's parity "
    "forward is 4.7 points under the close's), beyond what the closes tell"))
def test_leave_one_out_credit_ratio_every_day(loo):
    assert loo["ratio"].is_between(0.67, 1.5).all()


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


def test_from_dict_fills_a_missing_long_weight_with_the_shortest_index_alone():
    old = DEFAULT.to_dict()
    del old["long_weight"]
    assert SpxModel.from_dict(old).long_weight == 0.0


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
