"""VX term structure: constant-maturity futures, front spread, VIX/VIX3M ratio, betas."""

from __future__ import annotations

import polars as pl

from features.config import TermStructureConfig
from features.indicators import macd
from features.rolling import window_slope


def listed_curve(vx_futures: pl.LazyFrame, cfg: TermStructureConfig) -> pl.LazyFrame:
    """Settlements of the listed contracts per trade date (expiring-today ones dropped)."""
    live = pl.col("expiry") > pl.col("trade_date") if cfg.drop_expiring_today else (
        pl.col("expiry") >= pl.col("trade_date"))
    return (vx_futures.filter(live & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
            .select("trade_date", "expiry", "settle").sort("trade_date", "expiry"))


def front_spread(curve: pl.LazyFrame) -> pl.LazyFrame:
    """VX1 and VX2 (first and second listed expiries) per trade date."""
    return curve.group_by("trade_date").agg(
        pl.col("settle").get(0).alias("vx1"),
        pl.col("settle").get(1, null_on_oob=True).alias("vx2"),
    ).rename({"trade_date": "date"})


def _bracket(targets: pl.LazyFrame, curve: pl.LazyFrame, strategy: str, tag: str
             ) -> pl.LazyFrame:
    side = curve.rename({"expiry": f"exp_{tag}", "settle": f"px_{tag}"}).sort(f"exp_{tag}")
    return targets.join_asof(side, left_on="target", right_on=f"exp_{tag}", by="trade_date",
                             strategy=strategy,  # type: ignore[arg-type]
                             check_sortedness=False)


def interpolated_price() -> pl.Expr:
    """Linear in calendar days between the bracketing expiries; nearest one when unbracketed."""
    span = (pl.col("exp_hi") - pl.col("exp_lo")).dt.total_days()
    w = (pl.col("target") - pl.col("exp_lo")).dt.total_days() / span
    inside = pl.col("px_lo") + (pl.col("px_hi") - pl.col("px_lo")) * w
    return (pl.when(pl.col("exp_lo").is_null()).then(pl.col("px_hi"))
            .when(pl.col("exp_hi").is_null()).then(pl.col("px_lo"))
            .when(span == 0).then(pl.col("px_lo")).otherwise(inside))


def constant_maturities(curve: pl.LazyFrame, maturities: tuple[int, ...]) -> pl.LazyFrame:
    """``vx_cm{m}`` and ``vx_cm{m}_extrapolated`` for every maturity, one row per trade date."""
    targets = (curve.select("trade_date").unique()
               .join(pl.LazyFrame({"days": list(maturities)}), how="cross")
               .with_columns((pl.col("trade_date") + pl.duration(days=pl.col("days")))
                             .alias("target"))
               .sort("target"))
    both = _bracket(_bracket(targets, curve, "backward", "lo"), curve, "forward", "hi")
    priced = both.with_columns(
        interpolated_price().alias("price"),
        (pl.col("exp_lo").is_null() | pl.col("exp_hi").is_null()).alias("extrapolated"))
    per_day = [c for m in maturities for c in (
        pl.col("price").filter(pl.col("days") == m).first().alias(f"vx_cm{m}"),
        pl.col("extrapolated").filter(pl.col("days") == m).first()
        .alias(f"vx_cm{m}_extrapolated"))]
    return priced.group_by("trade_date").agg(per_day).rename({"trade_date": "date"})


def term_structure_inputs(vx_futures: pl.LazyFrame, cfg: TermStructureConfig) -> pl.LazyFrame:
    """One row per trade date: vx1, vx2 and every constant maturity with its flag."""
    # In-memory engine: a small frame, where the streaming engine's fixed cost dominates.
    curve = listed_curve(vx_futures, cfg).collect(engine="in-memory").lazy()
    return front_spread(curve).join(constant_maturities(curve, cfg.maturities_days), on="date",
                                    how="left")


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


def ts_macd_struct(fast: int, slow: int, signal: int) -> pl.Expr:
    """TA-Lib MACD of ts_slope_12 as one struct column (the term-structure MACD trigger)."""
    return macd(pl.col("ts_slope_12"), fast, slow, signal).alias("_ts_macd")


def vx_beta(days: int, window: int) -> pl.Expr:
    """Rolling OLS slope of the CM future's daily change on VIX's daily change."""
    dx, dy = pl.col("vix").diff(), pl.col(f"vx_cm{days}").diff()
    return window_slope(dy, dx, window).alias(f"vx_cm{days}_beta")
