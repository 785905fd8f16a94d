"""option_chain: SPX option quotes, one partition per quote_date.

Blocking: keys non-null and unique; rows not shrinking; quote_date is an NYSE session;
right in {C, P}; strike > 0; bid, ask >= 0; bid <= ask; expiration >= quote_date; IV >= 0;
delta within [-1, 1].
Soft: IV within (0, 5] where present. CBOE's quotedata writes IV 0 where it computed none
(533 of 17788 rows on 2023-06-09) and IVs above 5 on same-day far strikes (19 rows, up to
8.3): blocking on them would refuse every real chain.
No gap check: chains are snapshots taken on chosen days, not a continuous series.
"""

from __future__ import annotations

from storage.schemas import Table
from validations.expectation import expect
from validations.suites.base import Check, Rules, at_least, between, check, trading_day_check


def checks(t: Table, rules: Rules) -> list[Check]:
    """The table-specific checks of option_chain."""
    return [
        trading_day_check("quote_date", blocking=True),
        check("right_is_c_or_p", expect("ExpectColumnValuesToBeInSet", column="right",
                                        value_set=["C", "P"]),
              row_level=True),
        between("strike", 0, None, name="strike_positive", strict_min=True),
        between("bid", 0, None, name="bid_non_negative"),
        between("ask", 0, None, name="ask_non_negative"),
        at_least("ask", "bid", name="bid_le_ask"),
        at_least("expiration", "quote_date", name="expiration_on_or_after_quote_date"),
        between("iv", 0, None, name="iv_non_negative"),
        between("iv", 0, 5, name="iv_in_0_5", strict_min=True, blocking=False),
        between("delta", -1, 1, name="delta_in_-1_1"),
    ]
