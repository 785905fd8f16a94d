"""macro_observations: FRED observations with their vintage and availability date.

Blocking: keys non-null and unique; rows not shrinking; available_at >= date; realtime_start
>= date; value within the series' sanity bounds (``Rules.series_bounds``, from
sources/config.py) where present; a series without bounds is not range-checked.
No calendar checks: FRED series are daily with weekends (DFF), weekly or monthly.
"""

from __future__ import annotations

import polars as pl

from storage.schemas import Table
from validations.suites.base import Check, Rules, at_least, flagged, out_of_bounds


def out_of_range(rules: Rules) -> pl.Expr:
    """``"series date value"`` where a value lies outside its series' bounds."""
    sid, value = pl.col("series_id"), pl.col("value")
    bad = out_of_bounds(rules.series_bounds, sid, value)
    return pl.when(bad).then(pl.format("{} {} value={}", sid, pl.col("date"), value))


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of macro_observations."""
    return [
        at_least("available_at", "date", name="available_at_on_or_after_date"),
        at_least("realtime_start", "date", name="realtime_start_on_or_after_date"),
        flagged("value_within_series_bounds", out_of_range(rules)),
    ]
