"""The gate: run a table's suite with GX, act on ``success``, publish or quarantine.

GX returns a result and raises nothing, so every decision here reads the result itself.
GX has no polars engine. Only the columns the suite inspects go to pandas. Measured on the
real tables (bench/bench_gate.py), the hand-over itself costs the same either way (<= 25 ms
for 45k rows), but GX's pandas engine runs about twice as fast on NumPy-backed columns as on
Arrow-backed ones (``use_pyarrow_extension_array``): its null masks and comparisons fall back
to slow paths on ArrowDtype. So NumPy-backed is the default; ARROW_BACKED switches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import polars as pl

from core.errors import DataValidationFailed
from core.paths import safe_segment
from storage import schemas
from storage.lake import Lake, in_partition, iter_partitions
from validations import docs
from validations.row_quarantine import (
    LISTED_KEYS,
    REASON,
    DroppedRows,
    DropPolicy,
    droppable,
    failing_rows,
    key_labels,
    reason_counts,
    split,
)
from validations.suites import Rules, Suite, build_suite
from validations.suites.base import PUBLISHED_ROWS
from validations.verdict import passes

log = logging.getLogger(__name__)

SAMPLES = 5
ARROW_BACKED = False
DATASOURCE = "alvh"
# COMPLETE: a failed row-level expectation must name every failing row (its index), not a
# sample. GX computes that list for SUMMARY too; COMPLETE only stops it truncating. Passing
# runs cost the same; a 40k-row table failing on every row takes ~0.5 s more. The pandas
# query text would repeat the index list.
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": SAMPLES,
                 "return_unexpected_index_query": False}


@dataclass(frozen=True)
class Failure:
    """One failed expectation: its check name, GX type, column and sample offending values.

    ``rows``: positions of the failing rows in the validated frame (row-level checks).
    """

    check: str
    expectation: str
    column: str | None
    unexpected_count: int | None
    samples: list[Any]
    blocking: bool
    row_level: bool = False
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        """``check (expectation on column): N rows, e.g. [...]`` for messages and logs."""
        where = f" on {self.column}" if self.column else ""
        count = "" if self.unexpected_count is None else f": {self.unexpected_count} row(s)"
        return f"{self.check} ({self.expectation}{where}){count}, e.g. {self.samples}"


@dataclass
class GateResult:
    """The outcome of one table's suite on one frame."""

    table: str
    success: bool
    rows: int
    failures: list[Failure]
    warnings: list[Failure]
    elapsed: float
    result_json: dict[str, Any] = field(repr=False)
    evaluated: list[dict[str, Any]] = field(default_factory=list, repr=False)
    scope: str = ""
    dropped: list[DroppedRows] = field(default_factory=list)

    @property
    def dropped_new_rows(self) -> int:
        """Rows of the incoming frame that were dropped to quarantine instead of published."""
        return sum(d.new_rows for d in self.dropped)

    def message(self) -> str:
        """One paragraph naming every blocking failure with its samples."""
        what = f"{self.table} {self.scope}".strip()
        if self.success:
            return f"{what}: {self.rows} rows passed"
        lines = "; ".join(f.describe() for f in self.failures)
        return f"{what}: {len(self.failures)} blocking expectation(s) failed: {lines}"


def reports_dir(home: str | Path) -> Path:
    """Where Data Docs go under the alvh home: ``<home>/reports/validation``."""
    return Path(home) / "reports" / "validation"


@lru_cache(maxsize=1)
def default_context() -> Any:
    """One ephemeral GX context per process (creating one costs ~0.1 s; importing GX ~5 s)."""
    # GX announces its ephemeral docs folder at INFO on every context (every Dask worker).
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.analytics_enabled = False
    return ctx


