"""vx_futures: CFE VX futures settlements, one row per (trade_date, expiry).

Blocking: keys non-null and unique; rows not shrinking; settle within [5, 150] where present
(CFE's 0.0 settle on contracts without a settlement must reach the lake as null); expiry on or
after trade_date (the CFE files carry a row on the final settlement day itself); on each trade
date, expiries strictly increasing with distinct symbols; volume and open interest >= 0;
high >= low where both exist.
Row-level (a failing row is dropped to quarantine, see validations/row_quarantine.py): every
blocking check above except the keys, the row count and the expiry ordering within a day.
Soft: trade dates are NYSE sessions (CFE traded on Good Friday 2015-04-03 and on the days of
mourning 2018-12-05 and 2025-01-09); no session gap in the table's trade dates.
"""

from __future__ import annotations

from storage.schemas import Table
from validations import checks as rows
from validations.suites.base import (
    Check,
    Rules,
    at_least,
    between,
    flagged,
    gap_check,
    trading_day_check,
)


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of vx_futures."""
    return [
        between("settle", 5, 150, name="settle_in_5_150"),
        at_least("expiry", "trade_date", name="expiry_on_or_after_trade_date"),
        flagged("expiries_strictly_increasing",
                rows.expiry_out_of_order("trade_date", "expiry", "symbol"), row_level=False),
        at_least("high", "low", name="high_ge_low"),
        between("volume", 0, None, name="volume_non_negative"),
        between("open_interest", 0, None, name="open_interest_non_negative"),
        trading_day_check("trade_date", blocking=False),
        gap_check("trade_date", blocking=False),
    ]
