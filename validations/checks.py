"""Row checks GX cannot express on pandas, computed in polars as columns GX then inspects.

Each function returns an expression whose value is null on a good row and, on a bad row, a
short value that names the offence (the offending date, or ``"symbol date"``). A suite then
expects the column to be null, so GX's sample of unexpected values shows the offenders.
"""

from __future__ import annotations

import polars as pl

from core import calendar as sessions


def nyse_sessions() -> pl.Series:
    """Every NYSE (XNYS) session date of the shared calendar, sorted."""
    return sessions.nyse_sessions().alias("session")


def _in_calendar(date: pl.Expr) -> pl.Expr:
    s = nyse_sessions()
    return date.is_between(s[0], s[-1])


def non_trading_date(date_col: str) -> pl.Expr:
    """The date itself when it is not an NYSE session (dates outside the calendar pass)."""
    d = pl.col(date_col)
    bad = _in_calendar(d) & ~d.is_in(nyse_sessions().implode())
    return pl.when(bad).then(d.cast(pl.String)).otherwise(None)


def session_ordinal(date: pl.Expr) -> pl.Expr:
    """The position of ``date`` among NYSE sessions (a non-session gets the next one's)."""
    return pl.lit(nyse_sessions()).search_sorted(date, side="left").cast(pl.Int64)


def gap_sessions(date_col: str, by: tuple[str, ...] = ()) -> pl.Expr:
    """``"<series> <date>: N missing session(s) before"`` where NYSE sessions are skipped.

    The rows of each series (``by``) are taken in date order; a row whose previous row is more
    than one session earlier names the gap. The first row of a series has none.
    """
    d = pl.col(date_col)
    ordinal = session_ordinal(d)
    window = list(by) if by else pl.lit(0)
    prev = ordinal.shift(1).over(partition_by=window, order_by=d)
    missing = ordinal - prev - 1
    label = pl.concat_str([*(pl.col(c).cast(pl.String) for c in by), d.cast(pl.String)],
                          separator=" ")
    return (pl.when(missing > 0)
            .then(pl.format("{}: {} missing session(s) before", label, missing))
            .otherwise(None))


def expiry_out_of_order(trade_col: str, expiry_col: str, symbol_col: str) -> pl.Expr:
    """``"trade_date symbol expiry"`` where a date's curve is not strictly ordered.

    On each trade date the contracts, taken in expiry order, must have strictly increasing
    expiries and distinct symbols: a repeated symbol means one contract was given two
    expiries, a repeated expiry means two contracts were mapped to one month.
    """
    t, e, s = pl.col(trade_col), pl.col(expiry_col), pl.col(symbol_col)
    prev = e.shift(1).over(partition_by=trade_col, order_by=e)
    bad = (e <= prev).fill_null(False) | (s.is_duplicated().over(trade_col) & s.is_not_null())
    label = pl.concat_str([t.cast(pl.String), s, e.cast(pl.String)], separator=" ")
    return pl.when(bad).then(label).otherwise(None)

