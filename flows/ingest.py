"""Ingest one source: plan what to fetch, fetch and archive it, parse, gate and publish.

Plain functions: the Prefect tasks in ``flows/nightly.py`` and the CLI both call them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from core.calendar import trading_days
from core.clock import today_new_york
from core.errors import (
    DataValidationFailed,
    PipelineError,
    SourceDataError,
    SourceUnavailable,
)
from core.expiry import listed_expiries
from sources import breadth, calendar, cboe, cfe, chains, fred
from sources import config as sources_config
from sources.config import SourcesConfig
from sources.http import HttpClient, Validators, ensure_data, local_path
from storage import schemas
from storage.catalog import catalog_versions, current_versions
from storage.lake import Lake, iter_partitions
from validations.gate import gate_partition
from validations.row_quarantine import DropPolicy
from validations.suites.base import Rules

Plan = list[tuple[str, str]]  # (file name, location)
SOURCE_NAMES = ("calendar", "cboe", "cfe", "chains", "breadth", "fred")
TABLE_OF = {"cboe": "index_daily", "cfe": "vx_futures", "chains": "option_chain",
            "breadth": "breadth_daily", "fred": "macro_observations", "calendar": "events"}
# Sources whose rows may legitimately be dated after the run (scheduled events).
FUTURE_OK = {"calendar"}
VX_LISTED = 9


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
def _months(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start.replace(day=1)
    while day <= end:
        yield day
        day = (day + dt.timedelta(days=32)).replace(day=1)


def vx_expiries_for(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every monthly VX expiry listed on some day of [start, end]."""
    found = {e for d in [*_months(start, end), end] for e in listed_expiries(d, VX_LISTED)}
    return sorted(e for e in found if e >= start)


def plan(source: str, run: Run) -> Plan:
    """The (file name, location) pairs a run of ``source`` fetches from its configured URLs."""
    cfg, first = run.config, run.start or run.run_date
    if source == "cboe":
        return cboe.urls(cfg)
    if source == "cfe":
        return [(f"VX_{e.isoformat()}.csv", sources_config.render(cfg.cfe.url, expiry=e))
                for e in vx_expiries_for(first, run.end or run.run_date)]
    if source == "chains":
        days = trading_days(first, run.end or run.run_date).to_list()
        # A backfill replays history files; the live snapshot only describes today.
        return [e for e in chains.urls(cfg, days) if run.start is None or e[0] != "_SPX.json"]
    if source == "fred":
        return fred.urls(cfg, api_key=run.api_key)
    if source == "breadth":
        return _folder_or_file(cfg.breadth.url)
    if source == "calendar":
        c = cfg.calendar
        return [(f"{kind}.csv", loc) for kind, loc in
                (("fomc", c.fomc), ("cpi", c.cpi), ("ppi", c.ppi), ("events", c.events)) if loc]
    raise PipelineError(f"unknown source {source!r}; known: {', '.join(SOURCE_NAMES)}")


def _folder_or_file(location: str | None) -> Plan:
    if not location:
        return []
    path = local_path(location)
    if path is not None and path.is_dir():
        return [(p.name, str(p)) for p in sorted(path.iterdir()) if p.suffix.lower() == ".csv"]
    return [(location.rsplit("/", 1)[-1] or "breadth.csv", location)]


def _header(path: Path) -> list[str]:
    """The first line of a CSV file as trimmed, unquoted, upper-case cells."""
    with path.open("rb") as f:
        line = f.readline(4096).decode("utf-8", "replace").lstrip("\ufeff")
    return [c.strip().strip('"').strip().upper() for c in line.split(",")]


def _fredgraph_named(path: Path) -> bool:
    """A single-series fredgraph CSV (date + one series column) named ``{SERIES_ID}[_...].csv``.

    Wide tables (several series) and look-alikes named after something else (``heliar_fx_DXY``,
    ``ofr_fsi``) are not FRED downloads: ``--from`` skips them instead of quarantining them.
    """
    if path.suffix.lower() == ".json":
        return True
    header = _header(path) if path.suffix.lower() == ".csv" else []
    if len(header) != 2 or header[0] not in fred.DATE_HEADERS:
        return False
    stem = path.stem.upper()
    return stem == header[1] or stem.startswith(f"{header[1]}_")


def _breadth_counts(path: Path) -> bool:
    """A TradingView NYSE breadth export (ADV, DECL...) or a plain file with breadth columns."""
    if path.suffix.lower() != ".csv":
        return False
    try:
        breadth.component_of(path.name)
        return True
    except SourceDataError:
        header = {c.lower() for c in _header(path)}
        return "date" in header and bool(header & set(breadth.COMPONENTS.values()))


