"""VX term structure: constant-maturity futures, front spread, VIX/VIX3M ratio, betas.

VX1 and VX2 are the contracts the CFE expiry rule lists first and second on the trade date
(``core.expiry``), whatever rows the lake holds; a constant maturity is read only from
the listed contracts that bracket it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.expiry import monthly_expiries
from features.config import IndicatorConfig, TermStructureConfig
from features.indicators import macd, segments
from features.rolling import window_slope


def listed_curve(vx_futures: pl.LazyFrame, cfg: TermStructureConfig) -> pl.LazyFrame:
    """Settlements of the listed contracts per trade date (expiring-today ones dropped)."""
    live = pl.col("expiry") > pl.col("trade_date") if cfg.drop_expiring_today else (
        pl.col("expiry") >= pl.col("trade_date"))
    return (vx_futures.filter(live & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
            .select("trade_date", "expiry", "settle").sort("trade_date", "expiry"))


def _expiry_calendar(curve: pl.DataFrame, months: int) -> pl.DataFrame:
    """Every monthly expiry (CFE rule) from the first trade date's month, numbered ``i``."""
    first, last = curve["trade_date"].min(), curve["trade_date"].max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    count = (last.year - first.year) * 12 + last.month - first.month + months + 2
    return monthly_expiries(first, count).sort().to_frame("expiry").with_row_index("i")


def listed_board(curve: pl.DataFrame, cfg: TermStructureConfig) -> pl.DataFrame:
    """(trade_date, k, expiry, settle): the k-th monthly contract listed on each trade date.

    Which contract is VX1 comes from the expiry rule, not from the rows present: a contract
    missing from the lake has a null settle in its place, never the next one's.
    """
    if curve.is_empty():
        return pl.DataFrame(schema={"trade_date": pl.Date, "k": pl.Int64, "expiry": pl.Date,
                                    "settle": pl.Float64})
    calendar = _expiry_calendar(curve, cfg.listed_months)
    # The front month expires on or after the trade date (after it when expiring-today
    # contracts are dropped).
    skip = 1 if cfg.drop_expiring_today else 0
    days = (curve.select("trade_date").unique().sort("trade_date")
            .with_columns((pl.col("trade_date") + pl.duration(days=skip)).alias("expiry"))
            .join_asof(calendar, on="expiry", strategy="forward").select("trade_date", "i"))
    board = (days.join(pl.DataFrame({"k": range(cfg.listed_months)}, schema={"k": pl.Int64}),
                       how="cross")
             .with_columns(pl.col("i") + pl.col("k"))
             .join(calendar, on="i").drop("i"))
    return board.join(curve, on=["trade_date", "expiry"], how="left").sort("trade_date", "k")


def front_spread(board: pl.DataFrame) -> pl.DataFrame:
    """VX1 and VX2 (the first two contracts listed by the expiry rule) per trade date."""
    return board.group_by("trade_date").agg(
        pl.col("settle").filter(pl.col("k") == 0).first().alias("vx1"),
        pl.col("settle").filter(pl.col("k") == 1).first().alias("vx2"),
    ).rename({"trade_date": "date"})


def _bracket(targets: pl.DataFrame, board: pl.DataFrame, strategy: str, tag: str
             ) -> pl.DataFrame:
    side = board.select("trade_date", pl.col("expiry").alias(f"exp_{tag}"),
                        pl.col("settle").alias(f"px_{tag}")).sort(f"exp_{tag}")
    return targets.join_asof(side, left_on="target", right_on=f"exp_{tag}", by="trade_date",
                             strategy=strategy,  # type: ignore[arg-type]
                             check_sortedness=False)


def interpolated_price() -> pl.Expr:
    """Linear in calendar days between the bracketing listed expiries.

    Flat from VX1 before its expiry, flat from the last settled contract beyond it; null
    when a bracketing listed contract has no settlement (never bridged by a farther one).
    """
    span = (pl.col("exp_hi") - pl.col("exp_lo")).dt.total_days()
    w = (pl.col("target") - pl.col("exp_lo")).dt.total_days() / span
    inside = pl.col("px_lo") + (pl.col("px_hi") - pl.col("px_lo")) * w
    return (pl.when(pl.col("exp_lo").is_null()).then(pl.col("px_hi"))
            .when(pl.col("target") > pl.col("last_expiry")).then(pl.col("last_settle"))
            .when(span == 0).then(pl.col("px_lo")).otherwise(inside))


