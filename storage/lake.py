"""The lake: Delta tables (one commit per command), lazy scans, raw archive and quarantine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fsspec
import polars as pl
from deltalake import DeltaTable
from fsspec.implementations.local import LocalFileSystem

from core.errors import SchemaError
from core.paths import safe_segment
from storage import delta, schemas
from storage.delta import ConcurrentWriteError, PutFile

if TYPE_CHECKING:
    import pyarrow.parquet as pq

DATA_FILE = "data.parquet"


@dataclass(frozen=True)
class Snapshot:
    """One version of a table: its number (None before Delta) and its data files."""

    version: int | None
    files: list[str]


class Lake:
    """A lake rooted at a local path or any fsspec URL (``s3://bucket/prefix``)."""

    def __init__(
        self, root: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
    ):
        """Open the lake at ``root``; ``storage_options`` go to fsspec (endpoint, keys)."""
        self.fs, path = fsspec.core.url_to_fs(str(root), **dict(storage_options or {}))
        self.local = isinstance(self.fs, LocalFileSystem)
        self.root = os.path.abspath(path) if self.local else path.rstrip("/")
        self.url = self.root if self.local else f"{self.fs.protocol[0]}://{self.root}"
        self.delta_options = delta.options(storage_options or {})

    # -- paths --------------------------------------------------------------------------
    def path(self, *segments: str) -> str:
        """Join ``segments`` under the lake root."""
        return "/".join([self.root, *segments])

    def partition_dir(self, table: str, partition: Mapping[str, object]) -> str:
        """The folder of one partition, after checking every key and value is safe."""
        t = schemas.get(table)
        if tuple(partition) != t.partition_by:
            raise SchemaError(
                f"table {table}: partition keys {tuple(partition)} != {t.partition_by}"
            )
        parts = [f"{safe_segment(k, 'partition key')}={safe_segment(v, 'partition value')}"
                 for k, v in partition.items()]
        return self.path("tables", safe_segment(table, "table"), *parts)

    # -- writing ------------------------------------------------------------------------
    def put_bytes(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` so a reader sees the old file or the new one, never half.

        Locally: a temporary file in the same folder, fsync, one rename, fsync of the folder.
        On object stores a single PUT is already atomic.
        """
        if not self.local:
            self.fs.pipe_file(path, data)
            return
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def table_uri(self, table: str) -> str:
        """The Delta table's URI (a local path, or ``s3://bucket/...``)."""
        path = self.path("tables", safe_segment(table, "table"))
        return path if self.local else f"{self.fs.protocol[0]}://{path}"

    def delta(self, table: str, version: int | None = None,
              as_of: dt.datetime | None = None) -> DeltaTable | None:
        """The table's Delta handle (latest, at ``version`` or as of a time); None if absent."""
        return delta.open_table(self.table_uri(table), self.delta_options, version, as_of)

    def write_partition(
        self, table: str, partition: Mapping[str, object], frame: pl.DataFrame
    ) -> str:
        """Replace one partition of ``table`` with ``frame``, in one Delta commit.

        Args:
            table: a declared table name.
            partition: partition key -> value, in the table's ``partition_by`` order.
            frame: the partition's complete contents.

        Returns:
            The partition's folder.

        Raises:
            SchemaError: a missing or mistyped column, duplicate keys, or rows that belong to
                another partition; nothing is written.
            UnsafePathError: a partition value that could escape the lake.
            ConcurrentWriteError: another writer changed the partition meanwhile; this
                frame was not written (it would have discarded that change).
        """
        t = schemas.get(table)
        target = self.partition_dir(table, partition)
        frame = t.conform(frame)
        _check_rows_in_partition(t, partition, frame)
        _check_unique_keys(t, frame)
        base = self._writable(table)
        if _same_rows(t, self._rows(t, base, [dict(partition)]), frame):
            return target  # re-running a day: no new version, no new files
        self._commit_or_refuse(t, base, frame, [dict(partition)], "write_partition")
        return target

    def upsert(self, table: str, frame: pl.DataFrame) -> list[dict[str, object]]:
        """Merge ``frame`` into ``table`` by key: one Delta commit over every partition touched.

        New rows replace stored rows with the same key; every other stored row stays. When
        another writer commits to the same partitions first, the merge is redone on its
        version (both changes kept); after ``COMMIT_RETRIES`` lost races it is refused.

        Returns:
            The partitions written, as dicts.

        Raises:
            ConcurrentWriteError: the retries ran out; nothing of ``frame`` was written.
        """
        t = schemas.get(table)
        frame = t.conform(frame)
        _check_unique_keys(t, frame)
        parts = self._checked_partitions(t, frame)
        for _ in range(delta.COMMIT_RETRIES):
            base = self._writable(table)
            old = self._rows(t, base, parts)
            merged = pl.concat([old.join(frame, on=list(t.keys), how="anti"), frame])
            if _same_rows(t, old, merged):
                return parts  # nothing changes: no empty commit, no new files
            try:
                self._commit(t, base, merged.sort(list(t.keys)), parts, "upsert")
                return parts
            except Exception as e:
                if not delta.is_conflict(e):
                    raise
        raise ConcurrentWriteError(
            f"table {table}: {delta.COMMIT_RETRIES} concurrent commits to partitions "
            f"{parts[:3]} won the race; upsert not written (run the command again)")

    def replace(self, table: str, frame: pl.DataFrame) -> list[dict[str, object]]:
        """Make ``frame`` the whole of ``table`` in one Delta commit.

        Readers see the old table or the new one, never a mix; the old version stays
        readable (time travel) until vacuumed.

        Returns:
            The partitions written, as dicts.

        Raises:
            ConcurrentWriteError: another writer committed meanwhile; nothing was written.
        """
        t = schemas.get(table)
        frame = t.conform(frame)
        _check_unique_keys(t, frame)  # before any write: a bad frame leaves the table as it is
        parts = self._checked_partitions(t, frame)
        self._commit_or_refuse(t, self._writable(table), frame, None, "replace")
        return parts

    def _checked_partitions(self, t: schemas.Table, frame: pl.DataFrame
                            ) -> list[dict[str, object]]:
        """The partitions of ``frame``, after checking each value is a safe folder name."""
        parts = list(iter_partitions(t, frame))
        for part in parts:
            self.partition_dir(t.name, part)  # raises UnsafePathError
        return parts

    def _commit_or_refuse(self, t: schemas.Table, base: DeltaTable | None, frame: pl.DataFrame,
                          parts: list[dict[str, object]] | None, operation: str) -> None:
        """Commit ``frame`` on ``base``, or refuse it when another writer got there first.

        A commit to other partitions meanwhile is no conflict: the write is redone on the
        new version. One to the same partitions (or any, for a whole-table write) is:
        redoing it would discard the other writer's change.
        """
        frame = frame.sort(list(t.keys))
        for _ in range(delta.COMMIT_RETRIES):
            try:
                self._commit(t, base, frame, parts, operation)
                return
            except Exception as e:
                if not delta.is_conflict(e):
                    raise
                latest = self.delta(t.name)
                if parts is None or latest is None or (
                        self._files_of(t, base, parts) != self._files_of(t, latest, parts)):
                    where = "the whole table" if parts is None else f"partition(s) {parts[:3]}"
                    raise ConcurrentWriteError(
                        f"table {t.name}: another writer committed to {where} meanwhile; "
                        f"{operation} not written (run the command again)") from e
                base = latest
        raise ConcurrentWriteError(
            f"table {t.name}: {delta.COMMIT_RETRIES} concurrent commits won the race; "
            f"{operation} not written (run the command again)")

    def _files_of(self, t: schemas.Table, base: DeltaTable | None,
                  parts: list[dict[str, object]]) -> list[str]:
        """The data files of ``parts`` in version ``base`` (none when the table is new)."""
        return [] if base is None else sorted(
            f for p in parts for f in _partition_files(self, t, base, p))

    def _commit(self, t: schemas.Table, base: DeltaTable | None, frame: pl.DataFrame,
                parts: list[dict[str, object]] | None, operation: str) -> None:
        delta.commit(self.table_uri(t.name), self.delta_options, t, base, frame,
                     parts, operation, self.data_file_writer(t.name))

    def data_file_writer(self, table: str) -> PutFile:
        """Stores a new data file of ``table`` (path relative to the table), for a commit.

        No rename dance: a file is read only once a commit names it.
        """
        folder = self.path("tables", safe_segment(table, "table"))

        def put(relative: str, data: bytes) -> None:
            path = f"{folder}/{relative}"
            if not self.local:
                self.fs.pipe_file(path, data)
                return
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        return put

    def _writable(self, table: str) -> DeltaTable | None:
        """The latest version to commit on, converting a pre-Delta table first."""
        base = self.delta(table)
        if base is None and self.legacy_files(table):
            self.convert(table)
            base = self.delta(table)
        return base

    def _rows(self, t: schemas.Table, base: DeltaTable | None,
              parts: list[dict[str, object]]) -> pl.DataFrame:
        """The rows of ``parts`` in version ``base`` (empty when the table is new)."""
        files = self._files_of(t, base, parts)
        return self.scan(t.name, files=files).collect() if files else t.empty()

    def convert(self, table: str) -> int:
        """Turn a pre-Delta (hive Parquet) table into a Delta table in place; its row count.

        The Delta files are written beside the old ``data.parquet`` files, and the table
        becomes Delta only when its first commit lands; the old files are deleted after it.
        A crash before the commit leaves the old table readable as it was (plus orphan
        files); after it, the Delta table holds exactly the old rows.
        """
        files = self.legacy_files(table)
        if not files:
            return 0
        t = schemas.get(table)
        frame = self.scan(table, files=files).collect()
        if self.delta(table) is None:
            self._commit(t, None, frame.sort(list(t.keys)), None, "migrate")
        for path in files:
            self.fs.rm(path)
        return frame.height

    def vacuum(self, table: str, retention_hours: float) -> list[str]:
        """Delete the files no version younger than ``retention_hours`` needs; their paths.

        Old versions stay readable (time travel) for the retention period; a version whose
        files are vacuumed can no longer be read.
        """
        base = self.delta(table)
        if base is None:
            return []
        # full: also the files of commits that never landed (a killed or refused write)
        return list(base.vacuum(retention_hours=int(retention_hours), dry_run=False,
                                enforce_retention_duration=False, full=True))

    def history(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The table's commits, newest first: version, time, operation, rows at that version."""
        base = self.delta(table)
        if base is None:
            return []
        out = delta.history(base, limit)
        for entry in out:
            at = self.delta(table, version=entry["version"])
            entry["rows"] = delta.row_count(at) if at is not None else None
        return out

    # -- reading ------------------------------------------------------------------------
    def partitions(self, table: str) -> list[str]:
        """Paths of the data files of ``table``'s current version (never uncommitted ones)."""
        return self.snapshot(table).files

    def legacy_files(self, table: str) -> list[str]:
        """The ``data.parquet`` files of a pre-Delta (hive Parquet) table, if it is one."""
        base = self.path("tables", safe_segment(table, "table"))
        levels = len(schemas.get(table).partition_by)
        if self.local:
            # os.scandir: fsspec's glob walks with a stat per entry (~5 ms for 120 files).
            return sorted(_local_data_files(base, levels))
        depth = "/".join(["*"] * levels)
        return sorted(self.fs.glob(f"{base}/{depth}/{DATA_FILE}"))

    def snapshot(self, table: str, version: int | None = None,
                 as_of: dt.datetime | None = None) -> Snapshot:
        """A version of ``table`` and its data files (current, ``version`` or at ``as_of``).

        A pre-Delta table is version None; a table that did not exist (yet) has no files.
        """
        base = self.delta(table, version, as_of)
        if base is None:  # no Delta log: a table not yet converted is read as it was
            current = version is None and as_of is None
            return Snapshot(None, self.legacy_files(table) if current else [])
        return Snapshot(base.version(), sorted(self._local_uri(u) for u in base.file_uris()))

    def _local_uri(self, uri: str) -> str:
        """A file URI as the rest of the lake names paths (fsspec's, without a scheme)."""
        return uri if self.local else uri.split("://", 1)[-1]

    def read_partition(self, table: str, partition: Mapping[str, object]) -> pl.DataFrame | None:
        """One partition of the current version as a frame, or None when absent."""
        folder = self.partition_dir(table, partition) + "/"
        files = [f for f in self.partitions(table) if f.startswith(folder)]
        return self.scan(table, files=files).collect() if files else None

    def column_ranges(self, table: str, columns: Iterable[str]
                      ) -> dict[str, dict[str, tuple[Any, Any] | None]]:
        """Each data file's (min, max) of ``columns``, from its Parquet footer alone.

        No data is read: a footer costs a fraction of a scan, so a question like "which files
        hold rows ingested after T" opens only the files whose range says they may. A column
        without statistics in some row group of a file (e.g. all null) gives None there.

        Returns:
            path -> column -> (min, max) or None.
        """
        import pyarrow.parquet as pq  # here only: importing pyarrow costs a read ~0.1 s

        out: dict[str, dict[str, tuple[Any, Any] | None]] = {}
        for path in self.partitions(table):
            if self.local:  # without fsspec's file object: a third of the cost
                meta = pq.read_metadata(path)
            else:
                with self.fs.open(path, "rb") as fh:
                    meta = pq.read_metadata(fh)
            names = meta.schema.names
            out[path] = {c: _column_range(meta, names.index(c)) for c in columns}
        return out

    def scan(self, table: str, since: dt.date | None = None,
             until: dt.date | None = None, files: Iterable[str] | None = None
             ) -> pl.LazyFrame:
        """A lazy scan over ``table`` in its declared schema (hive-partitioned).

        Args:
            table: a declared table name.
            since: when given and the table is partitioned by year, skip the files of years
                before ``since.year`` without opening them (whole years are kept, so rows
                dated before ``since`` in its year still come back). Other tables: ignored.
            until: likewise, skip the files of years after ``until.year``.
            files: scan only these data files (paths from ``partitions``).

        Returns:
            A LazyFrame over the (kept) partitions.
        """
        t = schemas.get(table)
        files = self.partitions(table) if files is None else list(files)
        if "year" in t.partition_by and (since is not None or until is not None):
            first = since.year if since is not None else dt.MINYEAR
            last = until.year if until is not None else dt.MAXYEAR
            files = [f for f in files if first <= _partition_year(f) <= last]
        if not files:
            return t.empty().lazy()
        hive = {k: (t.columns[k] if k in t.columns else pl.Int32()) for k in t.partition_by}
        if self.local:
            lf = pl.scan_parquet(files, hive_partitioning=True, hive_schema=hive)
        else:
            import pyarrow as pa
            import pyarrow.dataset as ds  # remote lakes only: it loads pandas (~0.2 s)

            part = ds.partitioning(
                pa.schema([(k, pl.DataFrame(schema={k: v}).to_arrow().schema[0].type)
                           for k, v in hive.items()]), flavor="hive")
            base = self.path("tables", table)
            lf = pl.scan_pyarrow_dataset(ds.dataset(
                files, filesystem=self.fs, format="parquet", partitioning=part,
                partition_base_dir=base))
        return lf.select(pl.col(c).cast(d) for c, d in t.columns.items())

    # -- raw archive and quarantine -------------------------------------------------------
    def save_raw(self, source: str, name: str, payload: bytes, meta: Mapping[str, Any]) -> str:
        """Keep a fetched payload exactly as received, with a ``.meta.json`` beside it.

        A payload identical (same sha256) to one already kept for this source and name is
        not stored again: only a ``.meta.json`` recording the re-fetch is written, its
        ``payload`` naming the copy kept.

        Args:
            source: provider name (``cboe``, ``fred`` ...).
            name: file name as the provider names it.
            payload: the bytes received.
            meta: at least ``url``, ``fetched_at`` (aware datetime or ISO text) and ``status``.

        Returns:
            The payload's path (the earlier copy for a re-fetch). Payloads are never
            overwritten.
        """
        return self._keep("raw", source, name, payload, dict(meta), dedupe=True)

    def quarantine(
        self, source: str, name: str, payload: bytes, reason: str, *, at: dt.datetime
    ) -> str:
        """Keep rejected input with the reason it was rejected; returns its path."""
        return self._keep("quarantine", source, name, payload, {"reason": reason, "fetched_at": at})

    def _keep(self, area: str, source: str, name: str, payload: bytes, meta: dict,
              dedupe: bool = False) -> str:
        at = meta["fetched_at"]
        at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
        sha = hashlib.sha256(payload).hexdigest()
        folder = self.path(area, safe_segment(source, "source"))
        stem = f"{at.astimezone(dt.UTC):%H%M%S%f}_{sha[:12]}_{safe_segment(name)}"
        path = f"{folder}/{at:%Y-%m-%d}/{stem}"
        meta |= {"sha256": sha, "bytes": len(payload), "fetched_at": at.isoformat(), "name": name}
        kept = self._kept_copy(folder, sha, name) if dedupe else None
        if kept is None:
            self.put_bytes(path, payload)
        meta["payload"] = kept or path
        self.put_bytes(f"{path}.meta.json", json.dumps(meta, indent=1, default=str).encode())
        return kept or path

    def _kept_copy(self, folder: str, sha: str, name: str) -> str | None:
        """The path of a payload with this sha256 and name already kept in ``folder``."""
        for meta_path in self.fs.glob(f"{folder}/*/*_{sha[:12]}_{safe_segment(name)}.meta.json"):
            meta = self._meta(meta_path)
            if meta.get("sha256") == sha and self.fs.exists(meta.get("payload", meta_path[:-10])):
                return str(meta.get("payload", meta_path[:-10]))
        return None

    def _meta(self, meta_path: str) -> dict[str, Any]:
        with self.fs.open(meta_path, "rb") as fh:
            return dict(json.load(fh))

    def latest_raw(self, source: str, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The newest raw ``.meta.json`` of each of ``urls`` (redacted, as recorded), by URL.

        Newest first, stopping once every URL is found: a run reads a handful of small files,
        not the whole archive. Each meta's ``payload`` names the bytes it describes.
        """
        wanted, found = set(urls), {}
        folder = self.path("raw", safe_segment(source, "source"))
        if not wanted or not self.fs.exists(folder):
            return {}
        metas = sorted((p for p in self.fs.find(folder) if p.endswith(".meta.json")),
                       key=lambda p: p.split("/")[-2:], reverse=True)
        for meta_path in metas:
            meta = self._meta(meta_path)
            url = meta.get("url")
            if url in wanted and url not in found:
                found[url] = meta | {"payload": meta.get("payload", meta_path[:-10])}
                if len(found) == len(wanted):
                    break
        return found

    def read_bytes(self, path: str) -> bytes:
        """The bytes of a file in the lake (a raw payload, for instance)."""
        with self.fs.open(path, "rb") as fh:
            return bytes(fh.read())

    def list_area(self, area: str, source: str | None = None) -> list[str]:
        """Payload paths kept under ``raw`` or ``quarantine`` (optionally for one source)."""
        base = self.path(area, safe_segment(source, "source")) if source else self.path(area)
        if not self.fs.exists(base):
            return []
        return sorted(p for p in self.fs.find(base) if not p.endswith(".meta.json"))


def _local_data_files(base: str, levels: int) -> list[str]:
    """``base/*/.../DATA_FILE`` (``levels`` folders deep) on a local disk, unsorted."""
    folders = [base]
    for _ in range(levels):
        folders = [e.path for f in folders for e in _subfolders(f)]
    return [f"{f}/{DATA_FILE}" for f in folders if os.path.isfile(f"{f}/{DATA_FILE}")]


def _subfolders(folder: str) -> list[os.DirEntry[str]]:
    """The folders inside ``folder`` (none when it does not exist)."""
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if e.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _column_range(meta: pq.FileMetaData, index: int) -> tuple[Any, Any] | None:
    """(min, max) of one column over every row group of a file, or None if any lacks them."""
    stats = [meta.row_group(g).column(index).statistics for g in range(meta.num_row_groups)]
    if not stats or any(s is None or not s.has_min_max for s in stats):
        return None
    return min(s.min for s in stats), max(s.max for s in stats)


def _partition_year(path: str) -> int:
    """The year of a data file under a ``year=YYYY`` folder."""
    segment = next(p for p in path.split("/") if p.startswith("year="))
    return int(segment.removeprefix("year="))


def _partition_files(lake: Lake, t: schemas.Table, base: DeltaTable,
                     partition: Mapping[str, object]) -> list[str]:
    """The data files of one partition in version ``base``."""
    folder = lake.partition_dir(t.name, partition) + "/"
    return [f for f in (lake._local_uri(u) for u in base.file_uris()) if f.startswith(folder)]


def _same_rows(t: schemas.Table, old: pl.DataFrame, new: pl.DataFrame) -> bool:
    """True when ``new`` holds exactly the rows of ``old`` (in any order)."""
    if old.height != new.height:
        return False
    keys = list(t.keys)
    return old.sort(keys).equals(new.sort(keys))


def in_partition(t: schemas.Table, partition: Mapping[str, object]) -> pl.Expr:
    """True on the rows of ``t`` that belong to ``partition``."""
    return pl.all_horizontal(
        e == pl.lit(partition[k]) for k, e in zip(t.partition_by, t.partition_exprs(), strict=True)
    )


def _check_rows_in_partition(
    t: schemas.Table, partition: Mapping[str, object], frame: pl.DataFrame
) -> None:
    if frame.is_empty():
        return
    want = {k: (int(str(v)) if k == "year" else v) for k, v in partition.items()}
    bad = frame.filter(~in_partition(t, want))
    if not bad.is_empty():
        raise SchemaError(f"table {t.name}: rows belong to partition(s) "
                          f"{list(iter_partitions(t, bad))[:3]}, not {want}")


def _check_unique_keys(t: schemas.Table, frame: pl.DataFrame) -> None:
    dup = frame.filter(frame.select(t.keys).is_duplicated())
    if not dup.is_empty():
        raise SchemaError(
            f"table {t.name}: duplicate key {dup.select(t.keys).row(0, named=True)}")


def iter_partitions(t: schemas.Table, frame: pl.DataFrame) -> Iterable[dict[str, object]]:
    """The partitions that ``frame``'s rows fall in."""
    return frame.select(t.partition_exprs()).unique(maintain_order=True).to_dicts()
