"""Delta Lake plumbing for the lake: table handles, commits, predicates, history.

Every command's change to a table is one Delta commit: the new Parquet files are written
first (by polars, one per partition), then one transaction adds them and removes the files
of the partitions they replace. A crash leaves the table at the version before or after
it (plus unreferenced files, which ``vacuum`` removes). A commit that loses the race with
another writer fails with ``CommitFailedError`` (Delta's optimistic concurrency) and is
retried on the new version or refused, never lost.

Why not ``write_deltalake``: its DataFusion writer costs ~150 MiB of memory and ~0.1 s to
write a few MB, more than the rest of a full feature build.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from core.errors import PipelineError
from storage import schemas

LOG_DIR = "_delta_log"
COMMIT_RETRIES = 5
# Columns whose min and max go into a file's statistics (what Delta readers skip files by).
_STATS_TYPES = (pl.Date, pl.Boolean, pl.String)
# A checkpoint every 10 commits (Delta's default: 100): opening a table replays the JSON
# commits since the last one, ~1 ms each for features_daily (a rebuild rewrites 37 files).
TABLE_CONFIG = {"delta.checkpointInterval": "10"}
PutFile = Callable[[str, bytes], None]  # (path under the table, bytes): stores one data file


class ConcurrentWriteError(PipelineError):
    """Another writer committed to the same partitions first; this change was not written."""


def options(storage_options: Mapping[str, Any], endpoint_from_env: str | None = None
            ) -> dict[str, str]:
    """delta-rs storage options from the fsspec/s3fs ones the lake was opened with.

    S3 commits use conditional PUTs (put-if-absent), delta-rs's default and its documented
    way to make concurrent writers safe without a lock table.
    """
    opts = dict(storage_options)
    out = {}
    client = dict(opts.get("client_kwargs") or {})
    endpoint = opts.get("endpoint_url") or client.get("endpoint_url") or endpoint_from_env
    if endpoint:
        out["AWS_ENDPOINT_URL"] = str(endpoint)
        if str(endpoint).startswith("http://"):
            out["AWS_ALLOW_HTTP"] = "true"
    for ours, theirs in (("key", "AWS_ACCESS_KEY_ID"), ("secret", "AWS_SECRET_ACCESS_KEY"),
                         ("token", "AWS_SESSION_TOKEN")):
        if opts.get(ours):
            out[theirs] = str(opts[ours])
    region = client.get("region_name") or opts.get("region_name")
    if region:
        out["AWS_REGION"] = str(region)
    return out


def open_table(uri: str, storage: Mapping[str, str], version: int | None = None,
               as_of: dt.datetime | None = None) -> DeltaTable | None:
    """The Delta table at ``uri`` (latest, at ``version`` or as of a time), None if absent."""
    try:
        table = DeltaTable(uri, version=version, storage_options=dict(storage))
    except TableNotFoundError:
        return None
    if as_of is not None:
        # A time before the first commit would load version 0: the table did not exist yet.
        if first_commit_at(table) > as_of:
            return None
        table.load_as_version(as_of)
    return table


def first_commit_at(table: DeltaTable) -> dt.datetime:
    """When the earliest version still in the log was committed (UTC).

    Ask a handle at the latest version: ``history`` of one loaded at an old version numbers
    its entries wrongly.
    """
    earliest = min(table.history(), key=lambda h: h.get("version", 0))
    return dt.datetime.fromtimestamp(earliest["timestamp"] / 1000, dt.UTC)


def predicate(t: schemas.Table, parts: Sequence[Mapping[str, object]]) -> str:
    """A SQL predicate matching exactly the rows of ``parts`` (values already checked safe)."""
    clauses = []
    for part in parts:
        terms = [f"{k} = {_literal(t, k, v)}" for k, v in part.items()]
        clauses.append("(" + " AND ".join(terms) + ")")
    return " OR ".join(clauses)


def _literal(t: schemas.Table, key: str, value: object) -> str:
    dtype = t.columns.get(key, pl.Int32())
    if dtype.is_integer():
        return str(int(str(value)))
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    text = text.replace("'", "''")
    return f"DATE '{text}'" if dtype == pl.Date() else f"'{text}'"


def with_partition_columns(t: schemas.Table, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the partition keys that are not columns (``year``) added, for Delta."""
    extra = [e for k, e in zip(t.partition_by, t.partition_exprs(), strict=True)
             if k not in t.columns]
    return frame.with_columns(extra) if extra else frame


