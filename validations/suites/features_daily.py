"""features_daily: one row per NYSE session, one column per feature (built by features/).

Blocking: keys non-null and unique (one row per day); rows not shrinking; dates are NYSE
sessions; no session gap; every feature within its registered range (``Rules.range_rules``,
filled from features/registry.py, e.g. rsi_14 -> (0, 100)); every Boolean column (flags)
holds only True/False where present; the integrator's row rules.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
import polars as pl

from storage.schemas import Table
from validations.suites.base import Check, Rules, check, gap_check, trading_day_check


def flag_checks(t: Table) -> list[Check]:
    """Each Boolean column holds booleans (catches a flag cast from a 0/1/2 integer)."""
    return [check(f"{c}_is_boolean", gxe.ExpectColumnValuesToBeInSet(
        column=c, value_set=[True, False])) for c, d in t.columns.items() if d == pl.Boolean]


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of features_daily (range rules are added by the builder)."""
    by = tuple(k for k in t.keys if k != t.date_col)
    return [trading_day_check(t.date_col, blocking=True),
            gap_check(t.date_col, by, blocking=True), *flag_checks(t)]
