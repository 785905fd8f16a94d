"""The risk-free rate for day D from macro_observations, point in time and fresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

# DTB3 first (ALVH.md "Rates from DTB3 (or SOFR)"), then SOFR, then the fed funds rate; all
# are published in percent.
RATE_SERIES = ("DTB3", "SOFR", "DFF")


@dataclass(frozen=True)
class RateQuote:
    """A rate observation: its series, value (decimal), date, and the fresher series it replaced."""

    series_id: str
    value: float
    observed: dt.date
    passed_over: tuple[str, ...] = ()


def risk_free_rate(macro: pl.DataFrame | pl.LazyFrame, day: dt.date, max_age_days: int,
                   series: tuple[str, ...] = RATE_SERIES) -> RateQuote | None:
    """The latest observation published by ``day`` of the first series that is fresh.

    Args:
        macro: ``macro_observations`` rows (series_id, date, value, available_at).
        day: Day D; only observations with ``available_at <= day`` and ``date <= day`` count.
        max_age_days: A series whose latest observation is older (calendar days) is skipped:
            a DTB3 that stopped would otherwise price every later day.
        series: Series ids in order of preference.

    Returns:
        The quote (with the preferred series it passed over, missing or stale), or None when
        no series has a fresh value by ``day``.
    """
    seen = macro.lazy().filter(
        pl.col("series_id").is_in(series) & (pl.col("available_at") <= day)
        & (pl.col("date") <= day) & pl.col("value").is_not_null()
    ).sort("date").group_by("series_id").agg(pl.col("date", "value").last()).collect()
    latest = {r["series_id"]: r for r in seen.iter_rows(named=True)}
    for i, sid in enumerate(series):
        hit = latest.get(sid)
        if hit is not None and (day - hit["date"]).days <= max_age_days:
            return RateQuote(sid, float(hit["value"]) / 100.0, hit["date"], series[:i])
    return None
