"""CFE VX futures daily files -> ``vx_futures`` rows (parse); per-contract files (plan, write).

Accepted layouts: CFE's per-contract downloads (``CFE_F08_VX.csv``, ``VX_2018-02-14.csv``),
with or without the disclaimer paragraph before the header, and concatenations of them with
many contracts in one file. Header:
``Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest``;
dates MM/DD/YYYY or ISO.

Conventions:
- ``symbol`` is ``VX/<month code><two-digit year>``, e.g. ``VX/G18`` for the label
  ``G (Feb 2018)`` or ``G (Feb 18)``; ``expiry`` comes from the label by the CFE rule
  (``core.expiry``), and must match the expiry in a ``VX_YYYY-MM-DD.csv`` file name.
- Prices before 2007-03-26 were quoted on the x10 VBI scale and are divided by 10; the
  ``change`` of the first row on the new scale is recomputed from the two settles.
- CFE writes 0 for "no value": a zero open/high/low/close/settle becomes null. A day with
  zero volume is a no-trade day: ``no_trade`` is true and OHLC are null (on such days CFE
  sometimes puts quotes in High/Low), while the carried settle stays.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.errors import SourceDataError
from core.expiry import MONTH_CODES, listed_expiries, vx_expiries
from sources import config as sources_config
from sources.adapter import Plan, RunContext, SourceAdapter, write_file
from sources.http import decode_text

SOURCE = "cfe"
DATE_COL, LABEL_COL = "Trade Date", "Futures"
PRICE_COLS = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Settle": "settle"}
COUNT_COLS = {"Total Volume": "volume", "Open Interest": "open_interest"}
REQUIRED = [DATE_COL, LABEL_COL, *PRICE_COLS, "Change", *COUNT_COLS]
NUMERIC = [*PRICE_COLS, "Change", *COUNT_COLS]
RESCALE_BEFORE = dt.date(2007, 3, 26)
OLD_SCALE = 10.0
MONTH_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
LABEL = re.compile(r"^\s*([A-Z])\s*\(\s*([A-Za-z]{3})\s+(\d{2}|\d{4})\s*\)\s*$")
FILE_EXPIRY = re.compile(r"VX_(\d{4}-\d{2}-\d{2})\.csv$", re.IGNORECASE)
COLUMNS = ["trade_date", "expiry", "symbol", "open", "high", "low", "close", "settle",
           "change", "volume", "open_interest", "no_trade"]
VX_LISTED = 9  # monthly VX contracts on the board


def _fail(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


def parse(payload: bytes, name: str) -> pl.DataFrame:
    """Parse one CFE VX file (one or many contracts) into ``vx_futures`` columns.

    Args:
        payload: The file's bytes as received.
        name: The file name, used in error messages and to cross-check the expiry.

    Returns:
        A frame with the ``vx_futures`` columns except ``ingested_at``, sorted by expiry and
        trade date.

    Raises:
        SourceDataError: empty or truncated file, missing or renamed column, a non-numeric
            value, an unknown contract label, a negative price, a trade date after the
            contract's expiry, or one contract with two different rows for one date.
    """
    raw, first_line = _read_table(payload, name)
    _check_complete(raw, name, first_line)
    typed = _typed(raw, name, first_line)
    _check_non_negative(typed, name, first_line)
    frame = _with_expiry(typed, name)
    frame = _rescaled(frame)
    frame = _no_trade_marked(frame)
    frame = _deduplicated(frame, name)
    _check_expiry(frame, name)
    return frame.select(COLUMNS).sort("expiry", "trade_date")


def _read_table(payload: bytes, name: str) -> tuple[pl.DataFrame, int]:
    """The CSV under the header line, all as strings, and the file line of its first row."""
    text = decode_text(payload, source=SOURCE, name=name)
    lines = text.splitlines()
    header_at = _header_index(lines, name)
    body = "\n".join(lines[header_at:])
    try:
        frame = pl.read_csv(io.StringIO(body), infer_schema_length=0)
    except (pl.exceptions.PolarsError, ValueError) as e:
        ragged = "more fields" in str(e)
        problem = "a row has more fields than the header" if ragged else "unreadable CSV"
        raise _fail(name, f"{problem} ({str(e).splitlines()[0]})") from e
    frame = frame.rename({c: c.strip() for c in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise _fail(name, f"missing or renamed column(s) {missing}; got {frame.columns}")
    if frame.height == 0:
        raise _fail(name, "no data rows under the header")
    return frame.select(REQUIRED), header_at + 2


def _header_index(lines: list[str], name: str) -> int:
    """Index of the header line; CFE's disclaimer paragraph may come before it."""
    for i, line in enumerate(lines[:5]):
        if line.strip().startswith(DATE_COL):
            return i
    first = lines[0].strip()
    # No recognisable header: report the columns of the first line that looks like one.
    start = 1 if first.startswith("CFE data") else 0
    return start if start < len(lines) else 0


