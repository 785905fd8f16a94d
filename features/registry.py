"""Every feature of features_daily: what it means, its unit, inputs, lookback and range."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from storage import schemas

FEATURE_SET_VERSION = "2026.12.1"
F64, BOOL, STR, I64 = pl.Float64(), pl.Boolean(), pl.String(), pl.Int64()


@dataclass(frozen=True)
class Feature:
    """One feature: name, family, meaning, unit, inputs, lookback (bars), memory, range."""

    name: str
    family: str
    description: str
    unit: str
    dtype: pl.DataType
    inputs: tuple[str, ...]
    lookback: int = 0
    # window: needs `lookback` bars; recursive/cumulative: depends on the whole history.
    memory: str = "window"
    valid_min: float | None = None
    valid_max: float | None = None
    version: int = 1


def _f(name: str, family: str, description: str, unit: str, dtype: pl.DataType,
       inputs: tuple[str, ...], lookback: int = 0, memory: str = "window",
       lo: float | None = None, hi: float | None = None) -> Feature:
    return Feature(name, family, description, unit, dtype, inputs, lookback, memory, lo, hi)


IDX, VX, BR, MAC, EV = "index_daily", "vx_futures", "breadth_daily", "macro_observations", "events"
_CM = tuple(
    f for d in (30, 110, 220) for f in (
        _f(f"vx_cm{d}", "term_structure", f"{d}-day constant-maturity VX future, linear in "
           "calendar days between the bracketing listed expiries (CFE rule); null when one "
           "of them has no settlement; flat from VX1 before its expiry and from the last "
           "settled contract beyond it",
           "VIX points", F64, (VX,), 0, "window", 0, 200),
        _f(f"vx_cm{d}_extrapolated", "term_structure", f"vx_cm{d} had no bracketing pair of "
           "settled expiries (flat from VX1 or from the last settled contract)", "flag", BOOL,
           (VX,)),
        _f(f"vx_cm{d}_beta", "term_structure", f"Rolling OLS slope of vx_cm{d}'s daily change "
           "on VIX's daily change (window: term_structure.beta_window)", "ratio", F64,
           (VX, IDX), 61, "window", -5, 5),
    ))

FEATURES: tuple[Feature, ...] = (
    _f("spx_close", "inputs", "S&P 500 close", "index points", F64, (IDX,), 0, "window", 0),
    _f("vix_close", "inputs", "VIX close", "vol points", F64, (IDX,), 0, "window", 0, 200),
    _f("vix3m_close", "inputs", "VIX3M close", "vol points", F64, (IDX,), 0, "window", 0, 200),
    _f("vix1d_close", "inputs", "VIX1D close", "vol points", F64, (IDX,), 0, "window", 0, 500),
    _f("vvix_close", "inputs", "VVIX close", "vol points", F64, (IDX,), 0, "window", 0, 500),
    _f("regime_stale", "regime", "No SPX or VIX close for the day: regime features are null",
       "flag", BOOL, (IDX,)),
    _f("vix_regime", "regime", "calm (VIX < 15), normal (15-20), elevated (20-35), extreme "
       "(>= 35); bounds from regime config", "category", STR, (IDX,)),
    _f("spx_rv_20", "regime", "Annualised 20-day realised vol of SPX log returns", "vol points",
       F64, (IDX,), 20, "window", 0, 300),
    _f("vrp", "regime", "VIX minus spx_rv_20 (volatility risk premium)", "vol points", F64,
       (IDX,), 20, "window", -300, 200),
    _f("vix_sma_200", "regime", "200-day simple average of VIX", "vol points", F64, (IDX,), 199,
       "window", 0, 200),
    _f("vix_above_200dma", "regime", "VIX above vix_sma_200", "flag", BOOL, (IDX,), 199),
    _f("spx_exp_move_1d", "regime", "SPX x IV / 100 / sqrt(252), IV = VIX1D where present, "
       "else VIX", "index points", F64, (IDX,), 0, "window", 0),
    _f("spx_rsi_14", "regime", "TA-Lib RSI(14) of SPX closes", "0-100", F64, (IDX,), 14,
       "recursive", 0, 100),
    _f("vix_rsi_14", "regime", "TA-Lib RSI(14) of VIX closes", "0-100", F64, (IDX,), 14,
       "recursive", 0, 100),
    _f("vx_cm30_rsi_14", "regime", "TA-Lib RSI(14) of vx_cm30", "0-100", F64, (VX,), 14,
       "recursive", 0, 100),
    _f("spx_rsi_14_warming", "regime", "SPX close known but spx_rsi_14 null: the RSI "
       "(re)started fewer than 14 changes ago (series start, or a hole of more than "
       "indicators.max_gap_sessions sessions)", "flag", BOOL, (IDX,), 14, "recursive"),
    _f("vix_rsi_14_warming", "regime", "VIX close known but vix_rsi_14 null: the RSI "
       "(re)started fewer than 14 changes ago", "flag", BOOL, (IDX,), 14, "recursive"),
    _f("vx_cm30_rsi_14_warming", "regime", "vx_cm30 known but vx_cm30_rsi_14 null: the RSI "
       "(re)started fewer than 14 changes ago (e.g. after a year without a VX curve)", "flag",
       BOOL, (VX,), 14, "recursive"),
    _f("vvix_macd", "regime", "TA-Lib MACD(12,26,9) line of VVIX", "vol points", F64, (IDX,),
       33, "recursive"),
    _f("vvix_macd_signal", "regime", "Signal line of vvix_macd", "vol points", F64, (IDX,), 33,
       "recursive"),
    _f("vvix_macd_hist", "regime", "vvix_macd minus its signal", "vol points", F64, (IDX,), 33,
       "recursive"),
    _f("vvix_macd_hook", "regime", "VVIX MACD histogram below zero and rising two days in a "
       "row (flattening or hooking)", "flag", BOOL, (IDX,), 35, "recursive"),
    _f("vvix_macd_cross_up", "regime", "VVIX MACD crossed above its signal today", "flag",
       BOOL, (IDX,), 34, "recursive"),
    _f("vvix_macd_warming", "regime", "VVIX close known but vvix_macd null: the MACD "
       "(re)started fewer than 34 observations ago", "flag", BOOL, (IDX,), 33, "recursive"),
    _f("vx1", "term_structure", "Settlement of the front month: the VX contract whose CFE "
       "expiry is the nearest after the trade date (on it when expiring contracts are kept)",
       "VIX points", F64, (VX,), 0, "window", 0, 200),
    _f("vx2", "term_structure", "Settlement of the next listed VX contract after VX1",
       "VIX points", F64, (VX,), 0, "window", 0, 200),
    *_CM,
    _f("ts_slope_12", "term_structure", "VX2 - VX1", "VIX points", F64, (VX,), 0, "window",
       -100, 100),
    _f("ts_ratio", "term_structure", "VIX / VIX3M", "ratio", F64, (IDX,), 0, "window", 0, 5),
    _f("contango", "term_structure", "VX2 above VX1", "flag", BOOL, (VX,)),
    _f("backwardation", "term_structure", "ts_ratio above 1 (VIX above VIX3M)", "flag", BOOL,
       (IDX,)),
    _f("ts_slope_steep", "term_structure", "ts_slope_12 above term_structure.steep_slope_points"
       " (3 by default)", "flag", BOOL, (VX,)),
    _f("ts_macd", "term_structure", "TA-Lib MACD(12,26,9) line of ts_slope_12", "VIX points",
       F64, (VX,), 33, "recursive"),
    _f("ts_macd_signal", "term_structure", "Signal line of ts_macd", "VIX points", F64, (VX,),
       33, "recursive"),
    _f("ts_macd_hist", "term_structure", "ts_macd minus its signal", "VIX points", F64, (VX,),
       33, "recursive"),
    _f("ts_macd_cross_up", "term_structure", "ts_macd crossed above its signal today "
       "(the term-structure MACD trigger)", "flag", BOOL, (VX,), 34, "recursive"),
    _f("ts_macd_warming", "term_structure", "ts_slope_12 known but ts_macd null: the MACD "
       "(re)started fewer than 34 observations ago", "flag", BOOL, (VX,), 33, "recursive"),
    _f("term_structure_stale", "term_structure", "No settlement of VX1 or VX2 (by the CFE "
       "expiry rule) for the day: the VX curve features are null", "flag", BOOL, (VX,)),
    _f("ad_line", "breadth", "Cumulative NYSE advancers minus decliners since the first "
       "breadth day", "issues", F64, (BR,), 0, "cumulative"),
    _f("ad_divergence", "breadth", "SPX within 1% of its 20-day high while ad_line is below "
       "its own 20-day high by the policy margin", "flag", BOOL, (BR, IDX), 19, "cumulative"),
    _f("breadth_confirms", "breadth", "SPX within 1% of its 20-day high and ad_line at its own "
       "20-day high (within the margin)", "flag", BOOL, (BR, IDX), 19, "cumulative"),
    _f("breadth_stale", "breadth", "No breadth row for the day: breadth features are null",
       "flag", BOOL, (BR,)),
    _f("funding_spread", "macro", "SOFR - IORB", "bp", F64, (MAC,), 0, "window", -500, 500),
    _f("funding_spread_z", "macro", "Z-score of funding_spread over 252 trading days", "sd",
       F64, (MAC,), 251, "window", -50, 50),
    _f("nfci_leverage", "macro", "Chicago Fed NFCI nonfinancial leverage subindex", "index",
       F64, (MAC,), 0, "window", -10, 10),
    _f("nfci_leverage_change_4w", "macro", "nfci_leverage minus its value 4 weekly "
       "observations earlier", "index", F64, (MAC,), 0, "window", -10, 10),
    _f("hy_oas", "macro", "ICE BofA US high-yield option-adjusted spread", "percent", F64,
       (MAC,), 0, "window", 0, 30),
    _f("hy_oas_change_20d", "macro", "hy_oas change over 20 trading days", "bp", F64, (MAC,),
       20, "window", -2000, 2000),
    _f("rate_diff", "macro", "DGS2 - DFF", "percentage points", F64, (MAC,), 0, "window",
       -10, 10),
    _f("dollar_change_20d", "macro", "Broad dollar index (DTWEXBGS) change over 20 trading "
       "days", "percent", F64, (MAC,), 20, "window", -50, 50),
    _f("funding_stress", "macro", "funding_spread_z above 1", "flag", BOOL, (MAC,), 251),
    _f("nfci_leverage_rising", "macro", "nfci_leverage_change_4w above 0", "flag", BOOL,
       (MAC,)),
    _f("hy_oas_widening", "macro", "hy_oas up more than 50 bp in 20 trading days", "flag", BOOL,
       (MAC,), 20),
    _f("dollar_rising", "macro", "Broad dollar up more than 2% in 20 trading days", "flag",
       BOOL, (MAC,), 20),
    _f("second_engine_known", "macro", "How many of the four Second Engine signals can be "
       "evaluated today", "count", I64, (MAC,), 251, "window", 0, 4),
    _f("second_engine_score", "macro", "Number of lit Second Engine signals (funding_stress, "
       "nfci_leverage_rising, hy_oas_widening, dollar_rising); null unless all four are "
       "known", "count", I64, (MAC,), 251, "window", 0, 4),
    _f("macro_stale", "macro", "Some Second Engine series is missing or older than its "
       "configured maximum age: its features are null", "flag", BOOL, (MAC,)),
    _f("is_fomc_day", "events", "FOMC decision day; null outside the range of the FOMC "
       "calendar", "flag", BOOL, (EV,)),
    _f("is_cpi_day", "events", "CPI release day; null outside the range of the CPI calendar",
       "flag", BOOL, (EV,)),
    _f("is_ppi_day", "events", "PPI release day; null outside the range of the PPI calendar",
       "flag", BOOL, (EV,)),
    _f("events_stale", "events", "Some event type's calendar does not cover the day (or no "
       "FOMC decision is listed within 100 days after it): those flags are null",
       "flag", BOOL, (EV,)),
    _f("days_to_fomc", "events", "Calendar days to the next FOMC decision (0 on the day); "
       "null outside the FOMC calendar", "days", I64, (EV,), 0, "window", 0, 400),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def window_lookback() -> int:
    """Bars of history the windowed features need (recursive ones need all history)."""
    return max(f.lookback for f in FEATURES if f.memory == "window")


def feature_catalog() -> pl.DataFrame:
    """The registry as a frame, for the catalog's ``feature_catalog`` table."""
    return pl.DataFrame({
        "name": [f.name for f in FEATURES],
        "family": [f.family for f in FEATURES],
        "description": [f.description for f in FEATURES],
        "unit": [f.unit for f in FEATURES],
        "dtype": [str(f.dtype) for f in FEATURES],
        "inputs": [list(f.inputs) for f in FEATURES],
        "lookback": [f.lookback for f in FEATURES],
        "memory": [f.memory for f in FEATURES],
        "valid_min": [f.valid_min for f in FEATURES],
        "valid_max": [f.valid_max for f in FEATURES],
        "version": [f.version for f in FEATURES],
        "feature_set_version": [FEATURE_SET_VERSION] * len(FEATURES),
    }, schema_overrides={"valid_min": pl.Float64, "valid_max": pl.Float64})


FEATURES_DAILY = schemas.Table(
    "features_daily",
    {"date": pl.Date(), **{f.name: f.dtype for f in FEATURES},
     "feature_set_version": STR, "computed_at": schemas.UTC_TS},
    keys=("date",), date_col="date",
    descriptions={f.name: f.description for f in FEATURES},
)
TABLES = (FEATURES_DAILY,)  # listed in storage.schemas