def validate(table: str, frame: pl.DataFrame, *, published_rows: int | None = None,
             context: Any = None, rules: Rules | None = None,
             docs_dir: str | Path | None = None) -> GateResult:
    """Run ``table``'s suite on ``frame``.

    Args:
        table: a registered table name.
        frame: the rows to validate, in the table's schema (extra columns are refused).
        published_rows: rows of the published version it would replace; None skips the
            row-count check.
        context: a GX data context (default: the process-wide ephemeral one).
        rules: range/row rules, macro series bounds, soft overrides (see ``Rules``).
        docs_dir: when given, the result goes into the Data Docs there at once; otherwise
            it is kept for the next ``build_docs``.

    Returns:
        A GateResult; ``success`` is False when any blocking expectation failed.

    Raises:
        SchemaError: the table is unknown or ``frame`` does not match its schema.
    """
    start = time.perf_counter()
    frame = schemas.get(table).conform(frame)
    rules = rules or Rules()
    suite = _suite(table, rules, published_rows is not None)
    params = {} if published_rows is None else {PUBLISHED_ROWS: published_rows}
    # The verdict in polars; GX runs only when a check fails, for its result document. Data
    # Docs are our own page over either result, so a passing gate never needs GX.
    verdict = passes([c.expectation for c in suite.checks], suite.prepare(frame), params)
    if verdict is not None and all(verdict):
        gate = _passed(table, suite, frame.height, time.perf_counter() - start)
        _keep_for_docs(gate, frame, docs_dir)
        return gate
    return _validate_with_gx(table, frame, suite, params, context, rules, docs_dir, start)


def _validate_with_gx(table: str, frame: pl.DataFrame, suite: Suite, params: dict[str, Any],
                      context: Any, rules: Rules, docs_dir: str | Path | None,
                      start: float) -> GateResult:
    """GX's result on ``frame``: the verdict, the result document and Data Docs."""
    ctx = context or default_context()
    with _GX_LOCK:
        vd = _registered(ctx, table, suite, rules, bool(params))
        data = pandas_view(suite.prepare(frame), suite)
        result = vd.run(batch_parameters={"dataframe": data}, expectation_parameters=params,
                        result_format=RESULT_FORMAT)
    gate = _gate_result(table, frame.height, result, time.perf_counter() - start)
    _keep_for_docs(gate, frame, docs_dir)
    return gate


def _keep_for_docs(gate: GateResult, frame: pl.DataFrame, docs_dir: str | Path | None) -> None:
    """Write the result into Data Docs now (docs_dir), or keep it for ``build_docs``."""
    column = schemas.get(gate.table).date_col
    first, last = (frame[column].min(), frame[column].max()) if frame.height else (None, None)
    record = docs.result_record(gate.table, gate.success, gate.rows, gate.elapsed, first, last,
                                gate.evaluated)
    if docs_dir is None:
        docs.remember(record)
    else:
        docs.write_docs(docs_dir, [record])


_SUITES: dict[tuple[str, str, bool], Suite] = {}


def _suite(table: str, rules: Rules, with_rows: bool) -> Suite:
    """``table``'s suite under ``rules``, built once per process."""
    key = (table, rules.fingerprint(), with_rows)
    if key not in _SUITES:
        _SUITES[key] = build_suite(table, rules, published_rows=0 if with_rows else None)
    return _SUITES[key]


def _passed(table: str, suite: Suite, rows: int, elapsed: float) -> GateResult:
    """A passing result judged in polars: what GX reports for it, without the document."""
    evaluated: list[dict[str, Any]] = [{"check": c.name, "expectation": c.expectation.gx_type,
                  "column": _column(c.expectation.kwargs), "blocking": c.blocking,
                  "success": True, "samples": [],
                  "unexpected_count": None if c.expectation.type ==
                  "ExpectTableRowCountToBeBetween" else 0} for c in suite.checks]
    doc = {"success": True, "judged_by": "polars (validations/verdict.py)",
           "suite": suite.table, "rows": rows, "checks": [e["check"] for e in evaluated]}
    return GateResult(table, True, rows, [], [], elapsed, doc, evaluated)


def _column(kwargs: Mapping[str, Any]) -> str | None:
    """The column(s) an expectation reads, as GX results name them."""
    return kwargs.get("column") or ",".join(
        kwargs.get("column_list") or [k for k in (kwargs.get("column_A"), kwargs.get("column_B"))
                                      if k]) or None


def pandas_view(frame: pl.DataFrame, suite: Suite) -> Any:
    """The columns ``suite`` inspects, as pandas (NumPy-backed unless ARROW_BACKED)."""
    return frame.select(suite.columns()).to_pandas(use_pyarrow_extension_array=ARROW_BACKED)


# A GX context is not thread-safe (stores are plain dicts, Data Docs write shared files), and
# flows may validate tables from concurrent task threads.
_GX_LOCK = threading.RLock()

# Registering a suite and its validation definition costs more than running it on a daily
# table, so each (context, table, rules) pair is registered once and reused.
_REGISTERED: dict[tuple[int, str, str, bool], Any] = {}


