"""Event calendars (FOMC decisions, CPI, PPI, NFP releases) -> ``events`` rows (date, kind).

Accepted layouts, recognised from the header (column names compared case-insensitively):
- no header, one date per line; the kind comes from the file name (``fomc.csv``,
  ``cpi.csv``, ``ppi.csv``, ``fomc_dates_1936_2021_noheader.csv``);
- ``date`` (or ``event_date``) alone: the kind comes from the file name;
- ``date``/``event_date`` with ``kind``/``event_type``: the kind of each row
  (``events.csv``, the macro calendar with fomc/cpi/nfp rows);
- a date column with a 0/1 flag column named after a kind (``Date,fomc``);
- FOMC meeting tables: ``decision_date`` (meetings with start and decision day) or
  ``meeting_date`` (fed funds futures probabilities): each distinct date is an ``fomc`` day;
- FOMC actions with ``Scheduled FOMC``/``Unscheduled FOMC`` flags: flagged rows except
  minutes releases;
- FOMC press releases (``date``, ``title``, ``kind``): ``statement`` rows are ``fomc`` days.
Dates may be ISO, YYYYMMDD or M/D/YYYY. ``fomc`` means a decision day: the (last) day of the
meeting, when the statement is released; unscheduled decisions are included.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from core.errors import SourceDataError
from sources.adapter import Plan, SourceAdapter, write_file
from sources.config import CalendarConfig
from sources.http import decode_text

SOURCE = "calendar"
KNOWN_KINDS = ("fomc", "cpi", "ppi", "nfp", "pce", "gdp")
KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"  # kind is a partition value: keep it path-safe
DATE_NAMES = ("date", "event_date")
KIND_NAMES = ("kind", "event_type")
FOMC_FLAGS = ("scheduled fomc", "unscheduled fomc")


def _fail(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


def parse(payload: bytes, name: str) -> pl.DataFrame:
    """Parse one calendar file into ``events`` rows.

    Args:
        payload: The file's bytes.
        name: The file name; it gives the kind of a file that has no kind column.

    Returns:
        A frame with ``date`` (pl.Date) and ``kind`` (lower-case string), one row per
        distinct event, sorted by date and kind.

    Raises:
        SourceDataError: empty file, a layout without a date column, a bad date, a kind
            that cannot be told from the file name, or a kind that is not a plain word.
    """
    table, header = _read(payload, name)
    frame = _events(table, header, name)
    _check_kinds(frame, name)
    return frame.unique().sort("date", "kind")


def _read(payload: bytes, name: str) -> tuple[pl.DataFrame, bool]:
    """The CSV as strings with lower-case column names, and whether it had a header."""
    text = decode_text(payload, source=SOURCE, name=name)
    first = text.lstrip().split("\n", 1)[0].split(",", 1)[0].strip().strip('"')
    header = _as_dates(pl.Series([first])).is_null().all()
    try:
        table = pl.read_csv(io.StringIO(text), has_header=header, infer_schema_length=0)
    except (pl.exceptions.PolarsError, ValueError) as e:
        raise _fail(name, f"unreadable CSV ({e})") from e
    if table.height == 0:
        raise _fail(name, "no data rows")
    if not header:
        return table.rename({table.columns[0]: "date"}), False
    return table.rename({c: c.strip().lower() for c in table.columns}), True


def _events(table: pl.DataFrame, header: bool, name: str) -> pl.DataFrame:
    """Date and kind per event, from whichever layout the columns show."""
    cols = table.columns
    date_col = next((c for c in DATE_NAMES if c in cols), None)
    kind_col = next((c for c in KIND_NAMES if c in cols), None)
    if "decision_date" in cols:
        return _dated(table, "decision_date", name, pl.lit("fomc"))
    if "meeting_date" in cols:
        return _dated(table, "meeting_date", name, pl.lit("fomc"))
    if date_col is None:
        raise _fail(name, f"no date column (one of {list(DATE_NAMES)}, decision_date, "
                          f"meeting_date); got {cols}")
    if all(f in cols for f in FOMC_FLAGS):
        return _fomc_actions(table, date_col, name)
    if kind_col and "title" in cols:
        statements = table.filter(pl.col(kind_col).str.strip_chars() == "statement")
        return _dated(statements, date_col, name, pl.lit("fomc"))
    if kind_col:
        kind = pl.col(kind_col).str.strip_chars().str.to_lowercase()
        return _dated(table, date_col, name, kind)
    flags = [c for c in cols if c in KNOWN_KINDS]
    if flags:
        return _flagged(table, date_col, flags, name)
    return _dated(table, date_col, name, pl.lit(kind_of(name)))


def _fomc_actions(table: pl.DataFrame, date_col: str, name: str) -> pl.DataFrame:
    """FOMC decision days from an actions table: flagged meetings, minutes excluded."""
    flagged = pl.any_horizontal(pl.col(f).str.strip_chars() == "1" for f in FOMC_FLAGS)
    minutes = pl.lit(False)
    if "type" in table.columns:
        minutes = pl.col("type").str.to_lowercase().str.contains("minutes").fill_null(False)
    return _dated(table.filter(flagged & ~minutes), date_col, name, pl.lit("fomc"))


def _flagged(table: pl.DataFrame, date_col: str, flags: list[str], name: str) -> pl.DataFrame:
    """One event per date and kind column whose flag is 1."""
    parts = [
        _dated(table.filter(pl.col(f).str.strip_chars() == "1"), date_col, name, pl.lit(f))
        for f in flags
    ]
    return pl.concat(parts)


def _dated(table: pl.DataFrame, col: str, name: str, kind: pl.Expr) -> pl.DataFrame:
    """``date`` parsed from ``col`` and ``kind`` from an expression; error on a bad date."""
    text = table[col].str.strip_chars()
    days = _as_dates(text)
    bad = (days.is_null() & text.is_not_null() & (text != "")).arg_true()
    if len(bad):
        raise _fail(name, f"bad date {text[int(bad[0])]!r} in column {col!r}")
    frame = table.select(days.alias("date"), kind.alias("kind"))
    return frame.drop_nulls("date")


def _as_dates(text: pl.Series) -> pl.Series:
    """ISO, YYYYMMDD or M/D/YYYY strings as dates (null where none fits)."""
    s = pl.col("s")
    return pl.DataFrame({"s": text}).select(pl.coalesce(
        s.str.to_date("%Y-%m-%d", strict=False),
        s.str.to_date("%Y%m%d", strict=False),
        s.str.to_date("%m/%d/%Y", strict=False),
    )).to_series()


def kind_of(name: str) -> str:
    """The event kind named in a file name such as ``cpi.csv`` or ``fomc_dates.csv``."""
    stem = re.sub(r"\.[A-Za-z]+$", "", name.rsplit("/", 1)[-1]).lower()
    found = {t for t in re.split(r"[^a-z0-9]+", stem) if t in KNOWN_KINDS}
    if len(found) != 1:
        raise _fail(name, f"no kind column, and the file name names "
                          f"{'no' if not found else 'several'} kind(s) of {list(KNOWN_KINDS)}")
    return found.pop()


def _check_kinds(frame: pl.DataFrame, name: str) -> None:
    """Raise when a kind is missing or not a short lower-case word."""
    bad = frame.filter(pl.col("kind").is_null() | ~pl.col("kind").str.contains(KIND_PATTERN))
    if bad.height:
        raise _fail(name, f"bad event kind {bad['kind'][0]!r} (expected a word like "
                          f"{', '.join(KNOWN_KINDS)})")


def plan(config: CalendarConfig) -> Plan:
    """``fomc.csv``, ``cpi.csv``, ``ppi.csv`` and ``events.csv``: those configured."""
    return [(f"{kind}.csv", loc) for kind, loc in
            (("fomc", config.fomc), ("cpi", config.cpi), ("ppi", config.ppi),
             ("events", config.events)) if loc]


# -- writing (demo market, fixtures) ------------------------------------------------------
def render(frame: pl.DataFrame, kind: str) -> bytes:
    """One kind's events as ``event_date,event_name,event_type``.

    Names read ``FOMC 2024-01-31``, or ``CPI Dec 2023`` for a release of the month before.
    """
    label = pl.col("date").dt.strftime("%Y-%m-%d") if kind == "fomc" else \
        pl.col("date").dt.offset_by("-1mo").dt.strftime("%b %Y")
    body = frame.filter(pl.col("kind") == kind).sort("date").select(
        pl.col("date").alias("event_date"),
        pl.concat_str(pl.lit(kind.upper() + " "), label).alias("event_name"),
        pl.lit(kind).alias("event_type"))
    return body.write_csv(line_terminator="\n").encode()


def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """One ``{kind}.csv`` per kind of ``events`` rows (known kinds first, in their order)."""
    present = set(frame["kind"].unique().to_list())
    kinds = [k for k in KNOWN_KINDS if k in present] + sorted(present - set(KNOWN_KINDS))
    return [write_file(folder / f"{kind}.csv", render(frame, kind)) for kind in kinds]


def located(folder: str) -> dict[str, str]:
    """The config's FOMC, CPI and PPI files in ``folder`` (other kinds have no config key)."""
    return {kind: f"{folder}/{kind}.csv" for kind in ("fomc", "cpi", "ppi")}


ADAPTER = SourceAdapter(
    name=SOURCE, table="events",
    plan=lambda run: plan(run.config.calendar),
    wanted=lambda path: path.name.lower().endswith(".csv"),
    parse=lambda payload, name, run: parse(payload, name),
    write=write, located=located, future_ok=True, runs_first=True)
