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
    from features.config import EventsConfig

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


def _covered(kind: str) -> pl.Expr:
    return pl.col("date").is_between(pl.col(f"_{kind}_first"), pl.col(f"_{kind}_last"))


def day_flag(kind: str) -> pl.Expr:
    """``is_{kind}_day``: an event of that type today; null outside its calendar's range."""
    return pl.when(_covered(kind)).then(pl.col(f"is_{kind}_day").fill_null(False))


def next_fomc(events: pl.LazyFrame) -> pl.LazyFrame:
    """FOMC dates, sorted, as the right side of a forward as-of join."""
    return (events.filter(pl.col("kind") == "fomc").select(pl.col("date").alias("next_fomc"))
            .unique().sort("next_fomc"))


def days_to_fomc(max_gap_days: int) -> pl.Expr:
    """Calendar days to the next FOMC decision (0 on the day); null past the calendar's cover."""
    days = (pl.col("next_fomc") - pl.col("date")).dt.total_days()
    return pl.when(_covered("fomc") & (days <= max_gap_days)).then(days).alias("days_to_fomc")


def with_events(days: pl.LazyFrame, events: pl.LazyFrame,
                cfg: EventsConfig | None = None) -> pl.LazyFrame:
    """Attach the event flags and days_to_fomc to the trading-day grid."""
    flagged = (days.join(event_flags(events), on="date", how="left")
               .join(coverage(events), how="cross"))
    joined = flagged.sort("date").join_asof(next_fomc(events), left_on="date",
                                            right_on="next_fomc", strategy="forward")
    from features.config import EventsConfig  # pydantic: only when computing

    max_gap = (cfg or EventsConfig()).max_fomc_gap_days
    out = joined.with_columns(*[day_flag(k).alias(f"is_{k}_day") for k in KINDS],
                              days_to_fomc(max_gap))
    return out.drop("next_fomc", *[f"_{k}_{e}" for k in KINDS for e in ("first", "last")])


FAMILY = "events"
# is_*_day and days_to_fomc are columns of the market base, made by with_events.
FEATURES = (
    Feature("is_fomc_day", FAMILY, "FOMC decision day; null outside the range of the FOMC "
            "calendar", "flag", BOOL, (EV,), lambda is_fomc_day: is_fomc_day),
    Feature("is_cpi_day", FAMILY, "CPI release day; null outside the range of the CPI calendar",
            "flag", BOOL, (EV,), lambda is_cpi_day: is_cpi_day),
    Feature("is_ppi_day", FAMILY, "PPI release day; null outside the range of the PPI calendar",
            "flag", BOOL, (EV,), lambda is_ppi_day: is_ppi_day),
    Feature("events_stale", FAMILY, "Some event type's calendar does not cover the day (or no "
            "FOMC decision is listed within 100 days after it): those flags are null",
            "flag", BOOL, (EV,),
            lambda is_fomc_day, is_cpi_day, is_ppi_day, days_to_fomc: pl.any_horizontal(
                is_fomc_day.is_null(), is_cpi_day.is_null(), is_ppi_day.is_null(),
                days_to_fomc.is_null())),
    Feature("days_to_fomc", FAMILY, "Calendar days to the next FOMC decision (0 on the day); "
            "null outside the FOMC calendar", "days", I64, (EV,),
            lambda days_to_fomc: days_to_fomc, valid_min=0, valid_max=400),
)
