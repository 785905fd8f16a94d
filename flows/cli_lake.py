"""The Delta lake's audit and upkeep commands: history, vacuum, migrate, as-of reads.

Registered on the ``alvh`` app by the import at the end of flows/cli.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import duckdb
import typer

from core.errors import PipelineError
from flows.cli import Format, State, app, emit, fail, out
from storage.lake import Lake, Snapshot

DEFAULT_RETENTION_HOURS = 7 * 24


def declared_tables() -> list[str]:
    """Every table name, the feature and recommendation tables included."""
    from storage import schemas

    return [t.name for t in schemas.all_tables()]


def parse_versions(pins: list[str]) -> dict[str, int]:
    """``TABLE=VERSION`` options as a mapping, or a one-line error naming the bad one."""
    out_: dict[str, int] = {}
    for pin in pins:
        table, _, version = pin.partition("=")
        if not version.isdigit() or table not in declared_tables():
            raise PipelineError(f"--as-of-version {pin!r}: expected TABLE=VERSION with a "
                                "declared table and a version number")
        out_[table] = int(version)
    return out_


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or None."""
    if text is None:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise PipelineError(f"--as-of-time {text!r}: expected an ISO date or time") from e
    if len(text) == 10:  # a day means its end: "what the lake said on the night of D"
        at = at.replace(hour=23, minute=59, second=59, microsecond=999999)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def snapshots_as_of(lake: Lake, versions: dict[str, int], at: dt.datetime | None
                    ) -> dict[str, Snapshot]:
    """Each table's snapshot: a pinned version, else the one current at ``at``, else now."""
    return {name: lake.snapshot(name, version=versions.get(name),
                                as_of=None if name in versions else at)
            for name in declared_tables()}


def connect_as_of(lake: Lake, versions: dict[str, int], at: dt.datetime | None
                  ) -> duckdb.DuckDBPyConnection:
    """An in-memory catalog, as the nightly builds it, over the tables as they were."""
    from flows.views import catalog_extras
    from storage.catalog import populate

    con = duckdb.connect()
    extra_sql, tables = catalog_extras()
    populate(con, lake, snapshots_as_of(lake, versions, at), extra_sql, tables)
    return con


@app.command()
def history(
    table: Annotated[str, typer.Argument(help="A lake table, e.g. index_daily")],
    limit: Annotated[int, typer.Option(help="Newest commits to show")] = 20,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """A table's Delta versions: when, which operation, rows written and rows in the table."""
    if table not in declared_tables():
        raise fail(f"unknown table {table!r}", 2)
    rows = [(h["version"], f"{h['timestamp']:%Y-%m-%d %H:%M:%S}", h["operation"],
             h["rows_written"], h["rows"]) for h in State.lake().history(table, limit)]
    emit(["version", "committed_at", "operation", "rows_written", "rows"], rows, format,
         title=f"{table} history")


@app.command()
def vacuum(
    retain_hours: Annotated[float, typer.Option(
        help="Keep every file a version younger than this needs (time travel window)")
    ] = DEFAULT_RETENTION_HOURS,
) -> None:
    """Delete data files that no version inside the retention period needs."""
    from flows.views import catalog_extras
    from storage.catalog import publish_catalog

    lake = State.lake()
    if retain_hours < 1:
        raise fail("--retain-hours must be at least 1: readers of the published catalog "
                   "may still read the previous version's files", 2)
    if lake.local:  # pin the current versions first: vacuum never removes a current file
        extra_sql, tables = catalog_extras()
        publish_catalog(lake, extra_sql=extra_sql, tables=tables)
    for table in declared_tables():
        removed = lake.vacuum(table, retain_hours)
        if removed:
            out.print(f"{table}: {len(removed)} file(s) removed", highlight=False)


@app.command()
def migrate() -> None:
    """Convert a hive-Parquet lake to Delta tables in place, table by table."""
    lake = State.lake()
    for table in declared_tables():
        try:
            rows = lake.convert(table)
        except PipelineError as e:
            raise fail(f"migrate {table}: {e}") from None
        if rows:
            out.print(f"{table}: {rows} row(s) now in Delta version "
                      f"{lake.snapshot(table).version}", highlight=False)
    out.print("lake is on Delta tables; run `alvh publish` to refresh the catalog")
