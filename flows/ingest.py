"""Ingest one source: plan what to fetch, fetch and archive it, parse, gate and publish.

Plain functions: the Prefect tasks in ``flows/nightly.py`` and the CLI both call them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from core.clock import today_new_york
from core.errors import (
    DataValidationFailed,
    PipelineError,
    SourceDataError,
    SourceUnavailable,
)
from sources.adapter import Plan as Plan  # the CLI and tests name these through the flow
from sources.adapter import SourceAdapter
from sources.config import SourcesConfig
from sources.http import HttpClient, Validators, ensure_data, local_path
from sources.registry import SOURCE_NAMES as SOURCE_NAMES
from sources.registry import adapter
from storage import schemas
from storage.catalog import catalog_versions, current_versions
from storage.lake import Lake, iter_partitions
from validations.gate import gate_partition
from validations.row_quarantine import DropPolicy


@dataclass
class Run:
    """What one ingest run needs to know: where, when, with which config."""

    lake: Lake
    config: SourcesConfig
    run_date: dt.date
    now: dt.datetime
    start: dt.date | None = None
    end: dt.date | None = None
    api_key: str | None = None
    docs_dir: str | None = None

    @property
    def today(self) -> dt.date:
        """Today in New York: rows dated later are refused as future dates."""
        return today_new_york(self.now)


@dataclass
class SourceReport:
    """The outcome of ingesting one source."""

    source: str
    table: str
    files: int = 0
    not_modified: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    unavailable: bool = False  # some file failed for a reason a later retry may cure
    dropped: list[str] = field(default_factory=list)  # per partition: rows sent to quarantine
    dropped_rows: int = 0
    known_bad: list[str] = field(default_factory=list)  # re-sent rows quarantined before

    @property
    def ok(self) -> bool:
        """True when every planned file was fetched, parsed and published."""
        return not self.errors

    def line(self) -> str:
        """One line for logs and the CLI."""
        state = "ok" if self.ok else f"{len(self.errors)} error(s)"
        unchanged = f", {self.not_modified} unchanged" if self.not_modified else ""
        dropped = (f", {self.dropped_rows} row(s) dropped to quarantine"
                   if self.dropped_rows else "")
        return (f"{self.source}: {self.files} file(s), {self.rows} row(s) -> {self.table}"
                f"{unchanged}{dropped} [{state}]")


# -- plans: what to fetch ----------------------------------------------------------------
def plan(source: str, run: Run) -> Plan:
    """The (file name, location) pairs a run of ``source`` fetches from its configured URLs."""
    return adapter(source).plan(run)


def plan_from(source: str, path: str | Path) -> Plan:
    """Files under ``path`` (a file, or a folder searched recursively) named like ``source``'s.

    In a folder, files that are not the source's kind (by name and, for FRED and breadth,
    by header) are skipped; a single file named explicitly is always taken.
    """
    root = Path(path)
    if not root.exists():
        raise PipelineError(f"{source}: --from {root}: no such file or folder")
    if root.is_file():
        return [(root.name, str(root))]
    wanted = adapter(source).wanted
    return [(p.name, str(p)) for p in sorted(root.rglob("*")) if p.is_file() and wanted(p)]


def restamped(lake: Lake, table: str, frame: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """``frame`` with ``ingested_at``: ``now`` for new or changed rows, the stored stamp else.

    Providers resend whole histories; keeping the stamp of unchanged rows keeps their files
    byte-identical and tells an incremental build which days really changed.
    """
    t = schemas.get(table)
    keys = list(t.keys)
    values = [c for c in t.columns if c not in keys and c != "ingested_at"]
    # Only the partitions the frame touches can hold its keys: read those, not the table.
    stored = [p for p in (lake.read_partition(table, part) for part in iter_partitions(t, frame))
              if p is not None]
    old = (pl.concat(stored) if stored else t.empty()).join(
        frame.select(keys), on=keys, how="semi").select(
        *keys, *[pl.col(c).alias(f"{c}__old") for c in [*values, "ingested_at"]])
    same = pl.all_horizontal(pl.lit(True), *[pl.col(c).eq_missing(pl.col(f"{c}__old"))
                                            for c in values])
    return (frame.join(old, on=keys, how="left")
            .with_columns(ingested_at=pl.when(same & pl.col("ingested_at__old").is_not_null())
                          .then(pl.col("ingested_at__old"))
                          .otherwise(pl.lit(now).cast(schemas.UTC_TS)))
            .select(list(t.columns)))


# -- the run -----------------------------------------------------------------------------
def ingest(source: str, run: Run, *, client: HttpClient, files: Plan | None = None
           ) -> SourceReport:
    """Fetch, archive, parse, validate and publish one source.

    A file that cannot be fetched or parsed is reported (and, if received, quarantined);
    the others go on. Rows are published only through the validation gate.

    Args:
        source: one of SOURCE_NAMES (``sources.registry``).
        run: lake, config, dates and clock of this run.
        client: the HTTP client (its retries and pacing apply to every file).
        files: explicit (name, location) pairs (``--from``); default the configured plan.

    Returns:
        A SourceReport; its ``errors`` name source, file and problem.
    """
    src = adapter(source)
    report = SourceReport(source, src.table)
    client.hide(run.api_key)
    planned = src.plan(run) if files is None else files
    archived = remembered(run.lake, source, client, [loc for _, loc in planned])
    frames = []
    for name, location in planned:
        frame = _fetch_and_parse(src, name, location, run, client, report, archived)
        if frame is not None:
            frames.append(frame)
    frames = [f for f in frames if f.height]
    if frames:
        _publish(src, src.combine(frames), run, report)
    return report


def remembered(lake: Lake, source: str, client: HttpClient, locations: list[str]
               ) -> dict[str, str]:
    """Give ``client`` the validators the raw archive kept; the archived payload per URL.

    A 304 then means "the payload kept": it is parsed again from the archive, so a file
    whose earlier run failed after archiving is still published, never skipped forever.
    """
    urls = [client.redact(loc) for loc in locations if local_path(loc) is None]
    metas = lake.latest_raw(source, urls)
    for url, meta in metas.items():
        validators = Validators.from_meta(meta)
        if validators is not None:
            client.validators.setdefault(url, validators)
    return {url: str(meta["payload"]) for url, meta in metas.items()}


def _fetch_and_parse(src: SourceAdapter, name: str, location: str, run: Run,
                     client: HttpClient, report: SourceReport, archived: dict[str, str]
                     ) -> pl.DataFrame | None:
    source = src.name
    try:
        fetched = client.fetch(location, source=source)
    except SourceUnavailable as e:
        report.errors.append(str(e))
        report.unavailable = True
        return None
    except SourceDataError as e:
        report.errors.append(str(e))
        return None
    report.files += 1
    safe = re.sub(r"^[^A-Za-z0-9]+", "", re.sub(r"[^A-Za-z0-9._^+-]", "_", name)) or "payload"
    if fetched.not_modified:
        report.not_modified += 1
        if fetched.url not in archived:
            return None
        fetched = replace(fetched, payload=run.lake.read_bytes(archived[fetched.url]))
    else:
        run.lake.save_raw(source, safe, fetched.payload, fetched.meta())
    try:
        return _parsed(src, fetched.payload, name, run)
    except SourceDataError as e:
        path = run.lake.quarantine(source, safe, fetched.payload, str(e), at=run.now)
        report.errors.append(f"{e} (quarantined: {path})")
        return None


def _parsed(src: SourceAdapter, payload: bytes, name: str, run: Run) -> pl.DataFrame:
    """The payload's rows, or a SourceDataError naming the file.

    Refused: a payload that is not data, one its parser cannot read, and rows dated after
    today from a source whose rows may not be.
    """
    ensure_data(payload, source=src.name, name=name)
    frame = src.parse(payload, name, run)
    if src.future_ok:  # scheduled events may be dated after the run
        return frame
    col = schemas.get(src.table).date_col
    future = frame.filter(pl.col(col) > run.today)
    if future.height:
        raise SourceDataError(f"source {src.name!r}, file {name!r}: {future.height} row(s) dated "
                              f"after today {run.today}, e.g. "
                              f"{future.select(pl.col(col).min().cast(pl.String)).item()}")
    return frame


def _publish(src: SourceAdapter, frame: pl.DataFrame, run: Run, report: SourceReport) -> None:
    source, table = src.name, src.table
    date_col = schemas.get(table).date_col
    if run.start:
        frame = frame.filter(pl.col(date_col) >= run.start)
    if run.end:
        frame = frame.filter(pl.col(date_col) <= run.end)
    frame = restamped(run.lake, table, frame, run.now)
    drop = DropPolicy(run.config.quarantine.max_row_share)
    try:
        result = gate_partition(run.lake, table, None, frame, at=run.now, drop=drop,
                                rules=src.rules(run.config), docs_dir=run.docs_dir)
        report.rows += frame.height - result.dropped_new_rows
        _count_dropped(source, report, [d.describe() for d in result.dropped_news],
                       sum(d.new_rows for d in result.dropped_news))
        report.known_bad += [f"source {source!r}: {d.describe()}" for d in result.dropped
                             if d.known]
    except DataValidationFailed as e:
        report.rows += e.published_rows  # partitions that passed their own gate
        report.errors.append(f"source {source!r}: {e}")
        _count_dropped(source, report, e.dropped, e.dropped_rows)


def publish_catalog_if_stale(lake: Lake) -> str | None:
    """Publish the catalog when the home has none or a table moved past the version it pins.

    The catalog's views list the files of the versions they pin, so after an ingest that
    committed a new version (or on a new home) ``alvh sql`` would read the old data.

    Returns:
        The catalog's path when it was published, else None (current, or not a local home).
    """
    pinned = catalog_versions(lake)
    # Only the tables this process declares can have moved (features and hedge register theirs
    # on import); the catalog may pin more.
    if not lake.local or (pinned is not None and all(
            pinned.get(name, -1) == version for name, version in current_versions(lake).items())):
        return None
    from flows.pipeline import publish  # features and hedge: only when publishing

    return publish(lake)


def _count_dropped(source: str, report: SourceReport, lines: list[str], rows: int) -> None:
    report.dropped += [f"source {source!r}: {line}" for line in lines]
    report.dropped_rows += rows
