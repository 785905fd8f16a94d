"""CBOE index histories (``{SYMBOL}_History.csv``) -> ``index_daily`` rows.

Two layouts exist: OHLC files (``DATE,OPEN,HIGH,LOW,CLOSE``) and value-only files
(``DATE,VVIX``, ``DATE,SKEW``...), where open/high/low are null and close is the value.
Dates are MM/DD/YYYY. The symbol comes from the file name or the value-only header.

Conventions:
- Data are kept as CBOE published them: VVIX's odd early-2006 rows (03/15/2006 = 15.71) and
  pre-1992 VIX rows with O=H=L=C stay; judging them is the validations' job.
- In a value-only file a value of exactly 0 is CBOE's "no value" (DSPX has one on
  02/08/2018): the row is dropped and logged, as a missing observation is not a value.
  Any other zero or negative price is an error.
- Identical duplicate rows are dropped; the same date with different values is an error.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from core.errors import SourceDataError, UnsafePathError
from core.paths import safe_segment
from sources.adapter import Bounds, SourceAdapter, write_file
from sources.config import SourcesConfig
from sources.config import render as render_template
from sources.http import ensure_data

SOURCE = "cboe"
OHLC_HEADER = ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]
PRICES = ["open", "high", "low", "close"]
COLUMNS = ["symbol", "date", *PRICES]
FILE_NAME = re.compile(r"^(?P<symbol>[^/\\]+?)_History\.csv$", re.IGNORECASE)
# A value-only header naming the value rather than the index says nothing about the symbol.
GENERIC_VALUE = {"CLOSE", "VALUE", "PRICE"}
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")

log = logging.getLogger(__name__)


def _fail(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


def urls(config: SourcesConfig) -> list[tuple[str, str]]:
    """The ``(file name, location)`` of every configured symbol's history file."""
    return [(f"{s}_History.csv", render_template(config.cboe.url, symbol=s))
            for s in config.cboe.symbols]


def parse(payload: bytes, name: str) -> pl.DataFrame:
    """Parse one CBOE ``*_History.csv`` file into ``index_daily`` columns.

    Args:
        payload: The file's bytes as received.
        name: The file name (``VIX_History.csv``): gives the symbol and names the file in
            errors.

    Returns:
        symbol, date, open, high, low, close (no ``ingested_at``), sorted by date.

    Raises:
        SourceDataError: Empty or HTML body, unknown or renamed header, a truncated last
            line, missing or non-numeric values, bad dates, zero or negative prices, the
            same date twice with different values.
    """
    raw = _read(ensure_data(payload, source=SOURCE, name=name), name)
    symbol, value_only = _layout(raw.columns, name)
    raw = raw.rename({c: c.strip().lstrip("\ufeff").upper() for c in raw.columns if c != "line"})
    raw = _complete_rows(raw, name, truncated=not payload.rstrip(b" \t").endswith(b"\n"))
    frame = _typed(raw, name, symbol=symbol, value_only=value_only)
    if value_only:
        frame = _without_unpublished(frame, name)
    _check_positive(frame, name)
    frame = _deduplicated(frame, name)
    return frame.drop("line").sort("date")


def _read(payload: bytes, name: str) -> pl.DataFrame:
    """Every field as text, with the file's line number of each row."""
    try:
        header = pl.read_csv(io.BytesIO(payload), n_rows=0, encoding="utf8-lossy").columns
        _layout(header, name)  # a renamed or missing column is reported before any row
        raw = pl.read_csv(io.BytesIO(payload), infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as e:
        raise _fail(name, f"not a readable CSV: {str(e).splitlines()[0]}") from e
    return raw.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))


def _layout(columns: list[str], name: str) -> tuple[str, bool]:
    """The symbol, and whether the file is value-only, from the header and file name."""
    header = [c.strip().lstrip("\ufeff").upper() for c in columns if c != "line"]
    match = FILE_NAME.match(name.rsplit("/", 1)[-1])
    from_name = match["symbol"].upper() if match else None
    if header == OHLC_HEADER:
        symbol, value_only = from_name, False
    elif len(header) == 2 and header[0] == "DATE" and not header[1].startswith("DATE"):
        from_header = None if header[1] in GENERIC_VALUE else header[1]
        if from_name and from_header and from_name != from_header:
            raise _fail(name, f"file name says {from_name} but the header says {from_header}")
        symbol, value_only = from_name or from_header, True
    else:
        raise _fail(name, f"unexpected header {','.join(header)!r}; expected "
                          f"{','.join(OHLC_HEADER)!r} or 'DATE,<SYMBOL>'")
    if symbol is None:
        raise _fail(name, "cannot tell the symbol: name the file <SYMBOL>_History.csv")
    try:
        return safe_segment(symbol, "symbol"), value_only
    except UnsafePathError as e:
        raise _fail(name, str(e)) from e


def _complete_rows(raw: pl.DataFrame, name: str, *, truncated: bool) -> pl.DataFrame:
    """Rows without blank lines; an empty field is an error (a cut last line says so)."""
    fields = [c for c in raw.columns if c != "line"]
    raw = raw.filter(~pl.all_horizontal(pl.col(fields).is_null()))
    if raw.is_empty():
        raise _fail(name, "no data rows after the header")
    holes = raw.filter(pl.any_horizontal(pl.col(fields).is_null()))
    if not holes.is_empty():
        line = holes["line"][0]
        row = ",".join(v or "" for v in holes.row(0)[1:])
        if truncated and line == raw["line"][-1]:
            raise _fail(name, f"file looks truncated: last line {line} is {row!r}")
        raise _fail(name, f"missing value at line {line}: {row!r}")
    return raw


