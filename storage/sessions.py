"""NYSE (XNYS) sessions: the one exchange calendar every layer uses, built once a process."""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache
from typing import Any

import exchange_calendars as xcals
import polars as pl

FIRST, LAST = dt.date(1980, 1, 1), dt.date(2045, 12, 31)


@lru_cache(maxsize=1)
def xnys() -> Any:
    """The exchange_calendars XNYS calendar for FIRST..LAST (building one costs ~0.2 s)."""
    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3 deprecation warning internally.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return xcals.get_calendar("XNYS", start=FIRST.isoformat(), end=LAST.isoformat())


@lru_cache(maxsize=1)
def nyse_sessions() -> pl.Series:
    """Every NYSE session date from FIRST to LAST, sorted, as a Date series ``date``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        days = xnys().sessions.values.astype("datetime64[D]")
    return pl.Series("date", days).cast(pl.Date)


def trading_days(start: dt.date, end: dt.date) -> pl.Series:
    """NYSE sessions in [start, end], as a Date series named ``date``."""
    days = nyse_sessions()
    return days.filter((days >= start) & (days <= end))


@lru_cache(maxsize=1)
def session_dates() -> tuple[dt.date, ...]:
    """``nyse_sessions`` as a sorted tuple of dates, for ``bisect`` in per-day loops."""
    return tuple(nyse_sessions().to_list())
