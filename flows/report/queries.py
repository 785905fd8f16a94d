"""What the daily report shows, read from the lake: no charting here.

The recommendation and the lit ladder layers are the nightly run's where it stored them
(``recommendations``); only days without a stored one are worked out again by the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from core.clock import utc_now
from flows.pipeline import INPUT_TABLES
from flows.recommend import recommend_day, stored_recommendation
from hedge import rules
from hedge.document import Recommendation, Signal
from hedge.policy import Policy
from storage import schemas
from storage.lake import Lake

HISTORY_DAYS = 365
REPORT_EQUITY = 1_000_000.0  # only when no stored recommendation exists and one is recomputed
FRESHNESS_TABLES = (*INPUT_TABLES, "option_chain", "features_daily", "recommendations")


def history(lake: Lake, day: dt.date, days: int = HISTORY_DAYS) -> pl.DataFrame:
    """features_daily over the ``days`` calendar days up to ``day``, oldest first."""
    first = day - dt.timedelta(days=days)
    return (lake.scan("features_daily", since=first)
            .filter(pl.col("date").is_between(first, day))
            .sort("date").collect())


def day_recommendation(lake: Lake, day: dt.date, policy: Policy) -> tuple[Recommendation, str]:
    """The recommendation to show and where it came from (stored, or recomputed now)."""
    rec = stored_recommendation(lake, day, policy)
    if rec is not None:
        return rec, "stored by the nightly run"
    rec = recommend_day(lake, day, policy=policy, equity=REPORT_EQUITY, now=utc_now(),
                        store=False)
    return rec, f"recomputed for the report (not stored; equity ${REPORT_EQUITY:,.0f})"


def stored_signals(lake: Lake, hist: pl.DataFrame, policy: Policy) -> dict[dt.date, list[Signal]]:
    """The signals the nightly run stored for days of ``hist``, judged on those very rows.

    A stored recommendation counts only under ``policy`` and when it was computed from the
    features row ``hist`` holds now (same feature set, stamped no later): otherwise the
    rules would judge different inputs, and the day is left to them.
    """
    if not hist.height:
        return {}
    first, last = hist.select(pl.col("date").min(), pl.col("date").max().alias("last")).row(0)
    rows = (lake.scan("recommendations", since=first, until=last)
            .filter(pl.col("date").is_between(first, last),
                    pl.col("policy_version") == policy.version)
            .select("date", "feature_set_version", "computed_at", "document")
            .join(hist.lazy().select("date", "feature_set_version",
                                     pl.col("computed_at").alias("features_at")),
                  on=["date", "feature_set_version"])
            .filter(pl.col("computed_at") >= pl.col("features_at"))
            .sort("computed_at").unique("date", keep="last").collect())
    return {day: Recommendation.model_validate_json(doc).signals
            for day, doc in rows.select("date", "document").iter_rows()}


def lit_layers_by_day(hist: pl.DataFrame, policy: Policy,
                      stored: Mapping[dt.date, list[Signal]]) -> pl.DataFrame:
    """(date, layer) for every ladder layer the rules light on each day of ``hist``.

    A day's signals are the ``stored`` ones (see ``stored_signals``) or evaluated afresh.
    """
    # The rules are per-row Python by design (they explain themselves); a year is ~252 rows.
    pairs = [(row["date"], layer) for row in hist.iter_rows(named=True)
             for layer in rules.lit_layers(_signals(row, policy, stored), policy)[0]]
    return pl.DataFrame(pairs, schema={"date": pl.Date(), "layer": pl.String()}, orient="row")


def _signals(row: dict[str, Any], policy: Policy,
             stored: Mapping[dt.date, list[Signal]]) -> list[Signal]:
    """``row``'s signals: the stored ones, else the rules' on the row."""
    known = stored.get(row["date"])
    return known if known is not None else rules.evaluate_signals(rules.features_row(row),
                                                                  policy)


def session_on_or_before(hist: pl.DataFrame, day: dt.date) -> dt.date | None:
    """The latest day of ``hist`` on or before ``day``."""
    return hist.filter(pl.col("date") <= day)["date"].max()  # type: ignore[return-value]


def curve_days(hist: pl.DataFrame, day: dt.date) -> dict[str, dt.date]:
    """The sessions whose VX curves the chart compares: ``day``, a week and a month before."""
    return {label: d for label, d in (
        ("today", day), ("1 week ago", session_on_or_before(hist, day - dt.timedelta(days=7))),
        ("1 month ago", session_on_or_before(hist, day - dt.timedelta(days=30))))
        if d is not None}


def vx_curves(lake: Lake, days: dict[str, dt.date]) -> pl.DataFrame:
    """VX settles by days to expiry on each of ``days`` (label, trade_date, dte, settle)."""
    labels = pl.DataFrame({"label": list(days), "trade_date": list(days.values())},
                          schema={"label": pl.String(), "trade_date": pl.Date()})
    return (lake.scan("vx_futures")
            .filter(pl.col("trade_date").is_in(list(days.values())),
                    pl.col("expiry") > pl.col("trade_date"), pl.col("settle").is_not_null())
            .select("trade_date", "expiry", "settle").collect()
            .join(labels, on="trade_date")
            .with_columns(dte=(pl.col("expiry") - pl.col("trade_date")).dt.total_days())
            .sort("trade_date", "dte"))


def freshness(lake: Lake, day: dt.date) -> pl.DataFrame:
    """Per table: rows, last date, its age in days at ``day`` and the last stamp."""
    frames = []
    for name in FRESHNESS_TABLES:
        t = schemas.get(name)
        stamp = next((c for c in ("ingested_at", "computed_at") if c in t.columns), None)
        frames.append(lake.scan(name).select(
            pl.lit(name).alias("table"), pl.len().alias("rows"),
            pl.col(t.date_col).max().alias("last_date"),
            (pl.col(stamp).max() if stamp else pl.lit(None, schemas.UTC_TS)).alias("last_stamp"),
        ).collect())
    return pl.concat(frames).with_columns(
        age_days=(pl.lit(day) - pl.col("last_date")).dt.total_days())
