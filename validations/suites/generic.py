"""Any other registered table (recommendations, recommendation_legs, later tables).

Blocking: keys non-null and unique; rows not shrinking; dates are NYSE sessions when the
date column is a Date; the integrator's range rules (policy caps such as max contracts or
notional per layer) and row rules (layers consistent with the regime).
Soft: no session gap (a recommendation is not made on a day whose inputs were stale).
"""

from __future__ import annotations

import polars as pl

from storage.schemas import Table
from validations.suites.base import Check, Rules, gap_check, trading_day_check


def checks(t: Table, rules: Rules) -> list[Check]:
    """Calendar checks for a table whose date column is a Date; none otherwise."""
    if t.columns.get(t.date_col) != pl.Date:
        return []
    by = tuple(k for k in t.keys if k != t.date_col)
    return [trading_day_check(t.date_col, blocking=True),
            gap_check(t.date_col, by, blocking=False)]
