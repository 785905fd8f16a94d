"""VX term structure: constant-maturity futures, front spread, VIX/VIX3M ratio, betas.

VX1 and VX2 are the contracts the CFE expiry rule lists first and second on the trade date
(``core.expiry``), whatever rows the lake holds; a constant maturity is read only from
the listed contracts that bracket it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from features.feature import BOOL, F64, IDX, VX, Feature, Step, shift_bars, window_bars
from features.recursive import CROSS_BARS, macd_bars, macd_cross_up, macd_of, warming

if TYPE_CHECKING:
    from features.config import FeatureConfig, TermStructureConfig


def listed_curve(vx_futures: pl.LazyFrame, cfg: TermStructureConfig) -> pl.LazyFrame:
    """Settlements of the listed contracts per trade date (expiring-today ones dropped)."""
    live = pl.col("expiry") > pl.col("trade_date") if cfg.drop_expiring_today else (
        pl.col("expiry") >= pl.col("trade_date"))
    return (vx_futures.filter(live & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
            .select("trade_date", "expiry", "settle").sort("trade_date", "expiry"))


def _expiry_calendar(curve: pl.DataFrame, months: int) -> pl.DataFrame:
    """Every monthly expiry (CFE rule) from the first trade date's month, numbered ``i``."""
    from core.expiry import monthly_expiries  # builds the calendar: only when computing

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


def vx_beta(cm: pl.Expr, vix: pl.Expr, cfg: FeatureConfig) -> pl.Expr:
    """Rolling OLS slope of a CM future's daily change on VIX's daily change."""
    from features.rolling import window_slope

    return window_slope(cm.diff(), vix.diff(), cfg.term_structure.beta_window)


def _beta_bars(cfg: FeatureConfig) -> int:
    return 1 + window_bars(cfg.term_structure.beta_window)  # a daily change, then a window


def _cm(days: int) -> str:
    return (f"{days}-day constant-maturity VX future, linear in calendar days between the "
            "bracketing listed expiries (CFE rule); null when one of them has no settlement; "
            "flat from VX1 before its expiry and from the last settled contract beyond it")


def _extrapolated(cm: str) -> str:
    return (f"{cm} had no bracketing pair of settled expiries (flat from VX1 or from the last "
            "settled contract)")


def _beta(cm: str) -> str:
    return (f"Rolling OLS slope of {cm}'s daily change on VIX's daily change (window: "
            "term_structure.beta_window)")


FAMILY = "term_structure"
# The term-structure MACD as one struct column, read by the five ts_macd* features below.
STEPS = (Step("_ts_macd", lambda ts_slope_12, cfg: macd_of(ts_slope_12, cfg), macd_bars,
              "recursive"),)