def _registered(ctx: Any, table: str, suite: Suite, rules: Rules, with_rows: bool) -> Any:
    import great_expectations as gx

    key = (id(ctx), table, rules.fingerprint(), with_rows)
    if key not in _REGISTERED:
        name = f"{table}_{hashlib.sha256(repr(key[1:]).encode()).hexdigest()[:10]}"
        gx_suite = ctx.suites.add_or_update(gx.ExpectationSuite(
            name=name, expectations=[c.expectation.to_gx() for c in suite.checks]))
        _REGISTERED[key] = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(
            name=name, data=_batch_definition(ctx, table), suite=gx_suite))
    return _REGISTERED[key]


def _batch_definition(ctx: Any, table: str) -> Any:
    try:
        ds = ctx.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        ds = ctx.data_sources.add_pandas(DATASOURCE)
    if table not in ds.get_asset_names():
        ds.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole")
    return ds.get_asset(table).get_batch_definition("whole")


def build_docs(docs_dir: str | Path, context: Any = None) -> str:
    """Write every validation this process kept into the Data Docs in ``docs_dir``.

    Merged with what other runs and processes wrote there (see ``validations.docs``).

    Returns:
        The path of the site's ``index.html``.
    """
    return docs.write_docs(docs_dir)


def _gate_result(table: str, rows: int, result: Any, elapsed: float) -> GateResult:
    evaluated = [_evaluated(r) for r in result.results]
    failed = [_failure(r) for r in result.results if not r.success]
    blocking = [f for f in failed if f.blocking]
    return GateResult(table, not blocking, rows, blocking, [f for f in failed if not f.blocking],
                      elapsed, result.to_json_dict(), evaluated)


def _failure(r: Any) -> Failure:
    cfg = r.expectation_config
    kwargs, res = cfg.kwargs, r.result or {}
    column = _column(kwargs)
    samples = res.get("partial_unexpected_list")
    if samples is None:
        samples = [_observed(res["observed_value"], kwargs)] if "observed_value" in res else []
    if r.exception_info and r.exception_info.get("raised_exception"):
        samples = [r.exception_info.get("exception_message")]
    rows = res.get("unexpected_index_list") or []
    return Failure(cfg.meta.get("check", cfg.type), cfg.type, column,
                   res.get("unexpected_count"), [_plain(v) for v in samples[:SAMPLES]],
                   bool(cfg.meta.get("blocking", True)), bool(cfg.meta.get("row_level")),
                   tuple(int(i) for i in rows if isinstance(i, int | np.integer)))


def _observed(value: Any, kwargs: Mapping[str, Any]) -> str:
    """An aggregate expectation's observed value against its bounds: ``50 (min 543)``."""
    bounds = [f"{k.removesuffix('_value')} {kwargs[k]}" for k in ("min_value", "max_value")
              if kwargs.get(k) is not None]
    return f"{_plain(value)} ({', '.join(bounds)})" if bounds else str(_plain(value))


def _evaluated(r: Any) -> dict[str, Any]:
    f = _failure(r)
    return {"check": f.check, "expectation": f.expectation, "column": f.column,
            "blocking": f.blocking, "success": bool(r.success),
            "unexpected_count": f.unexpected_count, "samples": f.samples if not r.success else []}


def _nat() -> Any:
    import pandas as pd  # loaded with GX already: only GX results carry NaT

    return pd.NaT


def _plain(value: Any) -> Any:
    """A JSON-friendly sample value (dates as ISO text)."""
    if value is _nat():
        return None
    if isinstance(value, np.generic):
        value = value.item()  # NumPy-backed pandas hands back NumPy scalars
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        return value.date().isoformat()  # a Date column handed over as datetime64
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# -- publishing ---------------------------------------------------------------------------

