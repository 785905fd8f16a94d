"""NYSE breadth files -> ``breadth_daily`` rows.

Two layouts:
- TradingView exports, one series per file, named after the TradingView symbol
  (``ADV.csv``, ``DECL.csv``, ``UCHG.csv``, ``MAHN.csv``, ``MALN.csv``; prefixes and suffixes
  such as ``NYSE_ADV_advancing_issues.csv`` or ``USI_ADV, 1D.csv`` are fine). Header
  ``time,open,high,low,close[,Volume,Volume MA]``; ``time`` is an ISO date or Unix seconds;
  the daily count is ``close``.
- A plain ``breadth.csv`` with ``date`` and any of the breadth columns.

``parse`` returns ``date`` plus the column(s) the file provides; ``combine`` joins such
partial frames into the full table, with null for a component no file provided.

TradingView pads its new-highs / new-lows series with the 0.01 stand-in on NYSE holidays
(2025-05-26, 2025-06-19, 2025-07-04 in the real exports) where no advance/decline count
exists: ``parse`` drops such placeholder rows on non-sessions, and ``combine`` keeps only
days with advancers or decliners (a breadth day without either is not a breadth day).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from core.calendar import exchange_holidays
from core.errors import SourceDataError
from sources.adapter import Plan, SourceAdapter, csv_header, write_file
from sources.http import decode_text, local_path

SOURCE = "breadth"
COMPONENTS = {"ADV": "advancers", "DECL": "decliners", "UCHG": "unchanged",
              "MAHN": "new_highs", "MALN": "new_lows"}
COLUMNS = ["date", *COMPONENTS.values()]
TRADINGVIEW_TIME, TRADINGVIEW_VALUE = "time", "close"
TRADINGVIEW_ZERO = 0.5  # values below this are TradingView's stand-in for zero


def _fail(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


def parse(payload: bytes, name: str) -> pl.DataFrame:
    """Parse one breadth file into ``date`` and the breadth column(s) it provides.

    Args:
        payload: The file's bytes.
        name: The file name; for a TradingView export it tells which series it holds.

    Returns:
        A frame with ``date`` (pl.Date) and one Int64 column per component in the file,
        sorted by date, one row per date.

    Raises:
        SourceDataError: empty file, unknown series name, missing column, bad date or
            count, a negative count, or one date twice with different values.
    """
    raw = _read(payload, name)
    if TRADINGVIEW_TIME in raw.columns:
        frame = _tradingview(raw, name)
    elif "date" in raw.columns:
        frame = _plain(raw, name)
    else:
        raise _fail(name, f"missing column 'time' (TradingView) or 'date'; got {raw.columns}")
    return _deduplicated(frame, name).sort("date")


def _read(payload: bytes, name: str) -> pl.DataFrame:
    """The CSV as strings with lower-case, trimmed column names."""
    text = decode_text(payload, source=SOURCE, name=name)
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema_length=0)
    except (pl.exceptions.PolarsError, ValueError) as e:
        raise _fail(name, f"unreadable CSV ({e})") from e
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    if raw.height == 0:
        raise _fail(name, "no data rows under the header")
    last = text.rstrip("\r\n").rsplit("\n", 1)[-1]
    # (TradingView's blank close on a cut line gets its own message in _tradingview.)
    if TRADINGVIEW_TIME not in raw.columns and last.count(",") + 1 < raw.width:
        raise _fail(name, f"truncated file: the last line {last[:60]!r} has fewer fields "
                          f"than the header")
    return raw


def component_of(name: str) -> str:
    """The breadth column a TradingView export provides, from its file name."""
    stem = re.sub(r"\.[A-Za-z]+$", "", name.rsplit("/", 1)[-1]).upper()
    found = [COMPONENTS[t] for t in re.split(r"[^A-Z0-9]+", stem) if t in COMPONENTS]
    if len(set(found)) != 1:
        raise _fail(name, f"cannot tell the series from the file name; expected one of "
                          f"{sorted(COMPONENTS)} in it")
    return found[0]


def _tradingview(raw: pl.DataFrame, name: str) -> pl.DataFrame:
    """Date and the named component from a TradingView export (its close)."""
    column = component_of(name)
    if TRADINGVIEW_VALUE not in raw.columns:
        raise _fail(name, f"missing column {TRADINGVIEW_VALUE!r}; got {raw.columns}")
    days = _dates(raw[TRADINGVIEW_TIME], TRADINGVIEW_TIME, name)
    counts = _counts(raw[TRADINGVIEW_VALUE], TRADINGVIEW_VALUE, name)
    # TradingView always writes a close: a blank one means a cut-off line.
    _check(raw[TRADINGVIEW_TIME], counts.is_null(), TRADINGVIEW_VALUE, name,
           "incomplete row (truncated file?) for time")
    value = raw[TRADINGVIEW_VALUE].str.strip_chars().str.replace_all(",", "").cast(
        pl.Float64, strict=False)
    placeholder = (value > 0) & (value < TRADINGVIEW_ZERO)  # 0.01, not a written 0
    frame = pl.DataFrame({"date": days, column: counts, "_placeholder": placeholder})
    return frame.filter(~(pl.col("_placeholder") & ~is_session(pl.col("date")))).drop(
        "_placeholder")


def is_session(day: pl.Expr) -> pl.Expr:
    """True on NYSE sessions: weekdays that are not exchange holidays."""
    return (day.dt.weekday() <= 5) & ~day.is_in(exchange_holidays().implode())


def _plain(raw: pl.DataFrame, name: str) -> pl.DataFrame:
    """Date and every breadth column present in a plain ``breadth.csv``."""
    present = [c for c in COMPONENTS.values() if c in raw.columns]
    if not present:
        raise _fail(name, f"none of the columns {list(COMPONENTS.values())}; got {raw.columns}")
    # A renamed column would otherwise vanish silently and leave its counts null.
    unknown = [c for c in raw.columns if c not in COLUMNS]
    if unknown:
        raise _fail(name, f"unknown (renamed?) column(s) {unknown}; expected some of {COLUMNS}")
    out = {"date": _dates(raw["date"], "date", name)}
    out.update({c: _counts(raw[c], c, name) for c in present})
    return pl.DataFrame(out)


def _dates(text: pl.Series, col: str, name: str) -> pl.Series:
    """ISO dates, ISO datetimes or Unix seconds as dates; error naming the first bad one."""
    s = text.str.strip_chars()
    days = pl.DataFrame({"s": s}).select(pl.coalesce(
        pl.col("s").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        pl.col("s").str.to_date("%m/%d/%Y", strict=False),
        pl.from_epoch(pl.col("s").cast(pl.Int64, strict=False), time_unit="s").dt.date(),
    )).to_series()
    _check(s, days.is_null(), col, name, "bad date")
    return days.alias("date")


def _counts(text: pl.Series, col: str, name: str) -> pl.Series:
    """Whole non-negative counts; blank is missing, anything else non-numeric an error."""
    s = text.str.strip_chars().str.replace_all(",", "")
    values = s.cast(pl.Float64, strict=False)
    _check(s, s.is_not_null() & (s != "") & (values.is_null() | values.is_nan()), col, name,
           "non-numeric value")
    _check(s, values < 0, col, name, "negative count")
    # TradingView stores a count of zero as 0.01 (seen in MAHN/MALN, e.g. 2020-03-16 highs).
    v = pl.col("v")
    values = pl.DataFrame({"v": values}).select(
        pl.when(v < TRADINGVIEW_ZERO).then(0.0).otherwise(v)
    ).to_series()
    _check(s, values.round(0) != values, col, name, "fractional count")
    return values.cast(pl.Int64)


def _check(text: pl.Series, bad: pl.Series, col: str, name: str, problem: str) -> None:
    """Raise naming the line (header is line 1) of the first row flagged bad."""
    idx = bad.fill_null(False).arg_true()
    if len(idx):
        i = int(idx[0])
        raise _fail(name, f"{problem} {text[i]!r} in column {col!r} at line {i + 2}")


def _deduplicated(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Exact repeats dropped; one date with two different values is an error."""
    unique = frame.unique(maintain_order=True)
    clash = unique.filter(pl.len().over("date") > 1)
    if clash.height:
        raise _fail(name, f"date {clash['date'][0]} appears twice with different values")
    return unique