def _last_settled(board: pl.DataFrame) -> pl.DataFrame:
    """The farthest contract with a settlement on each trade date."""
    return board.drop_nulls("settle").group_by("trade_date").agg(
        pl.col("expiry").max().alias("last_expiry"),
        pl.col("settle").sort_by("expiry").last().alias("last_settle"))


def constant_maturities(board: pl.DataFrame, maturities: tuple[int, ...]) -> pl.DataFrame:
    """``vx_cm{m}`` and ``vx_cm{m}_extrapolated`` for every maturity, one row per trade date."""
    targets = (board.select("trade_date").unique()
               .join(pl.DataFrame({"days": list(maturities)}), how="cross")
               .with_columns((pl.col("trade_date") + pl.duration(days=pl.col("days")))
                             .alias("target"))
               .sort("target"))
    both = _bracket(_bracket(targets, board, "backward", "lo"), board, "forward", "hi")
    both = both.join(_last_settled(board), on="trade_date", how="left")
    priced = both.with_columns(interpolated_price().alias("price")).with_columns(
        pl.when(pl.col("price").is_not_null()).then(
            pl.col("exp_lo").is_null() | (pl.col("target") > pl.col("last_expiry")))
        .alias("extrapolated"))
    per_day = [c for m in maturities for c in (
        pl.col("price").filter(pl.col("days") == m).first().alias(f"vx_cm{m}"),
        pl.col("extrapolated").filter(pl.col("days") == m).first()
        .alias(f"vx_cm{m}_extrapolated"))]
    return priced.group_by("trade_date").agg(per_day).rename({"trade_date": "date"})


def term_structure_inputs(vx_futures: pl.LazyFrame, cfg: TermStructureConfig) -> pl.LazyFrame:
    """One row per trade date: vx1, vx2 and every constant maturity with its flag.

    A day without a settlement of VX1 or VX2 has the whole row null: the curve is unknown.
    """
    # In-memory engine: a small frame, where the streaming engine's fixed cost dominates.
    board = listed_board(listed_curve(vx_futures, cfg).collect(engine="in-memory"), cfg)
    spread = front_spread(board)
    curve = spread.join(constant_maturities(board, cfg.maturities_days), on="date", how="left")
    known = pl.col("vx1").is_not_null() & pl.col("vx2").is_not_null()
    return curve.select("date", *[pl.when(known).then(pl.col(c)).alias(c)
                                  for c in curve.columns if c != "date"]).lazy()


def ts_slope_12() -> pl.Expr:
    """VX2 - VX1 in points."""
    return (pl.col("vx2") - pl.col("vx1")).alias("ts_slope_12")


def ts_ratio() -> pl.Expr:
    """VIX / VIX3M."""
    return (pl.col("vix") / pl.col("vix3m")).alias("ts_ratio")


def contango() -> pl.Expr:
    """VX2 above VX1."""
    return (pl.col("vx2") > pl.col("vx1")).alias("contango")


def backwardation(cfg: TermStructureConfig) -> pl.Expr:
    """VIX above VIX3M (ts_ratio above the configured level)."""
    return (pl.col("ts_ratio") > cfg.backwardation_ratio).alias("backwardation")


def ts_slope_steep(cfg: TermStructureConfig) -> pl.Expr:
    """VX2 - VX1 above the configured steepness in points."""
    return (pl.col("ts_slope_12") > cfg.steep_slope_points).alias("ts_slope_steep")


def ts_macd_struct(cfg: IndicatorConfig) -> pl.Expr:
    """TA-Lib MACD of ts_slope_12 as one struct column (the term-structure MACD trigger).

    Restarted after a hole of more than ``cfg.max_gap_sessions`` sessions without a curve.
    """
    x = pl.col("ts_slope_12")
    return macd(x, cfg.macd_fast, cfg.macd_slow, cfg.macd_signal,
                by=segments(x, cfg.max_gap_sessions)).alias("_ts_macd")


def ts_macd_warming() -> pl.Expr:
    """ts_slope_12 known but its MACD not yet: the MACD (re)started fewer than 34 days ago."""
    return (pl.col("ts_slope_12").is_not_null()
            & pl.col("_ts_macd").struct.field("macd").is_null()).alias("ts_macd_warming")


def vx_beta(days: int, window: int) -> pl.Expr:
    """Rolling OLS slope of the CM future's daily change on VIX's daily change."""
    dx, dy = pl.col("vix").diff(), pl.col(f"vx_cm{days}").diff()
    return window_slope(dy, dx, window).alias(f"vx_cm{days}_beta")
