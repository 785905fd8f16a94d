"""features_daily: one row per NYSE session, one column per feature (built by features/).

Blocking: keys non-null and unique (one row per day); rows not shrinking; dates are NYSE
sessions; no session gap; every feature within its registered range (``Rules.range_rules``,
filled from features/registry.py, e.g. rsi_14 -> (0, 100)); the integrator's row rules.
Flags need no check of their own: the schema makes them Boolean before GX sees them.
"""

from __future__ import annotations

from storage.schemas import Table
from validations.suites.base import Check, Rules, gap_check, trading_day_check


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of features_daily (range rules are added by the builder)."""
    by = tuple(k for k in t.keys if k != t.date_col)
    return [trading_day_check(t.date_col, blocking=True),
            gap_check(t.date_col, by, blocking=True)]
