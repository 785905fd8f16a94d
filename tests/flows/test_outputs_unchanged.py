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
    "recommend 2018-02-05": "347347f8a26671e9250a85799ccbc59b784fff21502920595fb26d554acea688",
    "recommend 2020-03-16": "f628656de7e03278c287e31f0ea663ac78c80522cb9f90a4d8723297a4777d3a",
    "recommend 2021-11-19": "5c8efbabda1803cc67ba03eea9bc1fbb0d225338d85c75fe17f80d90dd269a40",
    "recommend 2025-03-14": "b7c7cd11929484b488a60bd5fd5cadfcce50329a56ffc5c98330cbb3c6c3d971",
}


def test_real_outputs_are_unchanged():
    shared("cboe", "SPX_History.csv")
    assert digests() == RECORDED