_FROM_PATTERNS: dict[str, Callable[[Path], bool]] = {
    "cboe": lambda p: p.name.endswith("_History.csv"),
    "cfe": lambda p: p.name.lower().endswith(".csv") and "vx" in p.name.lower(),
    "fred": _fredgraph_named,
    "breadth": _breadth_counts,
    "chains": lambda p: p.name.lower().endswith((".csv", ".json")),
    "calendar": lambda p: p.name.lower().endswith(".csv"),
}


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
    wanted = _FROM_PATTERNS[source]
    return [(p.name, str(p)) for p in sorted(root.rglob("*")) if p.is_file() and wanted(p)]


# -- parsing -----------------------------------------------------------------------------
def _events(run: Run) -> pl.DataFrame:
    return run.lake.scan("events").select("date", "kind").collect()


def parse_one(source: str, payload: bytes, name: str, run: Run) -> pl.DataFrame:
    """Parse one payload with its source's parser (ensuring it is data first)."""
    ensure_data(payload, source=source, name=name)
    if source == "cboe":
        return cboe.parse(payload, name)
    if source == "fred":
        return fred.parse(payload, name, rules=run.config.fred.rules, releases=_events(run))
    parser = {"cfe": cfe.parse, "chains": chains.parse, "breadth": breadth.parse,
              "calendar": calendar.parse}[source]
    return parser(payload, name)


def combine(source: str, frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One frame for the source's table from its parsed files; a later file wins a key."""
    if source == "breadth":
        return breadth.combine(frames)
    keys = list(schemas.get(TABLE_OF[source]).keys)
    return pl.concat(frames, how="vertical_relaxed").unique(keys, keep="last",
                                                            maintain_order=True)


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


def rules_for(table: str, config: SourcesConfig) -> Rules | None:
    """The validation inputs that come from the sources config."""
    if table == "macro_observations":
        return Rules(series_bounds={s: (r.min, r.max) for s, r in config.fred.rules.items()})
    if table == "index_daily":
        return Rules(series_bounds={s: (b.min, b.max) for s, b in config.cboe.bounds.items()})
    return None


# -- the run -----------------------------------------------------------------------------
def ingest(source: str, run: Run, *, client: HttpClient, files: Plan | None = None
           ) -> SourceReport:
    """Fetch, archive, parse, validate and publish one source.

    A file that cannot be fetched or parsed is reported (and, if received, quarantined);
    the others go on. Rows are published only through the validation gate.

    Args:
        source: one of SOURCE_NAMES.
        run: lake, config, dates and clock of this run.
        client: the HTTP client (its retries and pacing apply to every file).
        files: explicit (name, location) pairs (``--from``); default the configured plan.

    Returns:
        A SourceReport; its ``errors`` name source, file and problem.
    """
    table = TABLE_OF[source]
    report = SourceReport(source, table)
    client.hide(run.api_key)
    planned = plan(source, run) if files is None else files
    archived = remembered(run.lake, source, client, [loc for _, loc in planned])
    frames = []
    for name, location in planned:
        frame = _fetch_and_parse(source, name, location, run, client, report, archived)
        if frame is not None:
            frames.append(frame)
    frames = [f for f in frames if f.height]
    if frames:
        _publish(source, table, combine(source, frames), run, report)
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


def _fetch_and_parse(source: str, name: str, location: str, run: Run, client: HttpClient,
                     report: SourceReport, archived: dict[str, str]) -> pl.DataFrame | None:
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
        return _not_after_today(source, name, parse_one(source, fetched.payload, name, run), run)
    except SourceDataError as e:
        path = run.lake.quarantine(source, safe, fetched.payload, str(e), at=run.now)
        report.errors.append(f"{e} (quarantined: {path})")
        return None


def _not_after_today(source: str, name: str, frame: pl.DataFrame, run: Run) -> pl.DataFrame:
    """``frame``, or a SourceDataError naming the file when it holds rows dated after today."""
    if source in FUTURE_OK:
        return frame
    col = schemas.get(TABLE_OF[source]).date_col
    future = frame.filter(pl.col(col) > run.today)
    if future.height:
        raise SourceDataError(f"source {source!r}, file {name!r}: {future.height} row(s) dated "
                              f"after today {run.today}, e.g. "
                              f"{future.select(pl.col(col).min().cast(pl.String)).item()}")
    return frame


def _publish(source: str, table: str, frame: pl.DataFrame, run: Run,
             report: SourceReport) -> None:
    date_col = schemas.get(table).date_col
    if run.start:
        frame = frame.filter(pl.col(date_col) >= run.start)
    if run.end:
        frame = frame.filter(pl.col(date_col) <= run.end)
    frame = restamped(run.lake, table, frame, run.now)
    drop = DropPolicy(run.config.quarantine.max_row_share)
    try:
        result = gate_partition(run.lake, table, None, frame, at=run.now, drop=drop,
                                rules=rules_for(table, run.config), docs_dir=run.docs_dir)
        report.rows += frame.height - result.dropped_new_rows
        _count_dropped(source, report, [d.describe() for d in result.dropped],
                       result.dropped_new_rows)
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
