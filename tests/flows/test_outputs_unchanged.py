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
    "recommend 2018-02-05": "7542bca4537e6b28f598bda087ef4765692619a941042afa6980db75f2e9ffa4",
    "recommend 2020-03-16": "c711915355bb4f7cf06ade5fe5d2f9481a977ab45bbff0a7d1eca57ddb047f3d",
    "recommend 2021-11-19": "c5e584ea618fd4f10da8f920c7d598779d2af965a7f754632f7cd9cd2317691c",
    "recommend 2025-03-14": "d2ea4c9c62479f0660e6400813b359c12afcc9bb46ed521eaebbd4743787fd6e",
}


def test_real_outputs_are_unchanged():
    shared("cboe", "SPX_History.csv")
    assert digests() == RECORDED
