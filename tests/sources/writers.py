"""Writers only tests need: layouts no flow or demo writes, built to feed the parsers."""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.clock import NEW_YORK
from sources.chains import QUOTEDATA_HEADER, SIDE_FIELDS, occ_symbol_expr
from sources.chains.rows import one_snapshot


def _date_line(snapshot: dt.datetime) -> str:
    """The English quotedata date line: ``"Date: January 7, 2024 at 10:52 AM EST"``."""
    local = snapshot.astimezone(NEW_YORK)
    clock = f"{local.hour % 12 or 12}:{local:%M} {'PM' if local.hour >= 12 else 'AM'}"
    return f'"Date: {local:%B} {local.day}, {local.year} at {clock} {local.tzname()}"'


def render_quotedata(frame: pl.DataFrame, *, title: str = "S&P 500 INDEX") -> bytes:
    """One snapshot's rows as a CBOE quotedata CSV export (English locale); ``parse`` inverts it.

    Calls on the left, puts on the right, one line per root, expiration and strike that has
    both sides; the ``Net`` columns are written as 0.
    """
    snapshot, underlying = one_snapshot(frame)
    side = [occ_symbol_expr().alias("symbol"), pl.col("last"), pl.lit(0.0).alias("net"),
            *(pl.col(c) for c in SIDE_FIELDS[3:])]
    keys = ["root", "expiration", "strike"]
    calls = frame.filter(pl.col("right") == "C").select(*keys, *side)
    puts = frame.filter(pl.col("right") == "P").select(*keys, *side)
    rows = calls.join(puts, on=keys, suffix="_p").sort("expiration", "strike", "root").select(
        pl.col("expiration").dt.strftime("%a %b %d %Y"), *SIDE_FIELDS,
        pl.col("strike").round(2).cast(pl.String).alias("strike_text"),
        *(f"{f}_p" for f in SIDE_FIELDS))
    meta = (f"\n{title},Last: {underlying},Change: 0\n"
            f"{_date_line(snapshot)},Bid: {underlying},Ask: {underlying},Size: 1*1,Volume: 0\n")
    body = rows.write_csv(include_header=False)
    return (meta + ",".join(QUOTEDATA_HEADER) + "\n" + body).encode()
