"""VX futures and VIX options expiration dates (CFE rule), vectorised over polars dates.

CFE rule (VX contract specifications, "Final Settlement Date"): the Wednesday 30 days before
the third Friday of the month after the contract month. If that Friday is an exchange holiday,
the reference day is the business day before it (so the expiry falls on a Tuesday); if the
date 30 days before the reference is itself a holiday, the expiry is the business day before.
VIX options expire on the same day as the VX future of the same month. Holidays come from the
NYSE calendar (``exchange_calendars`` XNYS, including its ad-hoc closures); CBOE and CFE
observe the same days. Checked against every last trade date in ../shared/data/vx_futures.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.calendar import exchange_holidays

DAYS_BEFORE_FRIDAY = 30
MONTH_CODES = "FGHJKMNQUVXZ"


def third_friday(month_start: pl.Expr) -> pl.Expr:
    """The third Friday of the month that ``month_start`` (a first of month) begins."""
    # polars weekday: Monday=1 .. Friday=5 .. Sunday=7.
    to_friday = (5 - month_start.dt.weekday() + 7) % 7
    return month_start + pl.duration(days=to_friday + 14)


def expiry_expr(contract_month: pl.Expr) -> pl.Expr:
    """VX expiry of the contract month in ``contract_month`` (any date inside that month)."""
    holidays = exchange_holidays()
    next_month = contract_month.dt.month_start().dt.offset_by("1mo")
    reference = third_friday(next_month).dt.add_business_days(
        0, holidays=holidays, roll="backward"
    )
    candidate = reference - pl.duration(days=DAYS_BEFORE_FRIDAY)
    return candidate.dt.add_business_days(0, holidays=holidays, roll="backward")


def vx_expiries(years: pl.Series, months: pl.Series) -> pl.Series:
    """VX expiries of contract months given as parallel year and month series."""
    frame = pl.DataFrame({"y": years, "m": months})
    month = pl.date(pl.col("y"), pl.col("m"), 1)
    return frame.select(expiry_expr(month).alias("expiry")).to_series()


def vx_expiry(year: int, month: int) -> dt.date:
    """The VX (and VIX option) expiry of the contract month ``year``-``month``.

    Args:
        year: Contract year, e.g. 2018.
        month: Contract month, 1-12.

    Returns:
        The final settlement date (last trading day) of that monthly contract.
    """
    out: dt.date = vx_expiries(pl.Series([year]), pl.Series([month]))[0]
    return out


def monthly_expiries(first: dt.date, count: int) -> pl.Series:
    """Expiries of ``count`` consecutive contract months starting with ``first``'s month."""
    start = first.replace(day=1)
    months = start.year * 12 + start.month - 1 + count - 1
    end = dt.date(months // 12, months % 12 + 1, 1)
    starts = pl.date_range(start, end, interval="1mo", eager=True)
    return pl.DataFrame({"m": starts}).select(expiry_expr(pl.col("m")).alias("expiry")).to_series()


def listed_expiries(on: dt.date, n: int = 9) -> list[dt.date]:
    """The ``n`` nearest monthly VX expiries still trading on ``on`` (expiry day included).

    Args:
        on: The trading date.
        n: How many monthly contracts (CFE lists up to nine).

    Returns:
        Expiry dates in increasing order; the first is the front month.
    """
    expiries = monthly_expiries(on, n + 1)
    return expiries.filter(expiries >= on).head(n).to_list()


def nearest_expiry(on: dt.date, target_dte: int) -> dt.date:
    """The monthly expiry on or after ``on`` whose days to expiry are closest to the target.

    Args:
        on: The trading date.
        target_dte: Wanted calendar days to expiry (e.g. 30, 110, 220).

    Returns:
        The expiry; on a tie the earlier one.
    """
    out: dt.date = nearest_expiries(pl.Series([on]), target_dte)[0]
    return out


def nearest_expiries(dates: pl.Series, target_dte: int) -> pl.Series:
    """For each date, the monthly expiry on or after it nearest to ``target_dte`` days out."""
    dates = dates.cast(pl.Date)
    first, last = dates.min(), dates.max()
    if first is None or last is None:
        return pl.Series("expiry", [], dtype=pl.Date)
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    span_months = (last.year - first.year) * 12 + last.month - first.month
    expiries = monthly_expiries(first, span_months + target_dte // 28 + 3).alias("expiry")
    return _nearest_on_or_after(dates, expiries.sort(), target_dte)


def _nearest_on_or_after(dates: pl.Series, expiries: pl.Series, target_dte: int) -> pl.Series:
    """Pick, per date, the expiry >= date closest to date + target_dte (earlier on ties)."""
    left = pl.DataFrame({"date": dates}).with_row_index("i").with_columns(
        (pl.col("date") + pl.duration(days=target_dte)).alias("target")
    ).sort("target")
    right = pl.DataFrame({"target": expiries, "expiry": expiries})
    back = left.join_asof(right, on="target", strategy="backward").rename({"expiry": "b"})
    both = back.join_asof(right, on="target", strategy="forward").rename({"expiry": "f"})
    valid_b = pl.col("b").is_not_null() & (pl.col("b") >= pl.col("date"))
    closer_b = (pl.col("target") - pl.col("b")) <= (pl.col("f") - pl.col("target"))
    pick = pl.when(valid_b & (closer_b | pl.col("f").is_null())).then("b").otherwise("f")
    return both.sort("i").select(pick.alias("expiry")).to_series()


def contract_month_code(month: int) -> str:
    """The futures month letter (F=Jan ... Z=Dec)."""
    return MONTH_CODES[month - 1]