def combine(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Join partial breadth frames (from ``parse``) into full ``breadth_daily`` rows.

    Args:
        frames: Frames with ``date`` and some breadth columns; a column may come from
            several frames (e.g. a plain file and a TradingView export) and then the first
            non-null value wins.

    Returns:
        ``date`` plus all five breadth columns (null where no frame provided a value),
        sorted by date; days with neither advancers nor decliners are left out.
    """
    dates = pl.concat([f.select("date") for f in frames]).unique() if frames else \
        pl.DataFrame(schema={"date": pl.Date})
    full = dates
    for col in COMPONENTS.values():
        parts = [f.select("date", col).drop_nulls(col) for f in frames if col in f.columns]
        values = (pl.concat(parts).unique("date", keep="first", maintain_order=True) if parts
                  else pl.DataFrame(schema={"date": pl.Date, col: pl.Int64}))
        full = full.join(values, on="date", how="left")
    return full.select(
        pl.col("date").cast(pl.Date), *(pl.col(c).cast(pl.Int64) for c in COMPONENTS.values())
    ).filter(pl.col("advancers").is_not_null() | pl.col("decliners").is_not_null()).sort("date")


# -- what to fetch ----------------------------------------------------------------------
def plan(location: str | None) -> Plan:
    """The configured file, or every CSV file of the configured folder."""
    if not location:
        return []
    path = local_path(location)
    if path is not None and path.is_dir():
        return [(p.name, str(p)) for p in sorted(path.iterdir()) if p.suffix.lower() == ".csv"]
    return [(location.rsplit("/", 1)[-1] or "breadth.csv", location)]


def is_breadth_file(path: Path) -> bool:
    """A TradingView NYSE breadth export (ADV, DECL...) or a plain file with breadth columns."""
    if path.suffix.lower() != ".csv":
        return False
    try:
        component_of(path.name)
        return True
    except SourceDataError:
        header = {c.lower() for c in csv_header(path)}
        return "date" in header and bool(header & set(COMPONENTS.values()))


# -- writing (demo market, fixtures) ------------------------------------------------------
def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """``breadth_daily`` rows as the plain ``breadth.csv`` (date and the five counts)."""
    body = frame.sort("date").select(COLUMNS).write_csv(line_terminator="\n")
    return [write_file(folder / "breadth.csv", body.encode())]


ADAPTER = SourceAdapter(
    name=SOURCE, table="breadth_daily",
    plan=lambda run: plan(run.config.breadth.url),
    wanted=is_breadth_file,
    parse=lambda payload, name, run: parse(payload, name),
    write=write, located=lambda folder: {"url": f"{folder}/breadth.csv"}, merge=combine)