def _typed(raw: pl.DataFrame, name: str, *, symbol: str, value_only: bool) -> pl.DataFrame:
    """Dates and prices typed; bad dates or non-numeric values are reported by line."""
    value_cols = [c for c in raw.columns if c not in ("line", "DATE")]
    dates = pl.coalesce([pl.col("DATE").str.strip_chars().str.strptime(pl.Date, f, strict=False)
                         for f in DATE_FORMATS])
    typed = raw.select(
        "line", pl.lit(symbol).alias("symbol"), dates.alias("date"),
        *[pl.col(c).str.strip_chars().cast(pl.Float64, strict=False).alias(c)
          for c in value_cols])
    _report_unparsed(raw, typed, "DATE", "date", name, "not a MM/DD/YYYY date")
    for col in value_cols:
        _report_unparsed(raw, typed, col, col, name, "not a number")
    if value_only:
        return typed.select("line", "symbol", "date",
                            *[pl.lit(None, pl.Float64).alias(c) for c in PRICES[:3]],
                            pl.col(value_cols[0]).alias("close"))
    return typed.rename({c: c.lower() for c in value_cols})


def _report_unparsed(
    raw: pl.DataFrame, typed: pl.DataFrame, col: str, out: str, name: str, problem: str
) -> None:
    """Raise naming the first row whose ``col`` did not convert (or is not finite)."""
    values = typed[out]
    bad = values.is_null()
    if values.dtype == pl.Float64:
        bad = bad | ~values.is_finite()
    if bad.any():
        row = raw.filter(bad).row(0, named=True)
        raise _fail(name, f"{problem}: {col}={row[col]!r} at line {row['line']}")


def _without_unpublished(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """A value-only file without its 0 rows (CBOE's 'no value'), logged."""
    zero = frame.filter(pl.col("close") == 0)
    if zero.is_empty():
        return frame
    log.warning("cboe %s: dropped %d row(s) with value 0 (no value published): %s",
                name, zero.height, ", ".join(str(d) for d in zero["date"].head(5)))
    return frame.filter(pl.col("close") != 0)


def _check_positive(frame: pl.DataFrame, name: str) -> None:
    """Raise naming the first row with a zero or negative price."""
    bad = frame.filter(pl.any_horizontal(pl.col(PRICES) <= 0))
    if not bad.is_empty():
        row = bad.row(0, named=True)
        prices = {c: row[c] for c in PRICES if row[c] is not None}
        raise _fail(name, f"zero or negative price at line {row['line']} ({row['date']}): "
                          f"{prices}")


def _deduplicated(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Rows with identical repeats dropped; the same date with other values is an error."""
    frame = frame.unique(subset=COLUMNS, keep="first", maintain_order=True)
    repeated = frame.filter(pl.col("date").is_duplicated())
    if not repeated.is_empty():
        day = repeated["date"][0]
        rows = repeated.filter(pl.col("date") == day)
        shown = "; ".join(f"line {r['line']}: close={r['close']}" for r in rows.iter_rows(
            named=True))
        raise _fail(name, f"date {day} appears twice with different values ({shown})")
    return frame


def render(frame: pl.DataFrame) -> bytes:
    """One symbol's rows in CBOE's layout: OHLC, or ``DATE,<SYMBOL>`` when O/H/L are null.

    The inverse of ``parse`` for prices with up to six decimals (CBOE writes six).
    """
    symbols = frame["symbol"].unique().to_list()
    if len(symbols) != 1:
        raise ValueError(f"render writes one symbol per file, got {symbols}")
    value_only = frame.select(pl.col(PRICES[:3]).is_null().all()).row(0) == (True,) * 3
    cols = ["close"] if value_only else PRICES
    header = ["DATE", symbols[0]] if value_only else OHLC_HEADER
    out = frame.sort("date").select(pl.col("date").dt.strftime("%m/%d/%Y"), *cols)
    # CBOE writes six decimals (17.240000).
    body = out.write_csv(include_header=False, float_precision=6)
    return (",".join(header) + "\n" + body).encode()


def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """One ``{SYMBOL}_History.csv`` per symbol of ``index_daily`` rows, in symbol order."""
    return [write_file(folder / f"{symbol}_History.csv", render(part))
            for (symbol,), part in frame.partition_by("symbol", as_dict=True,
                                                      maintain_order=True).items()]


def _bounds(config: SourcesConfig) -> Mapping[str, Bounds]:
    return {s: (b.min, b.max) for s, b in config.cboe.bounds.items()}


ADAPTER = SourceAdapter(
    name=SOURCE, table="index_daily",
    plan=lambda run: urls(run.config),
    wanted=lambda path: path.name.endswith("_History.csv"),
    parse=lambda payload, name, run: parse(payload, name),
    write=write, located=lambda folder: {"url": f"{folder}/{{symbol}}_History.csv"},
    bounds=_bounds)
