"""Small slices of ../shared/data in the lake tables' schemas, read by the real parsers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from sources import breadth, calendar, cboe, cfe, fred
from storage import schemas
from tests.conftest import NOW, shared

YEAR = 2024


def _stamp(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    frame = frame.with_columns(pl.lit(NOW).cast(schemas.UTC_TS).alias("ingested_at"))
    return schemas.get(table).conform(frame)


def _parsed(parse: Callable[[bytes, str], pl.DataFrame], *parts: str) -> pl.DataFrame:
    """A real file read by the project's own parser."""
    path = shared(*parts)
    return parse(path.read_bytes(), path.name)


def index_daily() -> pl.DataFrame:
    """CBOE VIX, first half of 2024."""
    frame = _parsed(cboe.parse, "cboe", "VIX_History.csv")
    return _stamp(frame.filter(pl.col("date").is_between(dt.date(YEAR, 1, 1),
                                                         dt.date(YEAR, 6, 30))), "index_daily")


def vx_futures() -> pl.DataFrame:
    """CFE VX monthly contracts, Q1 2024."""
    frame = _parsed(cfe.parse, "vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv")
    frame = frame.filter(pl.col("trade_date").is_between(dt.date(YEAR, 1, 1),
                                                         dt.date(YEAR, 3, 31)))
    return _stamp(frame.sort("trade_date", "expiry"), "vx_futures")


def breadth_daily() -> pl.DataFrame:
    """NYSE advancers, decliners, unchanged, new highs and lows for 2024."""
    files = ["NYSE_ADV_advancing_issues.csv", "NYSE_DECL_declining_issues.csv",
             "NYSE_UCHG_unchanged_issues.csv", "NYSE_MAHN_new_highs.csv",
             "NYSE_MALN_new_lows.csv"]
    frame = breadth.combine([_parsed(breadth.parse, "breadth", f) for f in files])
    return _stamp(frame.filter(pl.col("date").dt.year() == YEAR).sort("date"), "breadth_daily")


def macro_observations() -> pl.DataFrame:
    """FRED DFF for 2024, available by its publication rule."""
    frame = _parsed(fred.parse, "fred", "derived_from_heliar", "DFF.csv")
    return _stamp(frame.filter(pl.col("date").dt.year() == YEAR), "macro_observations")


def events() -> pl.DataFrame:
    """FOMC decision days 2024-2026 from the macro calendar."""
    frame = _parsed(calendar.parse, "calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv")
    return _stamp(frame.filter(pl.col("kind") == "fomc").unique().sort("date"), "events")


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
