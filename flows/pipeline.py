"""The pipeline's steps after ingest: build features, recommend, publish the catalog.

Plain functions over a lake and dates; the CLI and the Prefect tasks both call them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from features.build import WINDOWED_TABLES, ad_line_seed, build_features, history_start
from features.config import FeatureConfig
from features.registry import FEATURE_SET_VERSION, FEATURES

# The day's feature row, kept importable here (the recommend step lives in flows.recommend;
# the build does not import the hedge engine).
from flows.feature_row import features_row as features_row
from flows.feature_row import last_session as last_session
from hedge.policy import Policy
from storage.catalog import publish_catalog
from storage.lake import Lake
from validations import Rules, gate_partition, gate_table, registered_ranges

INPUT_TABLES = ("index_daily", "vx_futures", "breadth_daily", "macro_observations", "events")
# Rows changed in these columns since the last build are what an incremental run redoes.
_CHANGE_DATE = {"macro_observations": "available_at", "vx_futures": "trade_date"}


@dataclass(frozen=True)
class BuildReport:
    """What a features build did."""

    first: dt.date | None
    last: dt.date | None
    rows: int
    full: bool

    def line(self) -> str:
        """One line for logs and the CLI."""
        kind = "full rebuild" if self.full else "incremental"
        return f"features_daily: {self.rows} row(s) {self.first}..{self.last} ({kind})"


def inputs(lake: Lake, since: dt.date | None = None,
           breadth_since: dt.date | None = None) -> dict[str, pl.LazyFrame]:
    """The feature inputs as lazy scans; windowed tables skip years before ``since``.

    breadth_daily skips years before ``breadth_since`` (give it only with an A/D line seed
    of that day: without one the A/D line sums breadth from its first row).
    """
    cut = {t: since for t in WINDOWED_TABLES} | {"breadth_daily": breadth_since}
    return {t: lake.scan(t, since=cut.get(t)) for t in INPUT_TABLES}


def feature_rules() -> Rules:
    """Validation ranges of features_daily, straight from the registry."""
    return Rules(range_rules=registered_ranges(FEATURES))


def recommendation_rules(policy: Policy) -> Rules:
    """Policy caps the stored recommendation must respect."""
    cap = policy.caps.max_total_risk_pct
    return Rules(row_rules={"within_total_risk_cap": (
        pl.col("ic_max_loss") + pl.col("hedge_debit") <= cap * pl.col("equity") + 1e-6)})


def changed_since(lake: Lake, stamp: dt.datetime) -> dt.date | None:
    """The earliest market date of any input row ingested after ``stamp``.

    Only the files whose footer says they may hold such rows are read (nightly: the few
    partitions the last ingest rewrote).
    """
    queries = []
    for table in INPUT_TABLES:
        ranges = lake.column_ranges(table, ["ingested_at"])
        files = [f for f, r in ranges.items()
                 if r["ingested_at"] is None or r["ingested_at"][1] > stamp]
        if files:
            queries.append(lake.scan(table, files=files).filter(pl.col("ingested_at") > stamp)
                           .select(pl.col(_CHANGE_DATE.get(table, "date")).min()))
    firsts = [f.item() for f in pl.collect_all(queries)] if queries else []
    return min((f for f in firsts if f is not None), default=None)


def incremental_start(lake: Lake, end: dt.date) -> dt.date | None:
    """First day an incremental build must redo; None when a full rebuild is needed.

    The day after the last stored row, or earlier when inputs for earlier days arrived
    since the last build (a late FRED print, a re-fetched CBOE file), never before the
    first stored day. A table holding another feature set version is rebuilt in full.
    """
    # A scan, not footers: features_daily's 67-column footers cost more than its 3 columns.
    stored = lake.scan("features_daily").select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last"),
        pl.col("computed_at").max().alias("stamp"),
        (pl.col("feature_set_version") != FEATURE_SET_VERSION).any().alias("stale"),
    ).collect().row(0, named=True)
    if stored["last"] is None or stored["stale"]:
        return None
    start = stored["last"] + dt.timedelta(days=1)
    late = changed_since(lake, stored["stamp"])
    if late is not None and late < start:
        start = max(late, stored["first"])
    return min(start, end)


def compute(lake: Lake, end: dt.date, *, now: dt.datetime, full: bool = False,
            config: FeatureConfig | None = None) -> tuple[dt.date | None, pl.DataFrame]:
    """The features_daily rows a build would publish, and their first day (None: all).

    Incremental unless ``full``: only the days from ``incremental_start`` on, computed from
    the input years their lookback reaches and the stored A/D line before them.
    """
    start = None if full else incremental_start(lake, end)
    since = history_start(start, config)
    # The stored A/D line before the window lets the run read only recent breadth years.
    seed = ad_line_seed(lake.scan("features_daily", since=since - dt.timedelta(days=10),
                                  until=since), start, config) if since else None
    frame = build_features(inputs(lake, since, seed.date if seed else None), start=start,
                           end=end, config=config, computed_at=now, ad_seed=seed)
    return start, frame


def rows_with_inputs(lake: Lake) -> int | None:
    """Stored features_daily rows up to the last one with SPX and VIX closes (None: empty).

    Earlier builds wrote rows past the inputs, up to the run date; a rebuild no longer
    does, and must not be refused as a shrinking table for dropping them.
    """
    stored = lake.scan("features_daily").select("date", "spx_close", "vix_close")
    last = stored.filter(pl.col("spx_close").is_not_null() & pl.col("vix_close").is_not_null()
                         ).select(pl.col("date").max()).collect().item()
    if last is None:
        return None
    return stored.filter(pl.col("date") <= last).select(pl.len()).collect().item()


def build(lake: Lake, end: dt.date, *, now: dt.datetime, full: bool = False,
          config: FeatureConfig | None = None) -> BuildReport:
    """Compute features_daily through ``end`` (incrementally unless ``full``) and publish it.

    A full rebuild replaces the table (rows no longer produced are dropped); an incremental
    one merges its days into the partitions they fall in.

    Raises:
        DataValidationFailed: the new rows failed the gate; nothing was published.
    """
    if not lake.partitions("index_daily"):
        return BuildReport(None, None, 0, full)  # nothing ingested yet: nothing to build
    start, frame = compute(lake, end, now=now, full=full, config=config)
    if start is None and frame.height:
        gate_table(lake, "features_daily", frame, at=now, rules=feature_rules(),
                   published_rows=rows_with_inputs(lake))
    elif frame.height:
        gate_partition(lake, "features_daily", None, frame, at=now, rules=feature_rules())
    return BuildReport(frame["date"].min() if frame.height else None,  # type: ignore[arg-type]
                       frame["date"].max() if frame.height else None,  # type: ignore[arg-type]
                       frame.height, start is None)




def publish(lake: Lake) -> str:
    """Publish the catalog with the feature catalog, the SQL helpers and dashboard views."""
    from flows.views import catalog_extras

    extra_sql, tables = catalog_extras()
    return publish_catalog(lake, extra_sql=extra_sql, tables=tables)
