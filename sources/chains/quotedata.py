"""CBOE's quotedata CSV export (``spx_quotedata.csv``): calls left, puts right, read into rows.

Its writer is test support (``tests/sources/writers.py``): no flow writes this layout.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import polars as pl

from sources.chains.rows import NUMBER_TYPES, SOURCE, decode_symbols, error, finish, to_numbers
from sources.chains.snapshot import session_for, snapshot_time
from sources.http import decode_text
from storage import schemas

SIDE_FIELDS = ("symbol", "last", "net", "bid", "ask", "volume", "iv", "delta", "gamma",
               "open_interest")
QUOTEDATA_HEADER = ("Expiration Date", "Calls", "Last Sale", "Net", "Bid", "Ask", "Volume", "IV",
                    "Delta", "Gamma", "Open Interest", "Strike", "Puts", "Last Sale", "Net",
                    "Bid", "Ask", "Volume", "IV", "Delta", "Gamma", "Open Interest")
QUOTEDATA_NAMES = ["expiration_text", *(f"c_{f}" for f in SIDE_FIELDS), "strike_text",
                   *(f"p_{f}" for f in SIDE_FIELDS)]
# Expiration cells: CBOE's "Fri Mar 13 2026", and forms reformatted exports use.
EXPIRATION_FORMATS = ("%a %b %d %Y", "%d-%m-%y", "%Y-%m-%d", "%m/%d/%Y", "%d-%m-%Y")
# "Bid: 4420.5" style cells that follow the date on the metadata line.
_LABEL = re.compile(r"^[^\W\d_][^:,]*:\s")
_NAME_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _split_quotedata(text: str, name: str) -> tuple[list[str], str]:
    """The metadata lines before the header, and the body from the header on."""
    head = text[:8192].splitlines(keepends=True)[:10]
    for i, line in enumerate(head):
        if line.lstrip('"').startswith("Expiration Date"):
            start = sum(len(h) for h in head[:i])
            return [m.strip() for m in head[:i] if m.strip(" ,\r\n")], text[start:]
    raise error(name, "no 'Expiration Date,Calls,...' header in the first 10 lines")


def _check_header(body: str, name: str) -> None:
    """Raise a SourceDataError naming the first header cell that differs from CBOE's layout."""
    header = next(csv.reader([body.split("\n", 1)[0]]))
    header = [h.strip() for h in header]
    while header and header[-1] == "":
        header.pop()
    for i, expected in enumerate(QUOTEDATA_HEADER):
        got = header[i] if i < len(header) else None
        if got != expected:
            raise error(name, f"header column {i + 1} is {got!r}, expected {expected!r}")


def _meta_values(meta: list[str], name: str
                 ) -> tuple[float | None, dt.datetime | None, str | None]:
    """The underlying's last price, the snapshot instant and the date line's text."""
    underlying, snapshot, date_line = None, None, None
    for line in meta:
        cells = [c.strip() for c in next(csv.reader([line])) if c.strip()]
        for cell in cells:
            if m := re.match(r"(?i)(last|último|ultimo|dernier|letzter)\s*:\s*(.+)$", cell):
                underlying = _meta_number(m.group(2), name)
        if cells and re.match(r"(?i)^(date|fecha|datum|data)\s*:", cells[0]):
            date_line = _date_text(cells)
            snapshot = _snapshot_of(date_line, name)
    return underlying, snapshot, date_line


def _date_text(cells: list[str]) -> str:
    """The date line's own text: an unquoted one spills its commas into the next cells."""
    parts = [cells[0]]
    for cell in cells[1:]:
        if _LABEL.match(cell):
            break
        parts.append(cell)
    return ", ".join(parts)


def _snapshot_of(text: str, name: str) -> dt.datetime:
    """The snapshot instant of a date line, or a SourceDataError quoting the line."""
    try:
        return snapshot_time(text)
    except ValueError as e:
        raise error(name, f"unrecognised date line {text!r} ({e})") from e


def _meta_number(text: str, name: str) -> float:
    """A number from a metadata cell such as ``Last: 4,500.53``."""
    try:
        return float(text.replace(",", "").strip())
    except ValueError as e:
        raise error(name, f"non-numeric metadata value {text!r}") from e


def _quote_date_from_name(name: str) -> dt.date:
    """The session date a reformatted export (no metadata) carries in its file name."""
    m = _NAME_DATE.search(name)
    if not m:
        raise error(name, "no metadata date line and no YYYY-MM-DD date in the file name")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as e:
        raise error(name, f"bad date in file name ({e})") from e


def _quotedata_types() -> dict[str, pl.DataType]:
    """The dtype each quotedata column parses to when every cell is a plain number."""
    side = {f: NUMBER_TYPES.get(f, pl.Float64()) for f in SIDE_FIELDS} | {"symbol": pl.String()}
    return {"expiration_text": pl.String(), **{f"c_{f}": t for f, t in side.items()},
            "strike_text": pl.Float64(), **{f"p_{f}": t for f, t in side.items()}}