def gate_partition(lake: Lake, table: str, partition: Mapping[str, object] | None,
                   frame: pl.DataFrame, *, at: dt.datetime, context: Any = None,
                   rules: Rules | None = None, docs_dir: str | Path | None = None,
                   drop: DropPolicy | None = None) -> GateResult:
    """Validate ``frame`` before publishing it; publish only when no blocking check fails.

    With a ``partition``, ``frame`` is that partition's complete new contents (validated
    against the published partition's row count, then written with ``write_partition``).
    With ``partition=None``, ``frame`` is merged by key into the partitions it touches: the
    merged partitions are validated, then written with ``upsert``. When that fails and
    several partitions are touched, each is gated on its own, so the good ones are
    published and only the bad ones are quarantined (the error names them).

    With a ``drop`` policy, a partition whose only blocking failures are row-level loses
    just the failing rows ("expect or drop"): they go to quarantine with their reasons and
    the GX result, the previous version of their keys stays live, the rest is published
    (``GateResult.dropped`` says what was dropped). More failing rows than the policy's
    share, or any structural failure, still refuse the partition whole.

    Args:
        lake: the lake to publish into.
        table: a registered table name.
        partition: partition key -> value, or None to upsert.
        frame: the new rows.
        at: when this run happened (names the quarantine entries; the gate reads no clock).
        context: a GX data context (default: the process-wide ephemeral one).
        rules: see ``Rules``.
        docs_dir: where to build Data Docs, or None.
        drop: when failing rows may be dropped; None refuses the partition on any failure.

    Returns:
        The GateResult of a successful validation (warnings may be present).

    Raises:
        DataValidationFailed: a blocking expectation failed. Nothing was written, the
            published version is untouched; the frame (Parquet) and the GX result (JSON)
            were quarantined. The message lists the failed expectations with samples.
        SchemaError: ``frame`` does not match the table's schema.
    """
    t = schemas.get(table)
    frame = t.conform(frame)
    candidate, published = _candidate(lake, table, partition, frame)
    result = validate(table, candidate, published_rows=published, context=context,
                      rules=rules, docs_dir=docs_dir)
    parts = list(iter_partitions(t, frame)) if partition is None else []
    label = _partition_label(table, partition or (parts[0] if len(parts) == 1 else None))
    if not result.success and len(parts) > 1:
        # One bad partition must not hold back the good ones: gate each on its own.
        return _gate_each(lake, table, parts, frame, at=at, context=context, rules=rules,
                          docs_dir=docs_dir, drop=drop)
    if not result.success and drop is not None and droppable(result.failures):
        gate = _Gate(lake, table, label, at, context, rules, docs_dir, published)
        return gate.publish_dropping(partition or parts[0], frame, candidate, result, drop)
    if not result.success:
        paths = _quarantine(lake, label, candidate, result, at)
        raise DataValidationFailed(f"{label} not published ({paths[0]}): {result.message()}")
    _log_warnings(label, result)
    if partition is None:
        lake.upsert(table, frame)
    else:
        lake.write_partition(table, partition, frame)
    return result


def _log_warnings(label: str, result: GateResult) -> None:
    if result.warnings:
        log.warning("%s published with warnings: %s", label,
                    "; ".join(w.describe() for w in result.warnings))


NEW = "_new"


