"""Which sessions had a listed SPX (SPXW) expiry: the next-day condor was really tradable.

Listing history (Cboe product announcements and Options Hub posts, 2016-2022):
- Friday: SPX Weeklys (SPXW, PM-settled) since October 2005; with the standard monthly SPX
  every Friday has an expiry. When the Friday is a holiday the weekly expires the session
  before, so the last session of every week counts.
- Wednesday: SPXW Wednesday expiries listed from 2016-02-23, first expiry 2016-03-02.
- Monday: SPXW Monday expiries listed from 2016-08-15, first expiry 2016-08-22.
- Tuesday: listed from 2022-04-18, first expiry taken as 2022-04-26.
- Thursday: listed from 2022-05-11, first expiry taken as 2022-05-19.
End-of-month and quarterly expiries on other weekdays before 2016 are not counted (the flag
errs towards "not listed").
"""

from __future__ import annotations

import datetime as dt

import polars as pl

# weekday (Monday = 1) -> first expiry of that weekday's SPXW series
FIRST_EXPIRY = {5: dt.date(2005, 10, 28), 3: dt.date(2016, 3, 2), 1: dt.date(2016, 8, 22),
                2: dt.date(2022, 4, 26), 4: dt.date(2022, 5, 19)}


def spx_listed(expiries: pl.Expr, last_of_week: pl.Expr) -> pl.Expr:
    """True where an SPX/SPXW series expired on ``expiries`` (a session date)."""
    by_weekday = pl.lit(False)
    for weekday, first in FIRST_EXPIRY.items():
        by_weekday = by_weekday | ((expiries.dt.weekday() == weekday) & (expiries >= first))
    friday_series = last_of_week & (expiries >= FIRST_EXPIRY[5])
    return (by_weekday | friday_series).alias("spx_listed")


def listed_sessions(sessions: list[dt.date]) -> dict[dt.date, bool]:
    """For each session, whether it was an SPX expiry day."""
    frame = pl.DataFrame({"date": sessions}, schema={"date": pl.Date}).with_columns(
        pl.col("date").dt.truncate("1w").alias("week"))
    last = pl.col("date") == pl.col("date").max().over("week")
    out = frame.select("date", spx_listed(pl.col("date"), last))
    return dict(zip(out["date"], out["spx_listed"], strict=True))
