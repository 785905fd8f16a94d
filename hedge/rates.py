"""The risk-free rate for day D from macro_observations, point in time."""

from __future__ import annotations

import datetime as dt

import polars as pl

# DTB3 first (ALVH.md "Rates from DTB3 (or SOFR)"); both are published in percent.
RATE_SERIES = ("DTB3", "SOFR")


def risk_free_rate(macro: pl.DataFrame | pl.LazyFrame, day: dt.date,
                   series: tuple[str, ...] = RATE_SERIES) -> tuple[str, float] | None:
    """The latest observation published by ``day`` of the first series that has one.

    Args:
        macro: ``macro_observations`` rows (series_id, date, value, available_at).
        day: Day D; only observations with ``available_at <= day`` and ``date <= day`` count.
        series: Series ids in order of preference.

    Returns:
        (series id, rate as a decimal), or None when no series has a value by ``day``.
    """
    seen = macro.lazy().filter(
        pl.col("series_id").is_in(series) & (pl.col("available_at") <= day)
        & (pl.col("date") <= day) & pl.col("value").is_not_null()
    ).sort("date").group_by("series_id").agg(pl.col("value").last()).collect()
    for sid in series:
        hit = seen.filter(pl.col("series_id") == sid)
        if not hit.is_empty():
            return sid, float(hit["value"][0]) / 100.0
    return None