@dataclass
class _Gate:
    """One partition's gate while it drops rows: where to validate, publish and quarantine."""

    lake: Lake
    table: str
    label: str
    at: dt.datetime
    context: Any
    rules: Rules | None
    docs_dir: str | Path | None
    published: int | None

    def validate(self, candidate: pl.DataFrame, unpublished: int) -> GateResult:
        """The gate on ``candidate``, whose partition may shrink by the published rows dropped."""
        published = None if self.published is None else self.published - unpublished
        return validate(self.table, candidate.drop(NEW), published_rows=published,
                        context=self.context, rules=self.rules, docs_dir=self.docs_dir)

    def refuse(self, candidate: pl.DataFrame, result: GateResult, why: str = "") -> NoReturn:
        paths = _quarantine(self.lake, self.label, candidate, result, self.at)
        raise DataValidationFailed(f"{self.label} not published ({paths[0]}): "
                                   f"{why}{result.message()}")

    def publish_dropping(self, partition: Mapping[str, object], frame: pl.DataFrame,
                         candidate: pl.DataFrame, result: GateResult,
                         policy: DropPolicy) -> GateResult:
        """Publish ``candidate`` without its failing rows, or refuse it whole."""
        first = failing_rows(result.failures).height
        if not policy.allows(first, candidate.height):
            self.refuse(candidate, result, f"{first} of {candidate.height} row(s) failed "
                        f"row-level checks, more than the {policy.max_share:.2%} policy "
                        "allows to drop: ")
        kept, dropped, results = self.without_failing_rows(partition, frame, candidate, result)
        final = results[-1]
        final.dropped = [self.quarantine_dropped(dropped, results[:-1])]
        log.warning("%s", final.dropped[0].describe())
        _log_warnings(self.label, final)
        self.lake.write_partition(self.table, partition, kept)
        return final

    def without_failing_rows(self, partition: Mapping[str, object], frame: pl.DataFrame,
                             candidate: pl.DataFrame, result: GateResult
                             ) -> tuple[pl.DataFrame, pl.DataFrame, list[GateResult]]:
        """The candidate that passes once failing rows are gone, those rows, every result.

        A dropped key falls back to its published row, which is judged in turn: a published
        row failing today's checks is dropped too (at most three rounds).
        """
        keys = list(schemas.get(self.table).keys)
        old = _published(self.lake, self.table, [partition])
        restorable = frame.clear() if old is None else old.join(frame.select(keys), on=keys,
                                                                 how="semi")
        is_new = pl.int_range(pl.len()) >= candidate.height - frame.height
        current, results = candidate.with_columns(is_new.alias(NEW)), [result]
        dropped: list[pl.DataFrame] = []
        while not results[-1].success:
            if not droppable(results[-1].failures) or len(results) > 3:
                self.refuse(candidate, results[-1], f"after dropping "
                            f"{sum(d.height for d in dropped)} failing row(s): ")
            current, gone = split(current, failing_rows(results[-1].failures))
            back = restorable.join(gone.select(keys), on=keys, how="semi")
            restorable = restorable.join(gone.select(keys), on=keys, how="anti")
            current = pl.concat([current, back.with_columns(pl.lit(False).alias(NEW))])
            dropped.append(gone)
            old_dropped = sum(d.height - int(d[NEW].sum()) for d in dropped)
            results.append(self.validate(current, old_dropped))
        return current.drop(NEW), pl.concat(dropped), results

    def quarantine_dropped(self, dropped: pl.DataFrame,
                           results: list[GateResult]) -> DroppedRows:
        """Quarantine the dropped rows (with ``quarantine_reason``) and the GX results."""
        keys = key_labels(dropped, schemas.get(self.table).keys).to_list()
        reasons = reason_counts(dropped)
        why = f"{dropped.height} row(s) dropped by row-level checks: " + ", ".join(
            f"{c}: {n}" for c, n in reasons.items())
        buf = io.BytesIO()
        dropped.drop(NEW).select(REASON, pl.exclude(REASON)).write_parquet(
            buf, compression="zstd")
        name = f"{self.label}.dropped"
        path = self.lake.quarantine("validation", f"{name}.parquet", buf.getvalue(), why,
                                    at=self.at)
        report = json.dumps([r.result_json for r in results], indent=1, default=str).encode()
        self.lake.quarantine("validation", f"{name}.gx.json", report, why, at=self.at)
        return DroppedRows(self.label, dropped.height, int(dropped[NEW].sum()), reasons,
                           keys[:LISTED_KEYS], path)


def gate_table(lake: Lake, table: str, frame: pl.DataFrame, *, at: dt.datetime,
               context: Any = None, rules: Rules | None = None,
               docs_dir: str | Path | None = None,
               published_rows: int | None = None) -> GateResult:
    """Validate ``frame`` as the complete new contents of ``table``, then publish it whole.

    For rebuilds: the frame is validated once, against the published table's row count, and
    only on success replaces the table (``Lake.replace``: new partitions written, then the
    ones it no longer has removed). On failure nothing is touched: the published table stays
    as it was, the frame and the GX result are quarantined. ``published_rows`` overrides the
    count the frame must reach, for a caller that knows some published rows are void.

    Raises:
        DataValidationFailed: a blocking expectation failed; nothing was written.
        SchemaError: ``frame`` does not match the table's schema.
    """
    frame = schemas.get(table).conform(frame)
    files = lake.partitions(table)
    published = published_rows if published_rows is not None else (
        lake.scan(table, files=files).select(pl.len()).collect().item() if files else None)
    result = validate(table, frame, published_rows=published, context=context, rules=rules,
                      docs_dir=docs_dir)
    if not result.success:
        paths = _quarantine(lake, f"{safe_segment(table, 'table')}.rebuild", frame, result, at)
        raise DataValidationFailed(f"{table} rebuild not published ({paths[0]}): "
                                   f"{result.message()}")
    lake.replace(table, frame)
    return result


