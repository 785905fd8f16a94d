"""breadth_daily: NYSE advancing / declining / unchanged issues and new highs / lows.

Blocking: keys non-null and unique; rows not shrinking; dates are NYSE sessions; every count
>= 0; advancers + decliners + unchanged within [1000, 5000] where all three exist (the real
1992-2026 totals lie in 2191..3562 at the 0.1/99.9 percentiles; 1999-05-25's 678 is a
known-bad print and is rejected).
Soft: no session gap (the TradingView history has holes in 1993).
"""

from __future__ import annotations

import polars as pl

from storage.schemas import Table
from validations.suites.base import (
    Check,
    Rules,
    between,
    flagged,
    gap_check,
    trading_day_check,
)

COUNTS = ("advancers", "decliners", "unchanged", "new_highs", "new_lows")
NYSE_TOTAL = (1000, 5000)


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of breadth_daily."""
    total = pl.col("advancers") + pl.col("decliners") + pl.col("unchanged")
    lo, hi = NYSE_TOTAL
    implausible = pl.when(~total.is_between(lo, hi)).then(
        pl.format("{} total={}", pl.col("date"), total)).otherwise(None)
    return [
        *(between(c, 0, None, name=f"{c}_non_negative") for c in COUNTS),
        flagged("issues_total_plausible", implausible),
        trading_day_check("date", blocking=True),
        gap_check("date", blocking=False),
    ]
