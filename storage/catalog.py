"""The DuckDB catalog: a disposable file of views over the lake, built new and swapped in."""

from __future__ import annotations

import contextlib
import glob
import os
import uuid
from collections.abc import Iterable, Mapping

import duckdb
import polars as pl

from core.errors import PipelineError
from core.paths import safe_segment
from storage import schemas
from storage.lake import Lake, Snapshot

CATALOG_FILE = "alvh.duckdb"
_STAMP_COLUMNS = ("ingested_at", "computed_at")
_BUILDING = ".building"


def catalog_path(lake: Lake) -> str:
    """Where the lake's catalog lives (local lakes only: DuckDB files need a filesystem)."""
    if not lake.local:
        raise PipelineError(f"the DuckDB catalog needs a local lake home, not {lake.url}")
    return lake.path(CATALOG_FILE)


def _duck_type(dtype: pl.DataType) -> str:
    return {
        pl.String(): "VARCHAR", pl.Date(): "DATE", pl.Float64(): "DOUBLE", pl.Int64(): "BIGINT",
        pl.Int32(): "INTEGER", pl.Boolean(): "BOOLEAN", schemas.UTC_TS: "TIMESTAMPTZ",
    }[dtype]


def view_sql(lake: Lake, t: schemas.Table, files: list[str]) -> str:
    """``CREATE VIEW`` for one table over ``files`` (its current snapshot), typed as declared.

    Paths are relative to the lake home: a reader resolves them through DuckDB's
    ``file_search_path`` (set by ``connect_readonly``), so a copied or moved lake reads its own
    files. A view lists its files rather than globbing the folder, so it shows exactly the
    table version the catalog pinned, never files of a newer or half-done commit.
    """
    cols = ", ".join(f'CAST("{c}" AS {_duck_type(d)}) AS "{c}"' for c, d in t.columns.items())
    if not files:
        empty = ", ".join(f'CAST(NULL AS {_duck_type(d)}) AS "{c}"' for c, d in t.columns.items())
        return f"CREATE VIEW {t.name} AS SELECT {empty} WHERE false"
    listed = ", ".join("'" + relative(lake, f).replace("'", "''") + "'" for f in files)
    hive = ", ".join(
        f"'{k}': {_duck_type(t.columns.get(k, pl.Int32()))}" for k in t.partition_by
    )
    return (f"CREATE VIEW {t.name} AS SELECT {cols} FROM read_parquet([{listed}], "
            f"hive_partitioning = true, hive_types = {{{hive}}})")


def relative(lake: Lake, path: str) -> str:
    """``path`` relative to the lake home (paths outside it are kept as given)."""
    prefix = lake.root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def status_sql(t: schemas.Table) -> str:
    """One ``table_status`` row for ``t``: rows, first and last date, last stamp."""
    stamp = next((c for c in _STAMP_COLUMNS if c in t.columns), None)
    last = f'max("{stamp}")' if stamp else "CAST(NULL AS TIMESTAMPTZ)"
    return (f"SELECT '{t.name}' AS table_name, count(*) AS rows, min(\"{t.date_col}\") AS "
            f"first_date, max(\"{t.date_col}\") AS last_date, {last} AS last_ingested_at "
            f"FROM {t.name}")


def publish_catalog(lake: Lake, extra_sql: Iterable[str] = (),
                    tables: Mapping[str, pl.DataFrame] | None = None) -> str:
    """Build a new catalog beside the old one and rename it into place.

    Readers open the catalog read-only; they keep the file they opened (the old inode)
    and the next reader sees the new one. The nightly run never writes a file a reader holds.

    Args:
        lake: the lake to describe.
        extra_sql: statements run on the new catalog after the views and tables (macros).
        tables: small tables stored in the catalog itself (feature_catalog), by name.

    Returns:
        The catalog's path.
    """
    target = catalog_path(lake)
    remove_leftovers(target)
    tmp = f"{target}.{os.getpid()}.{uuid.uuid4().hex}{_BUILDING}"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        with duckdb.connect(tmp) as con:
            # One transaction: a commit per statement would write (and sync) the WAL some
            # 250 times for the views' comments alone.
            con.execute("BEGIN")
            populate(con, lake, current_snapshots(lake), extra_sql, tables)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, f"{tmp}.wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return target


