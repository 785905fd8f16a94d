"""The ladder's vol model (VVIX x (30 / DTE) ** 0.3) against CBOE's VIX option chain of
2016-06-01 (DataShop EOD file in ../shared/data/options): the finding, pinned."""

import datetime as dt

import pytest

from backtest.market import load_market
from backtest.volcheck import ladder_strike_vols
from hedge.policy import load_policy
from sources.chains import parse_datashop
from tests.conftest import shared

DAY = dt.date(2016, 6, 1)
VVIX = 78.93  # VVIX_History.csv, 2016-06-01

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def check(real_lake):
    path = shared("options", "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv")
    chain = parse_datashop(path.read_bytes(), path.name)
    settles = load_market(real_lake, DAY, DAY, dtes=(30,), max_rate_age=5).settles[DAY]
    return ladder_strike_vols(chain, settles, DAY, VVIX, 0.003, load_policy())


def test_every_listed_expiry_is_checked(check):
    assert check["expiry"].to_list()[0] == dt.date(2016, 6, 15) and check.height >= 6
    assert check["market_vol"].null_count() == 0


def test_model_fits_the_front_month_but_underprices_longer_calls(check):
    front = check.row(0, named=True)
    assert front["dte"] == 14 and abs(front["model_vol"] - front["market_vol"]) < 0.12
    later = check.filter(check["dte"] >= 40)
    # 49-168 days: market 0.66-0.87, model 0.47-0.68: the (30 / DTE) ** 0.3 decay is too
    # steep and the model has no call skew; it prices the L1-L3-like calls 30-45% under mid.
    assert (later["market_vol"] - later["model_vol"]).min() > 0.15
    assert later["price_error"].max() < -0.3 and later["price_error"].min() > -0.5
