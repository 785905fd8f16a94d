"""features_daily and the recommendation on the real data, byte for byte as recorded after
the pricing calibration (vix9d_close added, the calibrated 1DTE and VIX call models): a
restructure must not change what alvh computes. A deliberate change of outputs re-records
them with ``python -m tests.real_outputs``."""

import pytest

from tests.conftest import shared
from tests.real_outputs import digests

pytestmark = pytest.mark.realdata

RECORDED = {
    "features_daily": "3aace6155ade52c9a9ec7ee3b3f61b3a7ee3542aef09c97273365d93e5c43a6f",
    "recommend 2018-02-05": "46690c5e5a860b19029fc70a4ee30bb728f772a4e33cd907c7580933c253a99d",
    "recommend 2020-03-16": "c37bddff0874bf901c2c2b74bf81081900a46458707c297a24df7862e3f4f0c6",
    "recommend 2021-11-19": "fb8e0706aea217be643ffa6868873dc6890bed1a86b99a4379a75328389e9429",
    "recommend 2025-03-14": "f82a0b82c903469668eef0b44a50ebe5c99d3ef992e34f0e6683bbd7f53848da",
}


def test_real_outputs_are_unchanged():
    shared("cboe", "SPX_History.csv")
    assert digests() == RECORDED