def catalog_versions(lake: Lake) -> dict[str, int | None] | None:
    """The table versions the catalog pins; None when there is no readable catalog."""
    path = catalog_path(lake)
    if not os.path.exists(path):
        return None
    try:
        with duckdb.connect(path, read_only=True) as con:
            rows = con.execute("SELECT table_name, version FROM table_versions").fetchall()
    except duckdb.Error:  # an older or damaged catalog: a new one replaces it
        return None
    return dict(rows)


def current_versions(lake: Lake) -> dict[str, int | None]:
    """Every declared table's current version (None for a table with no Delta log).

    Read from the Delta log alone: unlike a snapshot, it lists no data files.
    """
    handles = {t.name: lake.delta(t.name) for t in schemas.all_tables()}
    return {name: None if d is None else d.version() for name, d in handles.items()}


def current_snapshots(lake: Lake) -> dict[str, Snapshot]:
    """Every declared table's current version and files."""
    return {t.name: lake.snapshot(t.name) for t in schemas.all_tables()}


def populate(con: duckdb.DuckDBPyConnection, lake: Lake, pinned: Mapping[str, Snapshot],
             extra_sql: Iterable[str] = (),
             tables: Mapping[str, pl.DataFrame] | None = None) -> None:
    """Create the catalog's objects on ``con`` (views pinned to ``pinned``, extras).

    A view per table over its pinned files, ``table_versions``, ``table_status``, the small
    ``tables`` and the ``extra_sql``.
    """
    con.execute("SET GLOBAL file_search_path = ?", [lake.root])
    declared = schemas.all_tables()
    for t in declared:
        con.execute(view_sql(lake, t, pinned[t.name].files))
    con.execute(f"CREATE TABLE table_versions AS {versions_sql(lake, pinned)}")
    con.execute("CREATE TABLE table_status AS " +
                " UNION ALL ".join(status_sql(t) for t in declared))
    for name, frame in (tables or {}).items():
        create_small_table(con, safe_segment(name, "table"), frame)
    for stmt in extra_sql:
        con.execute(stmt)


_SQL_TYPES = {pl.Float64(): "DOUBLE", pl.Int64(): "BIGINT", pl.Int32(): "INTEGER",
              pl.String(): "VARCHAR", pl.Boolean(): "BOOLEAN", pl.Date(): "DATE",
              pl.List(pl.String()): "VARCHAR[]"}


def create_small_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame
                       ) -> None:
    """Store ``frame`` (a few hundred rows at most) as table ``name`` on ``con``.

    As parameters on purpose: handing duckdb a polars frame goes through pyarrow, whose import
    alone costs a catalog publish ~50 MiB and 40 ms.
    """
    columns = ", ".join(f'"{c}" {_SQL_TYPES[d]}' for c, d in frame.schema.items())
    con.execute(f"CREATE TABLE {name} ({columns})")
    if frame.height:  # one statement: executemany costs ~0.4 ms a row
        row = "(" + ", ".join("?" * frame.width) + ")"
        con.execute(f"INSERT INTO {name} VALUES " + ", ".join([row] * frame.height),
                    [v for r in frame.rows() for v in r])


def versions_sql(lake: Lake, pinned: Mapping[str, Snapshot]) -> str:
    """A ``SELECT`` of each table's pinned version and file count, for ``table_versions``."""
    rows = " UNION ALL ".join(
        f"SELECT '{name}' AS table_name, CAST({'NULL' if s.version is None else s.version} "
        f"AS BIGINT) AS version, {len(s.files)} AS files" for name, s in pinned.items())
    return rows


def remove_leftovers(target: str) -> list[str]:
    """Delete the half-built catalogs (and their WAL) of publishes that were killed.

    A file is a leftover when the process named in it is gone (or, from older versions,
    when it names none); a concurrent publish still running keeps its file.
    """
    removed = []
    for path in glob.glob(f"{glob.escape(target)}.*{_BUILDING}*"):
        if not _owner_alive(path.removeprefix(f"{target}.")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
    return removed


def _owner_alive(suffix: str) -> bool:
    """True when ``<pid>.<uuid>.building`` names a live process."""
    pid = suffix.split(".")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect_readonly(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published catalog, its paths rebased on this home."""
    path = catalog_path(lake)
    if not os.path.exists(path):
        raise PipelineError(f"no catalog at {path}: run `alvh publish` or `alvh nightly` first")
    con = duckdb.connect(path, read_only=True)
    con.execute("SET GLOBAL file_search_path = ?", [lake.root])
    return con
