"""Lake-shaped input frames for the feature tests and bench, read from ../shared/data.

Small readers written here on purpose: the features depend on the lake table schemas only,
not on sources/. Publication lags for macro series are the usual FRED ones (approximate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
UTC_TS = pl.Datetime("us", "UTC")

# series -> (file under fred/, publication lag in calendar days)
MACRO_FILES = {
    "SOFR": ("derived_from_heliar/SOFR.csv", 1),
    "IORB": ("derived_from_heliar/IORB.csv", 1),
    "DFF": ("derived_from_heliar/DFF.csv", 1),
    "DGS2": ("derived_from_heliar/DGS2.csv", 1),
    "NFCILEVERAGE": ("derived_from_heliar/NFCILEVERAGE.csv", 5),
    "BAMLH0A0HYM2": ("BAMLH0A0HYM2_long_1996_2026.csv", 1),
    "DTWEXBGS": ("derived_from_heliar/DTWEXBGS.csv", 3),
}


def _stamp(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(NOW, dtype=UTC_TS).alias("ingested_at"))


def cboe_history(path: Path, symbol: str) -> pl.DataFrame:
    """A CBOE *_History.csv as index_daily rows (close-only files get O=H=L=C)."""
    raw = pl.read_csv(path, infer_schema_length=0)
    close = raw.columns[-1]
    frame = raw.select(
        pl.lit(symbol).alias("symbol"),
        pl.col("DATE").str.to_date("%m/%d/%Y").alias("date"),
        *[pl.col(c if c in raw.columns else close).cast(pl.Float64).alias(c.lower())
          for c in ("OPEN", "HIGH", "LOW", "CLOSE")],
    )
    return _stamp(frame.unique("date", keep="last").sort("date"))


def vix1d_history(panel: Path) -> pl.DataFrame:
    """VIX1D closes from the wide CBOE panel, as index_daily rows."""
    raw = pl.read_csv(panel, columns=["date", "VIX1D"], schema_overrides={"VIX1D": pl.Float64})
    raw = raw.drop_nulls("VIX1D")
    frame = raw.select(pl.lit("VIX1D").alias("symbol"), pl.col("date").str.to_date(),
                       *[pl.col("VIX1D").alias(c) for c in ("open", "high", "low", "close")])
    return _stamp(frame)


def index_daily(data: Path) -> pl.DataFrame:
    """SPX, VIX, VIX3M, VVIX and VIX1D as one index_daily frame."""
    parts = [cboe_history(data / "cboe" / f"{s}_History.csv", s)
             for s in ("SPX", "VIX", "VIX3M", "VVIX")]
    parts.append(vix1d_history(data / "cboe" / "cboe_volatility_panel_heliar.csv"))
    return pl.concat(parts)


def _rule_expiry(month_start: pl.Expr) -> pl.Expr:
    """VX expiry rule: 30 days before the third Friday of the following month."""
    nxt = month_start.dt.offset_by("1mo")
    first_friday = nxt.dt.offset_by(((5 - nxt.dt.weekday()) % 7).cast(pl.String) + "d")
    return first_friday.dt.offset_by("14d").dt.offset_by("-30d")


def vx_futures(data: Path) -> pl.DataFrame:
    """The 2013-2025 CFE file as vx_futures rows; expiry = last trade date (rule if alive)."""
    raw = pl.read_csv(data / "vx_futures" / "cfe_vx_all_monthly_contracts_2013_2025.csv",
                      infer_schema_length=0)
    frame = raw.select(
        pl.col("Trade Date").str.to_date().alias("trade_date"),
        pl.col("Futures").alias("symbol"),
        pl.col("Futures").str.extract(r"\((\w+ \d+)\)").str.to_date("%b %Y").alias("month"),
        *[pl.col(a).cast(pl.Float64).alias(b) for a, b in (
            ("Open", "open"), ("High", "high"), ("Low", "low"), ("Close", "close"),
            ("Settle", "settle"), ("Change", "change"))],
        pl.col("Total Volume").cast(pl.Int64).alias("volume"),
        pl.col("Open Interest").cast(pl.Int64).alias("open_interest"),
    )
    last_day = frame["trade_date"].max()
    frame = frame.with_columns(
        pl.col("trade_date").max().over("month").alias("_last"))
    frame = frame.with_columns(
        pl.when(pl.col("_last") < last_day).then(pl.col("_last"))
        .otherwise(_rule_expiry(pl.col("month"))).alias("expiry"),
        (pl.col("volume") == 0).alias("no_trade"),
    ).unique(["trade_date", "expiry"], keep="last")
    cols = ["trade_date", "expiry", "symbol", "open", "high", "low", "close", "settle",
            "change", "volume", "open_interest", "no_trade"]
    return _stamp(frame.select(cols).sort("trade_date", "expiry"))


def _breadth_col(path: Path, name: str) -> pl.DataFrame:
    raw = pl.read_csv(path, columns=["time", "close"], infer_schema_length=0)
    return raw.select(pl.col("time").str.to_date().alias("date"),
                      pl.col("close").cast(pl.Float64).cast(pl.Int64).alias(name)
                      ).unique("date", keep="last")


def breadth_daily(data: Path) -> pl.DataFrame:
    """NYSE advancing/declining/unchanged issues as breadth_daily rows."""
    b = data / "breadth"
    adv = _breadth_col(b / "NYSE_ADV_advancing_issues.csv", "advancers")
    dec = _breadth_col(b / "NYSE_DECL_declining_issues.csv", "decliners")
    unc = _breadth_col(b / "NYSE_UCHG_unchanged_issues.csv", "unchanged")
    frame = adv.join(dec, on="date", how="full", coalesce=True).join(
        unc, on="date", how="left").with_columns(
        pl.lit(None, pl.Int64).alias("new_highs"), pl.lit(None, pl.Int64).alias("new_lows"))
    return _stamp(frame.sort("date"))


def fred_series(path: Path, series_id: str, lag_days: int) -> pl.DataFrame:
    """A two-column FRED csv as macro_observations rows, published ``lag_days`` later."""
    raw = pl.read_csv(path, infer_schema_length=0)
    d, v = raw.columns
    frame = raw.select(
        pl.lit(series_id).alias("series_id"), pl.col(d).str.to_date().alias("date"),
        pl.col(v).replace(".", None).cast(pl.Float64).alias("value"),
    ).drop_nulls("value")
    avail = pl.col("date").dt.offset_by(f"{lag_days}d")
    return _stamp(frame.with_columns(avail.alias("realtime_start"), avail.alias("available_at")))


def macro_observations(data: Path) -> pl.DataFrame:
    """The Second Engine's FRED series as macro_observations rows."""
    return pl.concat([fred_series(data / "fred" / f, s, lag)
                      for s, (f, lag) in MACRO_FILES.items()])


def events(data: Path) -> pl.DataFrame:
    """FOMC decision days 1978-2026 and CPI release days 2025-2026 as events rows."""
    cal = data / "calendar"
    old = pl.read_csv(cal / "fomc_dates_1978_2023.csv", infer_schema_length=0).select(
        pl.col("Date").str.to_date("%Y%m%d").alias("date"), pl.lit("fomc").alias("kind"))
    new = pl.read_csv(cal / "macro_events_fomc_cpi_nfp_2024_2026.csv").filter(
        pl.col("event_type").is_in(["fomc", "cpi"])).select(
        pl.col("event_date").str.to_date().alias("date"), pl.col("event_type").alias("kind"))
    return _stamp(pl.concat([old, new]).unique().sort("date", "kind"))


READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "index_daily": index_daily, "vx_futures": vx_futures, "breadth_daily": breadth_daily,
    "macro_observations": macro_observations, "events": events,
}


def all_inputs(data: Path) -> dict[str, pl.DataFrame]:
    """Every input table of build_features, from the shared data folder."""
    return {name: read(data) for name, read in READERS.items()}
