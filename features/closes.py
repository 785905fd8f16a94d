"""Index closes: one column per index on the trading-day grid, and the ``*_close`` features."""

from __future__ import annotations

import datetime as dt

import polars as pl

from features.feature import F64, IDX, Feature

INDEX_SYMBOLS = {"SPX": "spx", "VIX": "vix", "VIX3M": "vix3m", "VIX9D": "vix9d", "VIX1D": "vix1d",
                 "VVIX": "vvix"}


def index_closes(rows: pl.DataFrame, days: pl.LazyFrame, first: dt.date, end: dt.date
                 ) -> pl.LazyFrame:
    """One close column per index symbol on the grid [first, end] (a pivot of the rows)."""
    rows = (rows.filter(pl.col("symbol").is_in(list(INDEX_SYMBOLS))
                        & pl.col("date").is_between(first, end))
            .unique(["date", "symbol"], keep="last"))
    wide = rows.pivot(on="symbol", index="date", values="close").rename(
        lambda c: INDEX_SYMBOLS.get(c, c))
    missing = [pl.lit(None, pl.Float64).alias(c) for c in INDEX_SYMBOLS.values()
               if c not in wide.columns]
    closes = wide.with_columns(missing).select("date", *INDEX_SYMBOLS.values())
    return days.join(closes.lazy(), on="date", how="left")


FAMILY = "inputs"
FEATURES = (
    Feature("spx_close", FAMILY, "S&P 500 close", "index points", F64, (IDX,),
            lambda spx: spx, valid_min=0),
    Feature("vix_close", FAMILY, "VIX close", "vol points", F64, (IDX,),
            lambda vix: vix, valid_min=0, valid_max=200),
    Feature("vix3m_close", FAMILY, "VIX3M close", "vol points", F64, (IDX,),
            lambda vix3m: vix3m, valid_min=0, valid_max=200),
    Feature("vix9d_close", FAMILY, "VIX9D close (the 1DTE condor's vol level before VIX1D)",
            "vol points", F64, (IDX,), lambda vix9d: vix9d, valid_min=0, valid_max=300),
    Feature("vix1d_close", FAMILY, "VIX1D close", "vol points", F64, (IDX,),
            lambda vix1d: vix1d, valid_min=0, valid_max=500),
    Feature("vvix_close", FAMILY, "VVIX close", "vol points", F64, (IDX,),
            lambda vvix: vvix, valid_min=0, valid_max=500),
)
