"""FRED series -> ``macro_observations`` rows, point in time.

Two inputs:
- fredgraph CSVs, one series per file. Headers seen in the wild: ``observation_date,<ID>``
  (since late 2024), ``DATE,<ID>``, quoted ``"Date","<ID>"`` and lowercase ``date,<id>``.
  A blank or ``.`` value is a missing observation and its row is dropped. These files carry
  no vintage: ``available_at`` follows the series' publication rule in the sources config
  (``available_dates``) and ``realtime_start`` repeats it (the estimated vintage start), so
  the table's key never holds a null and a re-fetch replaces the row instead of adding one.
- the observations API JSON fetched with real-time periods (ALFRED vintages). Each vintage
  is its own row keyed by ``realtime_start``, and ``available_at = realtime_start``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from core.errors import SourceDataError, UnsafePathError
from core.paths import safe_segment
from sources import config as sources_config
from sources.adapter import Bounds, RunContext, SourceAdapter, csv_header, write_file
from sources.config import SeriesRule, SourcesConfig, iso
from sources.http import ensure_data

SOURCE = "fred"
DATE_HEADERS = {"OBSERVATION_DATE", "DATE"}
MISSING = ("", ".")
COLUMNS = ["series_id", "date", "value", "realtime_start", "available_at"]
# FRED's own bounds for "all of time" in real-time periods.
FAR_PAST, FAR_FUTURE = "1776-07-04", "9999-12-31"


def _fail(name: str, problem: str) -> SourceDataError:
    """A SourceDataError naming this source, the file and the problem."""
    return SourceDataError(f"source {SOURCE!r}, file {name!r}: {problem}")


@lru_cache(maxsize=1)
def default_rules() -> Mapping[str, SeriesRule]:
    """The publication rules of the packaged defaults."""
    return sources_config.load().fred.rules


# -- what to fetch ----------------------------------------------------------------------
def urls(
    config: SourcesConfig,
    api_key: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[tuple[str, str]]:
    """The ``(file name, location)`` of every configured series.

    With an ``api_key`` the observations API is used with every real-time period, so
    revisions come as vintages (``DFF.json``); without one, fredgraph CSVs (``DFF.csv``).
    ``start``/``end`` bound the observation dates where the template uses them.
    The returned locations contain the key: log ``sources.http.redact(url)``, not the URL.
    """
    template = config.fred.api_url if api_key else config.fred.url
    suffix = "json" if api_key else "csv"
    params: dict[str, object] = {
        "realtime_start": FAR_PAST, "realtime_end": FAR_FUTURE,
        "observation_start": iso(start, FAR_PAST), "observation_end": iso(end, FAR_FUTURE)}
    if api_key:
        params["api_key"] = api_key
    return [(f"{s}.{suffix}", sources_config.render(template, series_id=s, **params))
            for s in config.fred.series]


# -- parsing ----------------------------------------------------------------------------
def parse(
    payload: bytes,
    name: str,
    *,
    rules: Mapping[str, SeriesRule] | None = None,
    releases: pl.DataFrame | None = None,
    holidays: Sequence[dt.date] = (),
) -> pl.DataFrame:
    """Parse a fredgraph CSV or an observations-API JSON into ``macro_observations`` columns.

    Args:
        payload: The file's bytes as received.
        name: The file name (``DFF.csv``, ``DFF.json``): names the file in errors and, for
            JSON (which does not say), gives the series id.
        rules: Publication rules per series id (default: the packaged sources config).
        releases: Release days from the events calendar (``date``, ``kind``), used by
            ``release_day`` series such as CPIAUCSL and PPIFIS.
        holidays: Days that are not business days, for ``business_days`` lags.

    Returns:
        series_id, date, value, realtime_start, available_at (no ``ingested_at``), sorted by
        date and realtime_start.

    Raises:
        SourceDataError: Empty or HTML body, an unexpected header, bad dates, non-numeric
            values, the same date twice with different values, a truncated last line, an API
            error document or a partial page, or a series without a publication rule.
            (Rows dated after today are refused by the ingest layer, for every source.)
    """
    ensure_data(payload, source=SOURCE, name=name)
    if payload.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        frame = _api_frame(payload, name)
    else:
        series_id, raw = _csv_frame(payload, name)
        rule = _rule(series_id, rules, name)
        frame = _with_available_at(_typed(raw, name, series_id), rule, releases, holidays)
    return frame.select(COLUMNS).sort("date", "realtime_start", nulls_last=False)


def _rule(series_id: str, rules: Mapping[str, SeriesRule] | None, name: str) -> SeriesRule:
    """The series' publication rule, or an error naming the file and series."""
    table = default_rules() if rules is None else rules
    if series_id not in table:
        raise _fail(name, f"no publication rule for series {series_id!r}; add it under "
                          "[fred.rules] in the sources config")
    return table[series_id]