def _check_complete(raw: pl.DataFrame, name: str, first_line: int) -> None:
    """Raise when a row lacks a required field (a truncated file or a short line)."""
    gaps = raw.with_row_index("i").filter(pl.any_horizontal(pl.col(REQUIRED).is_null()))
    if gaps.height:
        i = int(gaps["i"][0])
        if i == raw.height - 1:
            raise _fail(name, f"incomplete row at last row, line {first_line + i} "
                              "(truncated file?)")
        raise _fail(name, f"incomplete row at line {first_line + i} (an empty field)")


def _typed(raw: pl.DataFrame, name: str, first_line: int) -> pl.DataFrame:
    """Dates parsed and numeric columns cast, with an error naming the first bad value."""
    text = raw.with_columns(pl.col(REQUIRED).str.strip_chars())
    day = text[DATE_COL]
    parsed = text.select(pl.coalesce(
        pl.col(DATE_COL).str.to_date("%m/%d/%Y", strict=False),
        pl.col(DATE_COL).str.to_date("%Y-%m-%d", strict=False),
    )).to_series()
    _check_cast(day, parsed, DATE_COL, name, first_line)
    out = {"trade_date": parsed, "label": text[LABEL_COL]}
    for col in NUMERIC:
        values = text[col].cast(pl.Float64, strict=False)
        _check_cast(text[col], values, col, name, first_line)
        out[col] = values
    return pl.DataFrame(out)


def _check_cast(before: pl.Series, after: pl.Series, col: str, name: str, first: int) -> None:
    """Raise naming the line and value when a cast turned text into null."""
    bad = (after.is_null() | after.is_nan()) if after.dtype == pl.Float64 else after.is_null()
    idx = bad.arg_true()
    if len(idx):
        i = int(idx[0])
        raise _fail(name, f"bad value {before[i]!r} in column {col!r} at line {first + i}")


def _with_expiry(typed: pl.DataFrame, name: str) -> pl.DataFrame:
    """Rows with ``symbol`` and ``expiry`` decoded from the CFE label."""
    labels = typed.select(pl.col("label").unique())["label"]
    contracts = _contracts(labels, name)
    frame = typed.join(contracts, on="label", how="left")
    expected = FILE_EXPIRY.search(name)
    if expected:
        wrong = frame.filter(pl.col("expiry") != dt.date.fromisoformat(expected.group(1)))
        if wrong.height:
            raise _fail(name, f"label {wrong['label'][0]!r} expires {wrong['expiry'][0]}, "
                              f"not on the date in the file name")
    return frame


def _contracts(labels: pl.Series, name: str) -> pl.DataFrame:
    """One row per distinct label: its symbol and expiry; error on an unknown label."""
    rows = []
    for label in labels.to_list():  # a handful of distinct labels, not per row
        m = LABEL.match(label)
        month = MONTH_NAMES.index(m.group(2).title()) + 1 if m and \
            m.group(2).title() in MONTH_NAMES else 0
        if not m or month == 0 or MONTH_CODES[month - 1] != m.group(1):
            raise _fail(name, f"unrecognised contract label {label!r} in column 'Futures'")
        year = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
        rows.append((label, year, month, f"VX/{m.group(1)}{year % 100:02d}"))
    frame = pl.DataFrame(rows, schema=["label", "year", "month", "symbol"], orient="row")
    return frame.with_columns(
        vx_expiries(frame["year"], frame["month"]).alias("expiry")
    ).select("label", "symbol", "expiry")


def _rescaled(frame: pl.DataFrame) -> pl.DataFrame:
    """Prices before 2007-03-26 divided by 10; the first new-scale change recomputed."""
    old = pl.col("trade_date") < RESCALE_BEFORE
    scaled = frame.sort("symbol", "trade_date").with_columns(
        pl.when(old).then((pl.col(c) / OLD_SCALE).round(6)).otherwise(pl.col(c)).alias(c)
        for c in [*PRICE_COLS, "Change"]
    )
    prev_date = pl.col("trade_date").shift(1).over("symbol")
    prev_settle = pl.col("Settle").shift(1).over("symbol")
    switch_day = ~old & (prev_date < RESCALE_BEFORE) & (prev_settle > 0) & (pl.col("Settle") > 0)
    return scaled.with_columns(
        pl.when(switch_day).then((pl.col("Settle") - prev_settle).round(4))
        .otherwise(pl.col("Change")).alias("Change")
    )


