"""Event-calendar features: FOMC, CPI and PPI days."""

from __future__ import annotations

import polars as pl

from features.config import EventsConfig

KINDS = ("fomc", "cpi", "ppi")


def event_flags(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event date with is_fomc_day, is_cpi_day, is_ppi_day."""
    return events.group_by("date").agg(
        (pl.col("kind") == k).any().alias(f"is_{k}_day") for k in KINDS)


def next_fomc(events: pl.LazyFrame) -> pl.LazyFrame:
    """FOMC dates, sorted, as the right side of a forward as-of join."""
    return (events.filter(pl.col("kind") == "fomc").select(pl.col("date").alias("next_fomc"))
            .unique().sort("next_fomc"))


def days_to_fomc(max_gap_days: int) -> pl.Expr:
    """Calendar days to the next FOMC decision (0 on the day); null past the calendar's cover."""
    days = (pl.col("next_fomc") - pl.col("date")).dt.total_days()
    return pl.when(days <= max_gap_days).then(days).alias("days_to_fomc")


def with_events(days: pl.LazyFrame, events: pl.LazyFrame,
                cfg: EventsConfig | None = None) -> pl.LazyFrame:
    """Attach the event flags and days_to_fomc to the trading-day grid."""
    flagged = days.join(event_flags(events), on="date", how="left").with_columns(
        pl.col(f"is_{k}_day").fill_null(False) for k in KINDS)
    joined = flagged.sort("date").join_asof(next_fomc(events), left_on="date",
                                            right_on="next_fomc", strategy="forward")
    max_gap = (cfg or EventsConfig()).max_fomc_gap_days
    return joined.with_columns(days_to_fomc(max_gap)).drop("next_fomc")
