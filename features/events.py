"""Event-calendar features: FOMC, CPI and PPI days.

Each event type's calendar covers the days from its first to its last listed date. Outside
that range a day flag is unknown (null), not False: "no CPI today" and "no CPI calendar"
are different answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from features.feature import BOOL, EV, I64, Feature

if TYPE_CHECKING:
    from features.config import FeatureConfig

KINDS = ("fomc", "cpi", "ppi")


def event_flags(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event date with is_fomc_day, is_cpi_day, is_ppi_day."""
    return events.group_by("date").agg(
        (pl.col("kind") == k).any().alias(f"is_{k}_day") for k in KINDS)


def coverage(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row: the first and last listed date of each event type (null: none listed)."""
    return events.select(*[e for k in KINDS for e in (
        pl.col("date").filter(pl.col("kind") == k).min().alias(f"_{k}_first"),
        pl.col("date").filter(pl.col("kind") == k).max().alias(f"_{k}_last"))])


def next_fomc(events: pl.LazyFrame) -> pl.LazyFrame:
    """FOMC dates, sorted, as the right side of a forward as-of join."""
    return (events.filter(pl.col("kind") == "fomc").select(pl.col("date").alias("next_fomc"))
            .unique().sort("next_fomc"))


def with_calendars(days: pl.LazyFrame, events: pl.LazyFrame) -> pl.LazyFrame:
    """The grid with what the event features read from the calendar.

    ``is_<kind>_day`` (an event listed that day; null: no event at all), each calendar's cover
    ``_<kind>_first`` and ``_<kind>_last``, and ``next_fomc`` (the next FOMC decision).
    """
    flagged = (days.join(event_flags(events), on="date", how="left")
               .join(coverage(events), how="cross"))
    return flagged.sort("date").join_asof(next_fomc(events), left_on="date",
                                          right_on="next_fomc", strategy="forward")


def _day_flag(listed: pl.Expr, date: pl.Expr, first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """An event of the type that day; null outside its calendar's range (first to last)."""
    return pl.when(date.is_between(first, last)).then(listed.fill_null(False))


def _days_to_fomc(date: pl.Expr, next_fomc: pl.Expr, _fomc_first: pl.Expr,
                  _fomc_last: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Calendar days to the next FOMC decision; null past the calendar's cover or its holes."""
    days = (next_fomc - date).dt.total_days()
    covered = date.is_between(_fomc_first, _fomc_last)
    return pl.when(covered & (days <= cfg.events.max_fomc_gap_days)).then(days)


FAMILY = "events"
# Computed on with_calendars' columns; a day flag reads the column of its own name (the
# event listed that day) and turns it into known-or-unknown.
FEATURES = (
    Feature("is_fomc_day", FAMILY, "FOMC decision day; null outside the range of the FOMC "
            "calendar", "flag", BOOL, (EV,),
            lambda is_fomc_day, date, _fomc_first, _fomc_last:
            _day_flag(is_fomc_day, date, _fomc_first, _fomc_last)),
    Feature("is_cpi_day", FAMILY, "CPI release day; null outside the range of the CPI calendar",
            "flag", BOOL, (EV,),
            lambda is_cpi_day, date, _cpi_first, _cpi_last:
            _day_flag(is_cpi_day, date, _cpi_first, _cpi_last)),
    Feature("is_ppi_day", FAMILY, "PPI release day; null outside the range of the PPI calendar",
            "flag", BOOL, (EV,),
            lambda is_ppi_day, date, _ppi_first, _ppi_last:
            _day_flag(is_ppi_day, date, _ppi_first, _ppi_last)),
    Feature("events_stale", FAMILY, "Some event type's calendar does not cover the day (or no "
            "FOMC decision is listed within 100 days after it): those flags are null",
            "flag", BOOL, (EV,),
            lambda is_fomc_day, is_cpi_day, is_ppi_day, days_to_fomc: pl.any_horizontal(
                is_fomc_day.is_null(), is_cpi_day.is_null(), is_ppi_day.is_null(),
                days_to_fomc.is_null())),
    Feature("days_to_fomc", FAMILY, "Calendar days to the next FOMC decision (0 on the day); "
            "null outside the FOMC calendar", "days", I64, (EV,),
            _days_to_fomc, valid_min=0, valid_max=400),
)
