"""The NYSE (XNYS) calendar every layer uses: sessions, holidays, the next session.

One range, FIRST..LAST, covers all of it: the VIX history (1990 on), every VX contract (2004
on) and long-dated options. exchange_calendars is the source; importing it and building the
calendar costs ~0.5 s and ~80 MiB a process, so its sessions are kept in the user's cache
directory, one file per exchange_calendars version (an upgrade that adds a closure is read).
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

FIRST, LAST = dt.date(1980, 1, 1), dt.date(2045, 12, 31)


@lru_cache(maxsize=1)
def xnys() -> Any:
    """The exchange_calendars XNYS calendar for FIRST..LAST."""
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3 deprecation warning internally.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return xcals.get_calendar("XNYS", start=FIRST.isoformat(), end=LAST.isoformat())


@lru_cache(maxsize=1)
def nyse_sessions() -> pl.Series:
    """Every NYSE session date from FIRST to LAST, sorted, as a Date series ``date``."""
    path = _cache_file()
    try:
        days = np.load(path)
        if days.dtype != np.dtype("datetime64[D]") or len(days) < 2:
            raise ValueError(f"{path}: not a session list")
    except (OSError, ValueError):  # not cached yet, or a torn or foreign file
        days = _library_sessions()
        _save(path, days)
    return pl.Series("date", days).cast(pl.Date)


def _library_sessions() -> np.ndarray:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return np.asarray(xnys().sessions.values.astype("datetime64[D]"))


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    version = metadata.version("exchange_calendars")
    return Path(base) / "alvh" / f"xnys-{version}-{FIRST}-{LAST}.npy"


def _save(path: Path, days: np.ndarray) -> None:
    """Write ``days`` to ``path`` whole or not at all (a cache: failing to write is fine)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.save(f, days)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def trading_days(start: dt.date, end: dt.date) -> pl.Series:
    """NYSE sessions in [start, end], as a Date series named ``date``."""
    days = nyse_sessions()
    return days.filter((days >= start) & (days <= end))


@lru_cache(maxsize=1)
def session_dates() -> tuple[dt.date, ...]:
    """``nyse_sessions`` as a sorted tuple of dates, for ``bisect`` in per-day loops."""
    return tuple(nyse_sessions().to_list())


def is_session(day: dt.date) -> bool:
    """True when NYSE trades on ``day``."""
    sessions = session_dates()
    i = bisect.bisect_left(sessions, day)
    return i < len(sessions) and sessions[i] == day


def next_session(day: dt.date) -> dt.date:
    """The first NYSE session after ``day``."""
    # A bisect of the cached calendar: a polars query here cost ~2 ms a call, the largest
    # single cost of a backtest session.
    sessions = session_dates()
    return sessions[bisect.bisect_right(sessions, day)]


@lru_cache(maxsize=1)
def exchange_holidays() -> pl.Series:
    """Weekdays in FIRST..LAST on which the NYSE (and CBOE, CFE) did not trade."""
    weekdays = pl.Series(np.arange(
        np.datetime64(FIRST), np.datetime64(LAST) + 1, dtype="datetime64[D]"
    )).cast(pl.Date)
    weekdays = weekdays.filter(weekdays.dt.weekday() <= 5)
    return weekdays.filter(~weekdays.is_in(nyse_sessions().implode())).alias("holiday")