def _no_trade_marked(frame: pl.DataFrame) -> pl.DataFrame:
    """Typed output columns: zero prices null, no-trade days flagged with null OHLC."""
    no_trade = pl.col("Total Volume") == 0
    ohlc = ["Open", "High", "Low", "Close"]
    return frame.with_columns(
        *(pl.when(no_trade | (pl.col(c) == 0)).then(None).otherwise(pl.col(c))
          .alias(PRICE_COLS[c]) for c in ohlc),
        pl.when(pl.col("Settle") == 0).then(None).otherwise(pl.col("Settle")).alias("settle"),
        pl.col("Change").alias("change"),
        *(pl.col(c).round(0).cast(pl.Int64).alias(v) for c, v in COUNT_COLS.items()),
        no_trade.alias("no_trade"),
    )


def _deduplicated(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Exact repeats dropped; two different rows for one contract and date are an error."""
    unique = frame.select(COLUMNS).unique(maintain_order=True)
    clash = unique.filter(pl.len().over("symbol", "trade_date") > 1)
    if clash.height:
        row = clash.row(0, named=True)
        raise _fail(name, f"contract {row['symbol']} has different rows for trade date "
                          f"{row['trade_date']}")
    return unique


def _check_non_negative(typed: pl.DataFrame, name: str, first_line: int) -> None:
    """Raise on a negative price, volume or open interest, naming the line."""
    for col in [*PRICE_COLS, *COUNT_COLS]:
        idx = (typed[col] < 0).arg_true()
        if len(idx):
            i = int(idx[0])
            raise _fail(name, f"negative {col} {typed[col][i]} at line {first_line + i}")


def _check_expiry(frame: pl.DataFrame, name: str) -> None:
    """Raise when a row is dated after its contract's expiry (wrong label or rule)."""
    late = frame.filter(pl.col("trade_date") > pl.col("expiry"))
    if late.height:
        row = late.row(0, named=True)
        raise _fail(name, f"trade date {row['trade_date']} is after the expiry "
                          f"{row['expiry']} of {row['symbol']}")


# -- what to fetch ----------------------------------------------------------------------
def _months(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start.replace(day=1)
    while day <= end:
        yield day
        day = (day + dt.timedelta(days=32)).replace(day=1)


def vx_expiries_for(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every monthly VX expiry listed on some day of [start, end]."""
    found = {e for d in [*_months(start, end), end] for e in listed_expiries(d, VX_LISTED)}
    return sorted(e for e in found if e >= start)


def plan(run: RunContext) -> Plan:
    """One ``VX_{expiry}.csv`` per contract listed during the run's window."""
    first, last = run.start or run.run_date, run.end or run.run_date
    return [(f"VX_{e.isoformat()}.csv", sources_config.render(run.config.cfe.url, expiry=e))
            for e in vx_expiries_for(first, last)]


# -- writing (demo market, fixtures) ------------------------------------------------------
def contract_label(expiry: pl.Expr) -> pl.Expr:
    """CFE's contract label of an expiry, e.g. ``F (Jan 2024)`` (the expiry's month)."""
    code = pl.lit(list(MONTH_CODES), pl.List(pl.String)).list.get(expiry.dt.month() - 1)
    return pl.concat_str(code, pl.lit(" ("), expiry.dt.strftime("%b %Y"), pl.lit(")"))


def render(frame: pl.DataFrame) -> bytes:
    """``vx_futures`` rows in CFE's per-contract layout (ISO dates, 0 for a missing price).

    The label comes from the expiry, so ``parse`` reads the same symbol and expiry back.
    """
    body = frame.sort("expiry", "trade_date").select(
        pl.col("trade_date").alias("Trade Date"), contract_label(pl.col("expiry")).alias("Futures"),
        *[pl.col(c).fill_null(0.0).alias(c.capitalize()) for c in ("open", "high", "low",
                                                                  "close")],
        pl.col("settle").alias("Settle"), pl.col("change").alias("Change"),
        pl.col("volume").alias("Total Volume"), pl.lit(0).alias("EFP"),
        pl.col("open_interest").alias("Open Interest"))
    return body.write_csv(line_terminator="\n").encode()


def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """One ``VX_{expiry}.csv`` per contract of ``vx_futures`` rows, by expiry."""
    return [write_file(folder / f"VX_{expiry.isoformat()}.csv", render(part))
            for (expiry,), part in frame.sort("expiry").partition_by(
                "expiry", as_dict=True, maintain_order=True).items()]


ADAPTER = SourceAdapter(
    name=SOURCE, table="vx_futures", plan=plan,
    wanted=lambda path: path.name.lower().endswith(".csv") and "vx" in path.name.lower(),
    parse=lambda payload, name, run: parse(payload, name),
    write=write, located=lambda folder: {"url": f"{folder}/VX_{{expiry}}.csv"},
    backfill_unit="year")