# vx1 ... vx_cm220_extrapolated are columns of the market base, made by term_structure_inputs.
FEATURES = (
    Feature("vx1", FAMILY, "Settlement of the front month: the VX contract whose CFE expiry is "
            "the nearest after the trade date (on it when expiring contracts are kept)",
            "VIX points", F64, (VX,), lambda vx1: vx1, valid_min=0, valid_max=200),
    Feature("vx2", FAMILY, "Settlement of the next listed VX contract after VX1", "VIX points",
            F64, (VX,), lambda vx2: vx2, valid_min=0, valid_max=200),
    Feature("vx_cm30", FAMILY, _cm(30), "VIX points", F64, (VX,), lambda vx_cm30: vx_cm30,
            valid_min=0, valid_max=200),
    Feature("vx_cm30_extrapolated", FAMILY, _extrapolated("vx_cm30"), "flag", BOOL, (VX,),
            lambda vx_cm30_extrapolated: vx_cm30_extrapolated),
    Feature("vx_cm30_beta", FAMILY, _beta("vx_cm30"), "ratio", F64, (VX, IDX),
            lambda vx_cm30, vix, cfg: vx_beta(vx_cm30, vix, cfg), _beta_bars,
            valid_min=-5, valid_max=5),
    Feature("vx_cm110", FAMILY, _cm(110), "VIX points", F64, (VX,), lambda vx_cm110: vx_cm110,
            valid_min=0, valid_max=200),
    Feature("vx_cm110_extrapolated", FAMILY, _extrapolated("vx_cm110"), "flag", BOOL, (VX,),
            lambda vx_cm110_extrapolated: vx_cm110_extrapolated),
    Feature("vx_cm110_beta", FAMILY, _beta("vx_cm110"), "ratio", F64, (VX, IDX),
            lambda vx_cm110, vix, cfg: vx_beta(vx_cm110, vix, cfg), _beta_bars,
            valid_min=-5, valid_max=5),
    Feature("vx_cm220", FAMILY, _cm(220), "VIX points", F64, (VX,), lambda vx_cm220: vx_cm220,
            valid_min=0, valid_max=200),
    Feature("vx_cm220_extrapolated", FAMILY, _extrapolated("vx_cm220"), "flag", BOOL, (VX,),
            lambda vx_cm220_extrapolated: vx_cm220_extrapolated),
    Feature("vx_cm220_beta", FAMILY, _beta("vx_cm220"), "ratio", F64, (VX, IDX),
            lambda vx_cm220, vix, cfg: vx_beta(vx_cm220, vix, cfg), _beta_bars,
            valid_min=-5, valid_max=5),
    Feature("ts_slope_12", FAMILY, "VX2 - VX1", "VIX points", F64, (VX,),
            lambda vx1, vx2: vx2 - vx1, valid_min=-100, valid_max=100),
    Feature("ts_ratio", FAMILY, "VIX / VIX3M", "ratio", F64, (IDX,),
            lambda vix, vix3m: vix / vix3m, valid_min=0, valid_max=5),
    Feature("contango", FAMILY, "VX2 above VX1", "flag", BOOL, (VX,), lambda vx1, vx2: vx2 > vx1),
    Feature("backwardation", FAMILY, "ts_ratio above 1 (VIX above VIX3M)", "flag", BOOL, (IDX,),
            lambda ts_ratio, cfg: ts_ratio > cfg.term_structure.backwardation_ratio),
    Feature("ts_slope_steep", FAMILY, "ts_slope_12 above term_structure.steep_slope_points"
            " (3 by default)", "flag", BOOL, (VX,),
            lambda ts_slope_12, cfg: ts_slope_12 > cfg.term_structure.steep_slope_points),
    Feature("ts_macd", FAMILY, "TA-Lib MACD(12,26,9) line of ts_slope_12", "VIX points", F64,
            (VX,), lambda _ts_macd: _ts_macd.struct.field("macd")),
    Feature("ts_macd_signal", FAMILY, "Signal line of ts_macd", "VIX points", F64, (VX,),
            lambda _ts_macd: _ts_macd.struct.field("signal")),
    Feature("ts_macd_hist", FAMILY, "ts_macd minus its signal", "VIX points", F64, (VX,),
            lambda _ts_macd: _ts_macd.struct.field("hist")),
    Feature("ts_macd_cross_up", FAMILY, "ts_macd crossed above its signal today "
            "(the term-structure MACD trigger)", "flag", BOOL, (VX,),
            lambda _ts_macd: macd_cross_up(_ts_macd), shift_bars(CROSS_BARS)),
    Feature("ts_macd_warming", FAMILY, "ts_slope_12 known but ts_macd null: the MACD "
            "(re)started fewer than 34 observations ago", "flag", BOOL, (VX,),
            lambda ts_slope_12, _ts_macd: warming(ts_slope_12, _ts_macd.struct.field("macd"))),
    Feature("term_structure_stale", FAMILY, "No settlement of VX1 or VX2 (by the CFE expiry "
            "rule) for the day: the VX curve features are null", "flag", BOOL, (VX,),
            lambda vx1, vx2: vx1.is_null() | vx2.is_null()),
)