def _csv_frame(payload: bytes, name: str) -> tuple[str, pl.DataFrame]:
    """The series id and the (line, DATE, VALUE) text rows of a fredgraph CSV."""
    try:
        raw = pl.read_csv(io.BytesIO(payload), infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as e:
        raise _fail(name, f"not a readable CSV: {str(e).splitlines()[0]}") from e
    header = [c.strip().lstrip("\ufeff") for c in raw.columns]
    if len(header) != 2 or header[0].upper() not in DATE_HEADERS:
        raise _fail(name, f"unexpected header {','.join(header)!r}; expected "
                          "'observation_date,<SERIES_ID>' (or DATE / date)")
    series_id = _series_id(header[1].upper(), name)
    _check_last_line(payload, name)
    raw = raw.rename(dict(zip(raw.columns, ["DATE", "VALUE"], strict=True)))
    return series_id, raw.with_row_index("line", offset=2).with_columns(
        pl.col("line").cast(pl.Int64))


def _series_id(text: str, name: str) -> str:
    """``text`` as a series id, or an error naming the file."""
    try:
        return safe_segment(text, "series id")
    except UnsafePathError as e:
        raise _fail(name, str(e)) from e


def _check_last_line(payload: bytes, name: str) -> None:
    """Raise when the last line lost its comma or date: the file was cut short."""
    last = payload.rstrip(b"\r\n \t").rsplit(b"\n", 1)[-1].strip()
    if b"," not in last:
        shown = last[:60].decode(errors="replace")
        raise _fail(name, f"file looks truncated: last line is {shown!r}")


def _typed(raw: pl.DataFrame, name: str, series_id: str) -> pl.DataFrame:
    """Observations typed; missing values dropped; bad dates or numbers reported by line."""
    text = raw.with_columns(pl.col("DATE", "VALUE").str.strip_chars())
    text = text.filter(pl.col("DATE").is_not_null() | pl.col("VALUE").is_not_null())
    text = text.filter(pl.col("VALUE").is_not_null() & ~pl.col("VALUE").is_in(MISSING))
    typed = text.select(
        "line", pl.lit(series_id).alias("series_id"),
        pl.col("DATE").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("date"),
        pl.col("VALUE").cast(pl.Float64, strict=False).alias("value"),
        pl.lit(None, pl.Date).alias("realtime_start"))
    _report(text, typed["date"].is_null(), "DATE", name, "not a YYYY-MM-DD date")
    _report(text, typed["value"].is_null() | ~typed["value"].is_finite(), "VALUE", name,
            "not a number")
    return _deduplicated(typed, name, keys=["date"])


def _report(text: pl.DataFrame, bad: pl.Series, col: str, name: str, problem: str) -> None:
    """Raise naming the first row flagged ``bad``."""
    if bad.any():
        row = text.filter(bad).row(0, named=True)
        raise _fail(name, f"{problem}: {row[col]!r} at line {row['line']}")


def _deduplicated(frame: pl.DataFrame, name: str, *, keys: list[str]) -> pl.DataFrame:
    """Identical repeats dropped; the same key with another value is an error."""
    frame = frame.unique(subset=[*keys, "value"], keep="first", maintain_order=True)
    clash = frame.filter(pl.struct(keys).is_duplicated())
    if not clash.is_empty():
        first = clash.row(0, named=True)
        same = clash.filter(pl.all_horizontal(pl.col(k) == first[k] for k in keys))
        values = ", ".join(str(v) for v in same["value"])
        where = " ".join(f"{k}={first[k]}" for k in keys)
        raise _fail(name, f"{where} appears twice with different values ({values})")
    return frame


def _api_frame(payload: bytes, name: str) -> pl.DataFrame:
    """Every (date, vintage) of an observations-API answer, available from its vintage."""
    doc = _api_document(payload, name)
    series_id = _series_id(PurePosixPath(name).name.split(".")[0].upper(), name)
    schema = {k: pl.String for k in ("realtime_start", "realtime_end", "date", "value")}
    try:
        obs = pl.DataFrame(doc["observations"], schema=schema)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as e:
        raise _fail(name, f"malformed observations: {e}") from e
    obs = obs.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    obs = obs.filter(pl.col("value").is_not_null() & ~pl.col("value").str.strip_chars()
                     .is_in(MISSING))
    typed = obs.select(
        "line", pl.lit(series_id).alias("series_id"),
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        pl.col("value").str.strip_chars().cast(pl.Float64, strict=False),
        pl.col("realtime_start").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    _report(obs, typed["date"].is_null(), "date", name, "not a YYYY-MM-DD date (observation)")
    _report(obs, typed["realtime_start"].is_null(), "realtime_start", name,
            "not a YYYY-MM-DD realtime_start (observation)")
    _report(obs, typed["value"].is_null() | ~typed["value"].is_finite(), "value", name,
            "not a number (observation)")
    typed = _deduplicated(typed, name, keys=["date", "realtime_start"])
    return typed.with_columns(pl.col("realtime_start").alias("available_at"))


def _api_document(payload: bytes, name: str) -> dict[str, Any]:
    """The decoded API answer, refusing error documents and partial pages."""
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(name, f"not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise _fail(name, "expected a JSON object with 'observations'")
    if "error_message" in doc or "error_code" in doc:
        raise _fail(name, f"FRED error {doc.get('error_code')}: {doc.get('error_message')}")
    if not isinstance(doc.get("observations"), list):
        raise _fail(name, "no 'observations' list in the answer")
    got = int(doc.get("offset", 0)) + len(doc["observations"])
    if int(doc.get("count", got)) > got:
        raise _fail(name, f"partial page: {got} of {doc['count']} observations "
                          "(fetch the rest with offset=)")
    return doc


# -- point in time ----------------------------------------------------------------------
def _with_available_at(
    frame: pl.DataFrame, rule: SeriesRule, releases: pl.DataFrame | None,
    holidays: Sequence[dt.date],
) -> pl.DataFrame:
    available = available_dates(frame["date"], rule, releases=releases, holidays=holidays)
    return frame.with_columns(available.alias("available_at"), available.alias("realtime_start"))


def available_dates(
    dates: pl.Series,
    rule: SeriesRule,
    *,
    releases: pl.DataFrame | None = None,
    holidays: Sequence[dt.date] = (),
) -> pl.Series:
    """The day each observation dated ``dates`` became known, by the series' rule.

    - ``business_days``: the date (a weekend date counts as the Friday before) plus
      ``lag_days`` weekdays, skipping ``holidays``.
    - ``calendar_days``: the date plus ``lag_days``.
    - ``release_day``: for an observation of month M, the first release of
      ``rule.release_kind`` on or after the 1st of M+1 and before the 1st of M+3 (a release
      slips a month at most, as in the 2025 shutdown); months the calendar does not cover,
      or without such a release, fall back to the date plus ``lag_days``.

    Args:
        dates: Observation dates.
        rule: The series' publication rule.
        releases: Release days (``date`` and, optionally, ``kind``); only for release_day.
        holidays: Non-business days, for business_days.

    Returns:
        A Date series ``available_at``, aligned with ``dates``.
    """
    frame = pl.DataFrame({"date": dates.cast(pl.Date)})
    if rule.publication == "business_days":
        expr = pl.col("date").dt.add_business_days(
            rule.lag_days, holidays=list(holidays), roll="backward")
    elif rule.publication == "calendar_days":
        expr = pl.col("date") + pl.duration(days=rule.lag_days)
    else:
        return _release_days(frame, rule, releases)
    return frame.select(expr.alias("available_at")).to_series()


def _release_days(
    frame: pl.DataFrame, rule: SeriesRule, releases: pl.DataFrame | None
) -> pl.Series:
    """available_at of a release_day series (see ``available_dates``)."""
    fallback = pl.col("date") + pl.duration(days=rule.lag_days)
    days = _release_calendar(releases, rule.release_kind)
    if days.is_empty():
        return frame.select(fallback.alias("available_at")).to_series()
    covered_from = days["release"].min()
    key = pl.col("date").dt.month_start().dt.offset_by("1mo")
    joined = (frame.with_row_index("_i").with_columns(key.alias("_key")).sort("_key")
              .join_asof(days, left_on="_key", right_on="release", strategy="forward"))
    ok = (pl.col("release").is_not_null()
          & (pl.col("_key") >= pl.lit(covered_from).dt.month_start())
          & (pl.col("release") < pl.col("_key").dt.offset_by("2mo")))
    return (joined.sort("_i")
            .select(pl.when(ok).then(pl.col("release")).otherwise(fallback)
                    .alias("available_at"))
            .to_series())


def _release_calendar(releases: pl.DataFrame | None, kind: str | None) -> pl.DataFrame:
    """Sorted distinct release days of ``kind`` (column ``release``)."""
    if releases is None or releases.is_empty():
        return pl.DataFrame(schema={"release": pl.Date})
    if "kind" in releases.columns:
        releases = releases.filter(pl.col("kind").str.to_lowercase() == (kind or "").lower())
    return (releases.select(pl.col("date").cast(pl.Date).alias("release"))
            .drop_nulls().unique().sort("release"))


# -- the adapter --------------------------------------------------------------------------
def is_fredgraph_file(path: Path) -> bool:
    """A single-series fredgraph CSV (date + one series column) named ``{SERIES_ID}[_...].csv``.

    Wide tables (several series) and look-alikes named after something else (``heliar_fx_DXY``,
    ``ofr_fsi``) are not FRED downloads: ``--from`` skips them instead of quarantining them.
    """
    if path.suffix.lower() == ".json":
        return True
    header = csv_header(path) if path.suffix.lower() == ".csv" else []
    if len(header) != 2 or header[0] not in DATE_HEADERS:
        return False
    stem = path.stem.upper()
    return stem == header[1] or stem.startswith(f"{header[1]}_")


def _parse(payload: bytes, name: str, run: RunContext) -> pl.DataFrame:
    """``parse`` with the run's publication rules and the lake's release calendar."""
    releases = run.lake.scan("events").select("date", "kind").collect()
    return parse(payload, name, rules=run.config.fred.rules, releases=releases)


def _bounds(config: SourcesConfig) -> Mapping[str, Bounds]:
    return {s: (r.min, r.max) for s, r in config.fred.rules.items()}


# -- writing (demo market, fixtures) ------------------------------------------------------
def render(frame: pl.DataFrame, *, header: str = "observation_date") -> bytes:
    """One series' observations in the fredgraph layout (``observation_date,<ID>``; '.': none)."""
    ids = frame["series_id"].unique().to_list()
    if len(ids) != 1:
        raise ValueError(f"render writes one series per file, got {ids}")
    out = frame.sort("date").select(pl.col("date").alias(header),
                                    pl.col("value").alias(ids[0]))
    return out.write_csv(date_format="%Y-%m-%d", null_value=".", line_terminator="\n").encode()


def write(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """One fredgraph ``{SERIES_ID}.csv`` per series of ``macro_observations`` rows."""
    return [write_file(folder / f"{series}.csv", render(part))
            for (series,), part in frame.partition_by("series_id", as_dict=True,
                                                      maintain_order=True).items()]


ADAPTER = SourceAdapter(
    name=SOURCE, table="macro_observations",
    plan=lambda run: urls(run.config, api_key=run.api_key),
    wanted=is_fredgraph_file, parse=_parse, write=write,
    located=lambda folder: {"url": f"{folder}/{{series_id}}.csv"}, bounds=_bounds)

