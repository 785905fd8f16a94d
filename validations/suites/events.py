"""events: calendar events (FOMC decisions, CPI and NFP releases), one row per (date, kind).

Blocking: keys non-null and unique; rows not shrinking.
Soft: kind is a short lowercase word (fomc, cpi, nfp).
No calendar checks: events are sparse, and a scheduled release may fall on an NYSE holiday.
"""

from __future__ import annotations

from storage.schemas import Table
from validations.expectation import expect
from validations.suites.base import Check, Rules, check


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of events."""
    return [check("kind_is_lowercase_word", expect(
        "ExpectColumnValuesToMatchRegex", column="kind", regex=r"^[a-z][a-z0-9_]{0,31}$"),
        blocking=False)]