def commit(uri: str, storage: Mapping[str, str], t: schemas.Table, base: DeltaTable | None,
           frame: pl.DataFrame, parts: Sequence[Mapping[str, object]] | None,
           operation: str, put: PutFile) -> None:
    """One Delta commit making ``frame`` the contents of ``parts`` (all the table if None).

    ``base`` is the version the frame was computed from: committing on it (not on the
    latest) is what lets Delta detect that another writer changed those partitions since.
    ``put`` stores each new data file (path relative to the table) before the commit.

    Raises:
        CommitFailedError: a concurrent commit touched the same data.
    """
    if parts is not None and not parts:
        return
    keys = list(t.partition_by)
    where = None if parts is None else _partition_filters(keys, parts)  # before any file
    data = with_partition_columns(t, frame)
    stats = _stats(data, keys)
    actions = [_add_file(put, dict(zip(keys, key, strict=True)), rows.drop(keys), stats[key])
               for key, rows in data.partition_by(keys, as_dict=True, maintain_order=True
                                                  ).items()]
    meta = CommitProperties(custom_metadata={"alvh.operation": operation,
                                             "alvh.rows_written": str(frame.height)},
                            # Any commit since ``base`` refuses this one: delta-rs would
                            # only check that no file it removes was removed meanwhile, and
                            # two writers adding the same new partition would both land.
                            # The lake decides what a conflict means (Lake._commit_or_refuse).
                            max_commit_retries=0)
    schema = DeltaSchema.from_arrow(data.schema)  # polars' schema: no pyarrow import
    if base is None:  # the first commit creates the table; a racing creator fails here
        create_table_with_add_actions(uri, schema, actions, mode="error", partition_by=keys,
                                      configuration=TABLE_CONFIG, storage_options=dict(storage),
                                      commit_properties=meta)
        return
    base.create_write_transaction([*actions], "overwrite", schema, partition_by=keys,
                                  partition_filters=where, commit_properties=meta)


def _partition_filters(keys: list[str], parts: Sequence[Mapping[str, object]]
                       ) -> list[tuple[str, str, Any]]:
    """The partitions a commit replaces, as Delta partition filters (a conjunction).

    The files of these partitions are removed by the commit; whether another writer
    touched them meanwhile is the caller's check (the commit fails on any newer version).
    """
    if len(keys) == 1:
        return [(keys[0], "in", sorted({_partition_value(p[keys[0]]) for p in parts}))]
    if len(parts) == 1:
        return [(k, "=", _partition_value(v)) for k, v in parts[0].items()]
    raise ValueError(f"partitioned by {keys}: replace one partition per commit")


def _partition_value(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _add_file(put: PutFile, partition: dict[str, object], rows: pl.DataFrame,
              stats: dict[str, Any]) -> AddAction:
    """Write one partition's rows as a new Parquet file; the action that adds it."""
    values = {k: _partition_value(v) for k, v in partition.items()}
    folder = "/".join(f"{k}={v}" for k, v in values.items())
    path = f"{folder}/part-00000-{uuid.uuid4()}-c000.zstd.parquet"
    buf = io.BytesIO()
    rows.write_parquet(buf, compression="zstd")
    payload = buf.getvalue()
    put(path, payload)
    return AddAction(path, len(payload), values, int(time.time() * 1000), True,
                     json.dumps(stats))


def _stats(data: pl.DataFrame, keys: list[str]) -> dict[tuple[object, ...], dict[str, Any]]:
    """Delta file statistics of each partition, in one pass over ``data``.

    Rows, null counts, and the min and max of plain columns (what Delta readers skip files by).
    """
    columns = [c for c in data.columns if c not in keys]
    plain = [c for c in columns if data.schema[c].is_numeric()
             or isinstance(data.schema[c], _STATS_TYPES)]
    aggs = ([pl.len().alias("n")] + [pl.col(c).null_count().alias(f"null:{c}") for c in columns]
            + [pl.col(c).min().alias(f"min:{c}") for c in plain]
            + [pl.col(c).max().alias(f"max:{c}") for c in plain])
    out = {}
    for row in data.group_by(keys).agg(aggs).iter_rows(named=True):
        sections: dict[str, dict[str, Any]] = {"nullCount": {}, "minValues": {}, "maxValues": {}}
        for name, value in row.items():
            kind, _, column = name.partition(":")
            if column and _json_number(value):
                section = {"null": "nullCount", "min": "minValues", "max": "maxValues"}[kind]
                sections[section][column] = (value.isoformat() if isinstance(value, dt.date)
                                             else value)
        out[tuple(row[k] for k in keys)] = {"numRecords": row["n"], **sections}
    return out


def _json_number(value: object) -> bool:
    """False for what Delta statistics leave out: all null, NaN or infinite."""
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def is_conflict(error: Exception) -> bool:
    """True for a commit refused because another writer got there first."""
    text = str(error).lower()
    # A version already written (S3's put-if-absent), or a table created by a racing writer.
    return isinstance(error, CommitFailedError) or "already exists" in text and (
        "version" in text or "delta lake table" in text)


def history(table: DeltaTable, limit: int | None = None) -> list[dict[str, Any]]:
    """Each commit (newest first): version, time, operation and rows written."""
    out = []
    for h in table.history(limit):
        metrics = h.get("operationMetrics") or {}
        out.append({
            "version": h.get("version"),
            "timestamp": dt.datetime.fromtimestamp(h["timestamp"] / 1000, dt.UTC),
            "operation": (h.get("alvh.operation") or h.get("operation")),
            "rows_written": _int(h.get("alvh.rows_written", metrics.get("num_added_rows"))),
        })
    return out


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def row_count(table: DeltaTable) -> int:
    """Rows of the loaded version, from the log's per-file statistics (no data read)."""
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0
