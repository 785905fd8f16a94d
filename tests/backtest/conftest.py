import datetime as dt

import pytest

from tests.backtest.real_lake import shared_inputs, truncated, write_lake
from tests.conftest import shared

FIRST, LAST, CUT = dt.date(2017, 12, 1), dt.date(2018, 3, 31), dt.date(2018, 2, 5)


@pytest.fixture(scope="session")
def real_inputs():
    shared("cboe", "SPX_History.csv")
    return shared_inputs()


@pytest.fixture(scope="session")
def real_lake(real_inputs, tmp_path_factory):
    """A lake of the real data with features for 2017-12..2018-03."""
    return write_lake(tmp_path_factory.mktemp("real") / "lake", real_inputs, FIRST, LAST)


@pytest.fixture(scope="session")
def cut_lake(real_inputs, tmp_path_factory):
    """The same lake as it stood after the close of 2018-02-05."""
    return write_lake(tmp_path_factory.mktemp("cut") / "lake", truncated(real_inputs, CUT),
                      FIRST, CUT)
