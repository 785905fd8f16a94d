import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.calendar import (
    FIRST,
    LAST,
    _library_sessions,
    exchange_holidays,
    is_session,
    next_session,
    nyse_sessions,
    trading_days,
)
from core.clock import trading_day_at

D = dt.date
ET_NOON = dt.time(12, 0)


def test_one_range_covers_sessions_and_holidays():
    sessions = nyse_sessions()
    assert FIRST <= sessions[0] <= D(1980, 1, 3) and D(2045, 12, 27) <= sessions[-1] <= LAST
    holidays = exchange_holidays()
    assert holidays[0] < D(1981, 1, 2) and D(2045, 12, 24) < holidays[-1] <= LAST
    assert D(1987, 12, 25) in holidays.to_list()  # before 2000 too: one range for all


def test_sessions_and_next_session():
    assert is_session(D(2024, 7, 3)) and not is_session(D(2024, 7, 4))
    assert not is_session(D(2024, 7, 6))  # a Saturday
    assert next_session(D(2024, 7, 3)) == D(2024, 7, 5)
    assert next_session(D(2024, 7, 4)) == D(2024, 7, 5)
    assert trading_days(D(2024, 7, 1), D(2024, 7, 5)).to_list() == [
        D(2024, 7, 1), D(2024, 7, 2), D(2024, 7, 3), D(2024, 7, 5)]


def test_trading_day_rule_morning_catch_up_is_for_the_day_before():
    evening = dt.datetime(2024, 7, 3, 22, 30, tzinfo=dt.UTC)  # 18:30 ET
    morning = dt.datetime(2024, 7, 4, 10, 30, tzinfo=dt.UTC)  # 06:30 ET
    assert trading_day_at(evening) == D(2024, 7, 3)
    assert trading_day_at(morning) == D(2024, 7, 3)
    assert trading_day_at(dt.datetime(2024, 7, 3, 16, 0, tzinfo=dt.UTC)) == D(2024, 7, 3)


def _sessions_in_a_process(cache: Path) -> tuple[str, bool]:
    code = ("import sys; from core.calendar import nyse_sessions; s = nyse_sessions(); "
            "print(s.len(), s[0], s[-1], 'exchange_calendars' in sys.modules)")
    env = os.environ | {"XDG_CACHE_HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout.split()
    return " ".join(out[:3]), out[3] == "True"


def test_sessions_come_from_exchange_calendars_once_then_from_the_cache(tmp_path):
    first, imported = _sessions_in_a_process(tmp_path)
    assert imported
    (cached,) = (tmp_path / "alvh").glob("xnys-*-1980-01-01-2045-12-31.npy")
    assert np.array_equal(np.load(cached), _library_sessions())
    again, imported = _sessions_in_a_process(tmp_path)
    assert (again, imported) == (first, False)
    cached.write_bytes(b"torn")  # a broken cache is rebuilt from the library
    assert _sessions_in_a_process(tmp_path) == (first, True)
    assert np.load(cached).dtype == np.dtype("datetime64[D]")
