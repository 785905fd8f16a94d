"""The VIX call vol model (hedge.vix_model) and its fit (hedge.vix_fit) on CBOE's VIX option
chain of 2016-06-01 (DataShop EOD file in ../shared/data/options), plus properties."""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedge.vix_fit import fit_vix, vix_errors, vix_points
from hedge.vix_model import VixModel, call_price, call_vol, call_vols, half_spread
from sources import cboe, cfe, fred
from sources.chains import parse_datashop
from tests.conftest import shared
from tests.hedge.rows import shipped_vix

DEFAULT = shipped_vix()  # the policy's [pricing.vix_model]

DAY = dt.date(2016, 6, 1)
CHAIN = ("options", "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv")
VX = ("vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv")

pytestmark = pytest.mark.realdata


def _parsed(parse, *parts):
    path = shared(*parts)
    return parse(path.read_bytes(), path.name)


@pytest.fixture(scope="module")
def points() -> pl.DataFrame:
    chain = _parsed(parse_datashop, *CHAIN)
    vx = _parsed(cfe.parse, *VX).filter(pl.col("trade_date") == DAY)
    vvix = dict(_parsed(cboe.parse, "cboe", "VVIX_History.csv").select("date", "close")
                .iter_rows())
    rate = {d: v / 100 for d, v in _parsed(fred.parse, "fred", "DTB3.csv")
            .select("date", "value").iter_rows()}
    return vix_points(chain, vx, vvix, rate)


@pytest.fixture(scope="module")
def errors(points) -> pl.DataFrame:
    return vix_errors(DEFAULT, points)


def test_points_are_the_six_vx_expiries_inside_the_window(points):
    assert points["expiration"].unique().sort().to_list() == [
        dt.date(2016, 6, 15), dt.date(2016, 7, 20), dt.date(2016, 8, 17),
        dt.date(2016, 9, 21), dt.date(2016, 10, 19), dt.date(2016, 11, 16)]
    assert points["vvix"].unique().to_list() == [78.93]
    assert (points["strike"] / points["forward"]).is_between(0.8, 2.0).all()
    assert points["market_vol"].is_between(0.3, 2.0).all() and points.height > 100


def test_default_prices_every_ladder_tenor_within_15_percent_of_mid(errors):
    # In sample: DEFAULT was fitted on this chain, the only VIX chain the data holds; the
    # out-of-sample check is the VXTH rebuild (tests/backtest/test_vxth.py).
    print(errors.select("dte", "ladder_strike", "ladder_mid", "ladder_model", "ladder_ratio",
                        "median_abs_error"))
    tenors = errors.filter(pl.col("dte").is_between(14, 168))
    assert tenors["dte"].to_list() == [14, 49, 77, 112, 140, 168]
    assert (tenors["ladder_ratio"] - 1).abs().max() < 0.15
    # Across each tenor's quotes (0.8-2.0 x F), not just the ladder's strike.
    assert tenors["median_abs_error"].max() < 0.10


def test_the_fit_reproduces_default(points):
    fitted = fit_vix(points, DEFAULT).to_dict()
    for name, value in DEFAULT.to_dict().items():
        assert fitted[name] == pytest.approx(value, rel=2e-3, abs=1e-4), name


def test_half_spread_fits_the_quotes(points):
    half = ((points["ask"] - points["bid"]) / 2).to_numpy()
    model = np.array([half_spread(DEFAULT, m) for m in points["mid"]])
    assert np.median(np.abs(model - half)) <= 0.0125  # a quarter of the 0.05 tick


def test_dict_round_trip_and_bad_keys_are_named():
    assert VixModel.from_dict(DEFAULT.to_dict()) == DEFAULT
    bad = DEFAULT.to_dict()
    del bad["skew"]
    bad["smile"] = 1.0
    with pytest.raises(ValueError, match=r"missing \['skew'\], unknown \['smile'\]"):
        VixModel.from_dict(bad)


VVIX = st.floats(50.0, 200.0)
DTE = st.integers(1, 400)
FWD = st.floats(9.0, 80.0)
MONEYNESS = st.floats(0.5, 4.0)


@given(VVIX, DTE, FWD, MONEYNESS)
def test_vol_is_positive_finite_and_matches_the_array_form(vvix, dte, fwd, m):
    vol = call_vol(DEFAULT, vvix, dte, fwd * m, fwd)
    assert math.isfinite(vol) and vol >= DEFAULT.floor
    assert float(call_vols(DEFAULT, vvix, dte, fwd * m, fwd)) == pytest.approx(vol, rel=1e-12)


@given(VVIX, DTE, FWD, MONEYNESS, st.floats(0.001, 0.5))
def test_price_falls_as_the_strike_rises(vvix, dte, fwd, m, step):
    low = call_price(DEFAULT, vvix, dte, fwd * m, fwd, 0.02)
    high = call_price(DEFAULT, vvix, dte, fwd * m * (1 + step), fwd, 0.02)
    assert 0.0 <= high <= low + 1e-12
