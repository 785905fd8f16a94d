"""The DuckDB catalog: a disposable file of views over the lake, built new and swapped in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping

import duckdb
import polars as pl

from storage import schemas
from storage.errors import PipelineError
from storage.lake import DATA_FILE, Lake
from storage.paths import safe_segment

CATALOG_FILE = "alvh.duckdb"
_STAMP_COLUMNS = ("ingested_at", "computed_at")


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


def view_sql(lake: Lake, t: schemas.Table) -> str:
    """``CREATE VIEW`` for one table: a glob over its published files, typed as declared.

    The glob picks up partitions written after publishing; temporary files never match it.
    """
    cols = ", ".join(f'CAST("{c}" AS {_duck_type(d)}) AS "{c}"' for c, d in t.columns.items())
    if not lake.partitions(t.name):
        empty = ", ".join(f'CAST(NULL AS {_duck_type(d)}) AS "{c}"' for c, d in t.columns.items())
        return f"CREATE VIEW {t.name} AS SELECT {empty} WHERE false"
    depth = "/".join(["*"] * len(t.partition_by))
    glob = lake.path("tables", t.name, depth, DATA_FILE).replace("'", "''")
    hive = ", ".join(
        f"'{k}': {_duck_type(t.columns.get(k, pl.Int32()))}" for k in t.partition_by
    )
    return (f"CREATE VIEW {t.name} AS SELECT {cols} FROM read_parquet('{glob}', "
            f"hive_partitioning = true, hive_types = {{{hive}}})")


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
    tmp = f"{target}.{uuid.uuid4().hex}.building"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        with duckdb.connect(tmp) as con:
            declared = schemas.all_tables()
            for t in declared:
                con.execute(view_sql(lake, t))
            con.execute("CREATE TABLE table_status AS " +
                        " UNION ALL ".join(status_sql(t) for t in declared))
            for name, frame in (tables or {}).items():
                con.register("_incoming", frame.to_arrow())
                con.execute(f"CREATE TABLE {safe_segment(name, 'table')} AS "
                            "SELECT * FROM _incoming")
                con.unregister("_incoming")
            for stmt in extra_sql:
                con.execute(stmt)
            con.execute("CHECKPOINT")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, f"{tmp}.wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return target


def catalog_tables(lake: Lake) -> frozenset[str] | None:
    """The tables that had rows when the catalog was built; None when there is no readable one."""
    path = catalog_path(lake)
    if not os.path.exists(path):
        return None
    try:
        with duckdb.connect(path, read_only=True) as con:
            rows = con.execute("SELECT table_name FROM table_status WHERE rows > 0").fetchall()
    except duckdb.Error:  # an older or damaged catalog: a new one replaces it
        return None
    return frozenset(name for (name,) in rows)


def published_tables(lake: Lake) -> frozenset[str]:
    """The declared tables that have published data files."""
    return frozenset(t.name for t in schemas.all_tables() if lake.partitions(t.name))


def connect_readonly(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published catalog."""
    path = catalog_path(lake)
    if not os.path.exists(path):
        raise PipelineError(f"no catalog at {path}: run `alvh publish` or `alvh nightly` first")
    return duckdb.connect(path, read_only=True)
