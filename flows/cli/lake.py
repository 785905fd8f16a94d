"""The Delta lake's audit and upkeep commands: ``alvh history``, ``vacuum`` and ``migrate``."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out
from flows.cli.as_of import declared_tables

DEFAULT_RETENTION_HOURS = 7 * 24


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
