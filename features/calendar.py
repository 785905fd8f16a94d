"""NYSE trading days from exchange_calendars (XNYS), cached per process."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import polars as pl

_FIRST = dt.date(1990, 1, 1)


@lru_cache(maxsize=4)
def _sessions(last_year: int) -> pl.Series:
    """Every XNYS session from 1990 to the end of ``last_year`` (building one costs ~0.5 s)."""
    cal = xcals.get_calendar("XNYS", start=_FIRST.isoformat(), end=f"{last_year}-12-31")
    return pl.Series("date", cal.sessions.values.astype("datetime64[D]")).cast(pl.Date)


def trading_days(start: dt.date, end: dt.date) -> pl.Series:
    """NYSE sessions in [start, end], as a Date series named ``date``."""
    days = _sessions(end.year + 1)
    return days.filter((days >= start) & (days <= end))
