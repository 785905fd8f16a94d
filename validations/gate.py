"""The gate: validate a table's new rows, then publish them or quarantine them.

A partition (or a whole table) is published only when no blocking check fails; otherwise the
frame and the GX result go to quarantine and the published version stays. Row-level failures
may instead cost only their rows ("expect or drop", ``validations.row_quarantine``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from core.errors import DataValidationFailed
from core.paths import safe_segment
from storage import schemas
from storage.lake import Lake, in_partition, iter_partitions
from validations.result import DroppedRows, GateResult
from validations.row_quarantine import (
    LISTED_KEYS,
    REASON,
    DropPolicy,
    droppable,
    failing_rows,
    key_labels,
    reason_counts,
    split,
)
from validations.suites import Rules
from validations.validation import validate

log = logging.getLogger(__name__)


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
_STAMPS = ("ingested_at", "computed_at")  # when a row was read, not what it says


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
        known, dropped = self.known_dropped(dropped)
        final.dropped = [d for d in (known, None if dropped.is_empty() else
                                     self.quarantine_dropped(dropped, results[:-1])) if d]
        for d in final.dropped:
            log.warning("%s", d.describe())
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

    def known_dropped(self, dropped: pl.DataFrame) -> tuple[DroppedRows | None, pl.DataFrame]:
        """The dropped rows an earlier run already quarantined (as is), and the others.

        Providers re-send whole histories: a bad row they never correct would otherwise be
        quarantined, and reported as news, on every run.
        """
        earlier = [p for p in self.lake.list_area("quarantine", "validation")
                   if p.endswith(f"_{safe_segment(self.label)}.dropped.parquet")]
        if not earlier:
            return None, dropped
        same = [c for c in dropped.columns if c not in (NEW, REASON, *_STAMPS)]
        seen = pl.concat([pl.read_parquet(self.lake.read_bytes(p)).select(same)
                          for p in earlier], how="vertical_relaxed").unique()
        known = dropped.join(seen, on=same, how="semi", nulls_equal=True)
        if known.is_empty():
            return None, dropped
        rest = dropped.join(seen, on=same, how="anti", nulls_equal=True)
        keys = key_labels(known, schemas.get(self.table).keys).to_list()
        return DroppedRows(self.label, known.height, int(known[NEW].sum()),
                           reason_counts(known), keys[:LISTED_KEYS], earlier[0],
                           known=True), rest

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
    published = published_rows if published_rows is not None else _row_count(lake, table)
    result = validate(table, frame, published_rows=published, context=context, rules=rules,
                      docs_dir=docs_dir)
    if not result.success:
        paths = _quarantine(lake, f"{safe_segment(table, 'table')}.rebuild", frame, result, at)
        raise DataValidationFailed(f"{table} rebuild not published ({paths[0]}): "
                                   f"{result.message()}")
    lake.replace(table, frame)
    return result


def _row_count(lake: Lake, table: str) -> int | None:
    """Rows of the published ``table`` (None: not published)."""
    files = lake.partitions(table)
    return lake.scan(table, files=files).select(pl.len()).collect().item() if files else None


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