def _gate_each(lake: Lake, table: str, parts: list[dict[str, object]], frame: pl.DataFrame,
               *, at: dt.datetime, context: Any, rules: Rules | None,
               docs_dir: str | Path | None, drop: DropPolicy | None) -> GateResult:
    """Gate every partition of ``frame`` separately; raise naming the ones that failed."""
    t = schemas.get(table)
    failed, last, published, dropped = [], None, 0, []
    for part in parts:
        rows = frame.filter(in_partition(t, part))
        try:
            last = gate_partition(lake, table, None, rows, at=at, context=context, rules=rules,
                                  docs_dir=docs_dir, drop=drop)
            published += rows.height - last.dropped_new_rows
            dropped += last.dropped
        except DataValidationFailed as e:
            failed.append(str(e))
    if failed:
        raise DataValidationFailed(
            f"{table}: {len(failed)} of {len(parts)} partition(s) not published "
            f"(the other {len(parts) - len(failed)} were): " + " | ".join(failed), published,
            [d.describe() for d in dropped], sum(d.new_rows for d in dropped))
    assert last is not None
    last.dropped = dropped
    return last


def _published(lake: Lake, table: str, parts: Iterable[Mapping[str, object]]
               ) -> pl.DataFrame | None:
    """The published rows of ``parts``, or None when none of them is published."""
    old = [p for p in (lake.read_partition(table, part) for part in parts) if p is not None]
    return pl.concat(old) if old else None


def _candidate(lake: Lake, table: str, partition: Mapping[str, object] | None,
               frame: pl.DataFrame) -> tuple[pl.DataFrame, int | None]:
    """The rows that would be published, and the published row count they replace.

    Upserted rows come last, after the published rows they leave in place.
    """
    t = schemas.get(table)
    parts = [partition] if partition is not None else list(iter_partitions(t, frame))
    published = _published(lake, table, parts)
    if published is None:
        return frame, None
    if partition is not None:
        return frame, published.height
    kept = published.join(frame, on=list(t.keys), how="anti")
    return pl.concat([kept, frame]), published.height


def _partition_label(table: str, partition: Mapping[str, object] | None) -> str:
    values = [f"{safe_segment(k)}-{safe_segment(v)}" for k, v in (partition or {}).items()]
    return ".".join([safe_segment(table, "table"), *(values or ["upsert"])])


def _quarantine(lake: Lake, label: str, frame: pl.DataFrame, result: GateResult,
                at: dt.datetime) -> list[str]:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd")
    reason = result.message()
    report = json.dumps(result.result_json, indent=1, default=str).encode()
    return [lake.quarantine("validation", f"{label}.parquet", buf.getvalue(), reason, at=at),
            lake.quarantine("validation", f"{label}.gx.json", report, reason, at=at)]


# -- re-running over the lake -------------------------------------------------------------

def validate_lake(lake: Lake, tables: Sequence[str] | None = None, *,
                  rules: Mapping[str, Rules] | None = None, context: Any = None,
                  docs_dir: str | Path | None = None) -> list[GateResult]:
    """Re-run the suites over the published tables.

    Args:
        lake: the lake to read.
        tables: table names; default every registered table that has published data.
        rules: table -> Rules.
        context: a GX data context (default: the process-wide ephemeral one).
        docs_dir: where to build Data Docs, or None.

    Returns:
        One GateResult per table, in the order validated.
    """
    names = list(tables) if tables else [t.name for t in schemas.all_tables()
                                         if lake.partitions(t.name)]
    rules = rules or {}
    out: list[GateResult] = []
    for name in names:
        for scope, frame in _scopes(lake, name):
            result = validate(name, frame, context=context, rules=rules.get(name),
                              docs_dir=docs_dir)
            result.scope = scope
            out.append(result)
    return out


def _scopes(lake: Lake, table: str) -> Iterable[tuple[str, pl.DataFrame]]:
    """The table whole, or one snapshot at a time when it is partitioned by its date alone.

    Snapshot tables (option_chain) have no check across partitions, and all of their
    history at once would not fit GX's pandas engine comfortably.
    """
    t = schemas.get(table)
    if t.partition_by != (t.date_col,):
        yield "", lake.scan(table).collect()
        return
    lf = lake.scan(table)
    dates = lf.select(pl.col(t.date_col).unique().sort()).collect().to_series()
    for d in dates:
        yield f"{t.date_col}={d}", lf.filter(pl.col(t.date_col) == d).collect()


def summary_rows(results: Iterable[GateResult]) -> list[dict[str, Any]]:
    """One row per evaluated expectation, for the CLI's summary table.

    Each row: table, scope (a snapshot partition, or empty for the whole table), check,
    expectation, column, blocking, severity, success, unexpected_count and samples.
    """
    return [{"table": r.table, "scope": r.scope, **e,
             "severity": "blocking" if e["blocking"] else "soft"}
            for r in results for e in r.evaluated]
