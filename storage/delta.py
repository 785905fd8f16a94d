"""Delta Lake plumbing for the lake: table handles, commits, predicates, history.

Every command's change to a table is one Delta commit (``write_deltalake`` with a
partition predicate), so a crash leaves the table at the version before or after it. A
commit that loses the race with another writer fails with ``CommitFailedError`` (Delta's
optimistic concurrency) and is retried on the new version or refused, never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from core.errors import PipelineError
from storage import schemas

LOG_DIR = "_delta_log"
COMMIT_RETRIES = 5
_WRITER = WriterProperties(compression="ZSTD")


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
           operation: str) -> None:
    """One Delta commit making ``frame`` the contents of ``parts`` (all the table if None).

    ``base`` is the version the frame was computed from: committing on it (not on the
    latest) is what lets Delta detect that another writer changed those partitions since.

    Raises:
        CommitFailedError: a concurrent commit touched the same data.
    """
    data = with_partition_columns(t, frame).to_arrow()
    meta = CommitProperties(custom_metadata={"alvh.operation": operation},
                            max_commit_retries=COMMIT_RETRIES)
    if base is None:  # the first commit creates the table; a racing creator fails here
        write_deltalake(uri, data, partition_by=list(t.partition_by), mode="append",
                        storage_options=dict(storage), writer_properties=_WRITER,
                        commit_properties=meta)
        return
    where = None if parts is None else predicate(t, parts)
    if where == "":
        return
    write_deltalake(base, data, mode="overwrite", predicate=where, writer_properties=_WRITER,
                    commit_properties=meta)


def is_conflict(error: Exception) -> bool:
    """True for a commit refused because another writer got there first."""
    return isinstance(error, CommitFailedError) or (
        "already exists" in str(error).lower() and "version" in str(error).lower())


def history(table: DeltaTable, limit: int | None = None) -> list[dict[str, Any]]:
    """Each commit (newest first): version, time, operation, rows added and removed files."""
    out = []
    for h in table.history(limit):
        metrics = h.get("operationMetrics") or {}
        out.append({
            "version": h.get("version"),
            "timestamp": dt.datetime.fromtimestamp(h["timestamp"] / 1000, dt.UTC),
            "operation": (h.get("alvh.operation") or h.get("operation")),
            "rows_written": metrics.get("num_added_rows"),
            "files_added": metrics.get("num_added_files"),
            "files_removed": metrics.get("num_removed_files"),
        })
    return out


def row_count(table: DeltaTable) -> int:
    """Rows of the loaded version, from the log's per-file statistics (no data read)."""
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0