def _read_csv_body(body: str, typed: bool) -> pl.DataFrame:
    """The quotedata rows under unique call/put names: typed, or every cell as text."""
    if typed:
        return pl.read_csv(io.StringIO(body), has_header=False, skip_rows=1,
                           schema=_quotedata_types())
    raw = pl.read_csv(io.StringIO(body), has_header=False, skip_rows=1, infer_schema=False,
                      truncate_ragged_lines=True)
    if raw.width < len(QUOTEDATA_NAMES):
        raise ValueError(f"rows have {raw.width} fields, expected {len(QUOTEDATA_NAMES)}")
    return raw.select(raw.columns[: len(QUOTEDATA_NAMES)]).rename(
        dict(zip(raw.columns, QUOTEDATA_NAMES, strict=False)))


def _read_quotedata_body(body: str, name: str) -> pl.DataFrame:
    """The quotedata rows, numbers parsed by the CSV reader when it can."""
    try:
        raw = _read_csv_body(body, typed=True)
    except pl.exceptions.PolarsError:
        # Some cell is not a plain number (thousands separator, text, ragged row): read all as
        # text so _to_numbers can clean it or name the bad value.
        try:
            raw = _read_csv_body(body, typed=False)
        except (pl.exceptions.PolarsError, ValueError) as e:
            raise error(name, f"unreadable CSV body ({e})") from e
    short = raw.filter(pl.col("p_open_interest").is_null() | pl.col("p_symbol").is_null())
    if short.height:
        raise error(name, f"truncated: {short.height} row(s) end early, e.g. "
                           f"{short['c_symbol'][0]!r}")
    return raw


def _expiration_expr() -> pl.Expr:
    """The expiration date from the quotedata ``Expiration Date`` cell, in any known form."""
    text = pl.col("expiration_text").str.strip_chars()
    return pl.coalesce(text.str.to_date(f, strict=False) for f in EXPIRATION_FORMATS)


def _sides(raw: pl.DataFrame) -> pl.DataFrame:
    """Calls (left block) and puts (right block) stacked into one row per option."""
    shared = [pl.col("expiration_text"), pl.col("strike_text")]
    return pl.concat([
        raw.select(*shared, *(pl.col(f"{s}_{f}").alias(f) for f in SIDE_FIELDS))
        for s in ("c", "p")
    ])


def _check_symbols(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` once the written expiration and strike agree with the OCC-decoded ones."""
    wrong_strike = frame.filter((pl.col("strike_text") - pl.col("strike")).abs() > 1e-6)
    if wrong_strike.height:
        raise error(name, f"strike {wrong_strike['strike_text'][0]} disagrees with the option "
                           f"symbol {wrong_strike['symbol'][0]!r}")
    written = frame.select(_expiration_expr().alias("written"), "expiration_text", "expiration")
    bad = written.filter(pl.col("written").is_null())
    if bad.height:
        raise error(name, f"unreadable expiration {bad['expiration_text'][0]!r}")
    clash = written.filter(pl.col("written") != pl.col("expiration"))
    if clash.height:
        raise error(name, f"expiration {clash['expiration_text'][0]!r} disagrees with the "
                           f"option symbol ({clash['expiration'][0]})")
    return frame


def _check_quote_date(quote_date: dt.date, rows: pl.DataFrame, date_line: str | None,
                      name: str) -> None:
    """Refuse a quote date after every expiration the chain's option symbols name.

    Options are quoted until they expire, so a later date was misread (a day/month swap, a
    wrong year) or belongs to another file.
    """
    nearest = rows["expiration"].min()
    if isinstance(nearest, dt.date) and quote_date > nearest:
        origin = f"the date line {date_line!r}" if date_line else "the file name"
        raise error(name, f"quote date {quote_date} (from {origin}) is after the nearest "
                           f"expiration the option symbols name ({nearest})")


def parse_quotedata(payload: bytes, name: str) -> pl.DataFrame:
    """Parse a CBOE quotedata CSV export (``spx_quotedata.csv``) into option_chain rows.

    Handles the three metadata lines (the ``Date:`` line in any browser locale, checked
    against the chain: on or before the nearest expiration of the option symbols),
    the duplicated call/put column names, ``Fri Mar 13 2026`` expirations and reformatted
    exports without metadata (quote date then taken from the file name; no snapshot time,
    no underlying).

    Args:
        payload: the CSV bytes.
        name: the file name, for errors and for reformatted exports' date.

    Returns:
        One row per option (calls and puts), OCC symbols decoded into root and right.

    Raises:
        SourceDataError: bad header, truncated rows, non-numeric or negative values, an
            unrecognised date line or one after the chain's nearest expiration, or
            expirations that disagree with the symbols.
    """
    meta, body = _split_quotedata(decode_text(payload, source=SOURCE, name=name), name)
    _check_header(body, name)
    underlying, snapshot, date_line = _meta_values(meta, name)
    quote_date = session_for(snapshot, name) if snapshot else _quote_date_from_name(name)
    rows = _sides(_read_quotedata_body(body, name))
    rows = to_numbers(rows, name, {c: NUMBER_TYPES[c] for c in (
        "last", "bid", "ask", "iv", "delta", "gamma", "volume", "open_interest")} | {
        "strike_text": pl.Float64()})
    rows = _check_symbols(decode_symbols(rows, name), name)
    _check_quote_date(quote_date, rows, date_line, name)
    return finish(rows.with_columns(
        pl.col("strike_text").alias("strike"),
        pl.lit(None, pl.Float64).alias("vega"),
        pl.lit(underlying, pl.Float64).alias("underlying"),
        pl.lit(quote_date).alias("quote_date"),
        pl.lit(snapshot, schemas.UTC_TS).alias("snapshot_at"),
    ), name)


