"""index_daily: CBOE index closes (VIX family, SKEW, SPX ...).

Blocking: keys non-null and unique; rows not shrinking; open/high/low/close > 0; VIX-family
closes within [5, 150]; closes within the symbol's bounds from ``Rules.series_bounds``
(sources config ``cboe.bounds``) where given; high >= low (CBOE's VIX6M 2019-07-05 has high
15.87 below low 16.5: that one row is dropped to quarantine). Every blocking check but the
keys and the row count is row-level: a failing row is dropped, the rest published.
Soft: dates are NYSE sessions (CBOE publishes VIX on some NYSE holidays when CFE trades, e.g.
MLK day 2026); no session gap per symbol (CBOE's own history has holes, e.g. 1991-03-01);
high >= max(open, close) and low <= min(open, close) (47 rows of CBOE's 1992-2006 VIX history
break it, e.g. 2004-11-08 open 2.58).
"""

from __future__ import annotations

import polars as pl

from storage.schemas import Table
from validations.suites.base import (
    Check,
    Rules,
    at_least,
    between,
    flagged,
    gap_check,
    out_of_bounds,
    trading_day_check,
)


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of index_daily."""
    positive = [between(c, 0, None, name=f"{c}_positive", strict_min=True)
                for c in ("open", "high", "low", "close")]
    vix_out = (pl.col("symbol").is_in(list(rules.vix_family))
               & ~pl.col("close").is_between(5, 150))
    vix = flagged("vix_family_close_in_5_150", _close_where(vix_out))
    sym_out = out_of_bounds(rules.series_bounds, pl.col("symbol"), pl.col("close"))
    sym = flagged("close_within_symbol_bounds", _close_where(sym_out))
    ohlc = [at_least("high", "low", name="high_ge_low")]
    ohlc += [at_least("high", c, name=f"high_ge_{c}", blocking=False) for c in ("open", "close")]
    ohlc += [at_least(c, "low", name=f"low_le_{c}", blocking=False) for c in ("open", "close")]
    return [*positive, vix, sym, *ohlc, trading_day_check("date", blocking=False),
            gap_check("date", ("symbol",), blocking=False)]


def _close_where(bad: pl.Expr) -> pl.Expr:
    """``SYMBOL date close=x`` on the rows where ``bad`` holds, null elsewhere."""
    return pl.when(bad).then(pl.format("{} {} close={}", pl.col("symbol"), pl.col("date"),
                                       pl.col("close"))).otherwise(None)
