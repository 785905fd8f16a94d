"""Small slices of ../shared/data in the lake tables' schemas, read with plain polars."""

from __future__ import annotations

import datetime as dt

import polars as pl

from storage import schemas
from tests.conftest import NOW, shared

YEAR = 2024


def _stamp(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    frame = frame.with_columns(pl.lit(NOW).cast(schemas.UTC_TS).alias("ingested_at"))
    return schemas.get(table).conform(frame)


def index_daily() -> pl.DataFrame:
    """CBOE VIX, first half of 2024."""
    raw = pl.read_csv(shared("cboe", "VIX_History.csv"))
    frame = raw.rename(str.lower).with_columns(
        pl.col("date").str.to_date("%m/%d/%Y"), symbol=pl.lit("VIX"))
    return _stamp(frame.filter(pl.col("date").is_between(dt.date(YEAR, 1, 1),
                                                         dt.date(YEAR, 6, 30))), "index_daily")


def vx_expiry(month: pl.Expr) -> pl.Expr:
    """The Wednesday 30 days before the third Friday of the month after ``month`` (a Date)."""
    nxt = month.dt.offset_by("1mo")
    third_friday = nxt.dt.offset_by(((5 - nxt.dt.weekday()) % 7 + 14).cast(pl.String) + "d")
    return third_friday.dt.offset_by("-30d")


def vx_futures() -> pl.DataFrame:
    """CFE VX monthly contracts, Q1 2024 (settle 0.0 means no settlement: null)."""
    raw = pl.read_csv(shared("vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv"))
    month = pl.col("Futures").str.extract(r"\((\w+ \d{4})\)").str.to_date("%b %Y")
    frame = raw.select(
        pl.col("Trade Date").str.to_date().alias("trade_date"),
        vx_expiry(month).alias("expiry"),
        pl.format("VX/{}{}", pl.col("Futures").str.slice(0, 1),
                  pl.col("Futures").str.slice(-3, 2)).alias("symbol"),
        pl.col("Open").alias("open"), pl.col("High").alias("high"), pl.col("Low").alias("low"),
        pl.col("Close").alias("close"),
        pl.when(pl.col("Settle") > 0).then(pl.col("Settle")).alias("settle"),
        pl.col("Change").alias("change"), pl.col("Total Volume").alias("volume"),
        pl.col("Open Interest").alias("open_interest"),
        (pl.col("Total Volume") == 0).alias("no_trade"))
    frame = frame.filter(pl.col("trade_date").is_between(dt.date(YEAR, 1, 1),
                                                         dt.date(YEAR, 3, 31)))
    return _stamp(frame.sort("trade_date", "expiry"), "vx_futures")


def breadth_daily() -> pl.DataFrame:
    """NYSE advancers, decliners, unchanged, new highs and lows for 2024."""
    def one(name: str, col: str) -> pl.DataFrame:
        raw = pl.read_csv(shared("breadth", name), infer_schema_length=None)
        return raw.select(pl.col("time").str.to_date().alias("date"),
                          pl.col("close").cast(pl.Float64).round().cast(pl.Int64).alias(col))

    frame = one("NYSE_ADV_advancing_issues.csv", "advancers")
    for name, col in [("NYSE_DECL_declining_issues.csv", "decliners"),
                      ("NYSE_UCHG_unchanged_issues.csv", "unchanged"),
                      ("NYSE_MAHN_new_highs.csv", "new_highs"),
                      ("NYSE_MALN_new_lows.csv", "new_lows")]:
        frame = frame.join(one(name, col), on="date", how="left")
    return _stamp(frame.filter(pl.col("date").dt.year() == YEAR).sort("date"), "breadth_daily")


def macro_observations() -> pl.DataFrame:
    """FRED DFF for 2024, first vintage published the next day."""
    raw = pl.read_csv(shared("fred", "derived_from_heliar", "DFF.csv"))
    date = pl.col("observation_date").str.to_date()
    frame = raw.select(pl.lit("DFF").alias("series_id"), date.alias("date"),
                       pl.col("DFF").cast(pl.Float64).alias("value"),
                       date.dt.offset_by("1d").alias("realtime_start"),
                       date.dt.offset_by("1d").alias("available_at"))
    return _stamp(frame.filter(pl.col("date").dt.year() == YEAR), "macro_observations")


def events() -> pl.DataFrame:
    """FOMC decision days 2024-2026 from the macro calendar."""
    raw = pl.read_csv(shared("calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv"))
    frame = raw.select(pl.col("event_date").str.to_date().alias("date"),
                       pl.col("event_type").alias("kind")).filter(pl.col("kind") == "fomc")
    return _stamp(frame.unique().sort("date"), "events")


def option_chain() -> pl.DataFrame:
    """A few literal SPX quotes (the quotedata export is too involved to parse here)."""
    q, snap = dt.date(2024, 3, 15), dt.datetime(2024, 3, 15, 21, 15, tzinfo=dt.UTC)
    rows = [
        ("SPXW", dt.date(2024, 3, 22), 5000.0, "P", 8.1, 8.4, 8.2, 1200, 15000, 0.18, -0.12),
        ("SPXW", dt.date(2024, 3, 22), 5000.0, "C", 118.0, 119.6, 118.5, 80, 900, 0.14, 0.88),
        ("SPXW", dt.date(2024, 3, 22), 5200.0, "P", 92.0, 93.4, 92.3, 400, 3000, 0.12, -0.55),
        ("SPXW", dt.date(2024, 3, 22), 5200.0, "C", 14.2, 14.6, 14.3, 5200, 21000, 0.11, 0.45),
        ("SPX", dt.date(2024, 4, 19), 4800.0, "P", 9.9, 10.3, 10.1, 300, 42000, 0.19, -0.06),
        ("SPX", dt.date(2024, 4, 19), 4800.0, "C", 0.0, 0.05, None, 0, 10, None, None),
    ]
    frame = pl.DataFrame(rows, orient="row", schema=[
        "root", "expiration", "strike", "right", "bid", "ask", "last", "volume",
        "open_interest", "iv", "delta"], schema_overrides={"last": pl.Float64, "iv": pl.Float64,
                                                          "delta": pl.Float64})
    frame = frame.with_columns(quote_date=pl.lit(q), gamma=pl.lit(0.001), vega=pl.lit(1.5),
                               underlying=pl.lit(5117.09), snapshot_at=pl.lit(snap))
    return _stamp(frame.with_columns(pl.col("snapshot_at").cast(schemas.UTC_TS)), "option_chain")
