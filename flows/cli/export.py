"""``alvh export``: a lake table (from a date on, or as it was) as parquet, CSV or JSON."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import State, app, fail, out, parse_day

if TYPE_CHECKING:  # every command imports this module: polars loads when exporting
    import polars as pl

EXPORT_FORMATS = ("parquet", "csv", "json")
_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.f%:z"  # ISO 8601 with a colon in the offset


def export_frame(table: str, since: dt.date | None, version: int | None = None,
                 as_of: dt.datetime | None = None) -> pl.DataFrame:
    """All rows of ``table`` (from ``since`` on its date column), sorted by its key.

    At a Delta ``version``, or as the table was at ``as_of``, when given.
    """
    import polars as pl

    from storage import schemas

    t = schemas.get(table)
    lake = State.lake()
    files = (lake.snapshot(table, version=version, as_of=as_of).files
             if version is not None or as_of is not None else None)
    scan = lake.scan(table, since=since, files=files)  # skips whole years before since
    if since is not None:
        scan = scan.filter(pl.col(t.date_col) >= since)
    return scan.sort(list(t.keys)).collect()


def write_export(frame: pl.DataFrame, fmt: str, target: str) -> None:
    """Write ``frame`` as parquet, CSV or JSON records at ``target`` (``-``: stdout)."""
    if fmt == "parquet":
        frame.write_parquet(target, compression="zstd")
        return
    text = (frame.write_json() + "\n" if fmt == "json"
            else frame.write_csv(datetime_format=_CSV_DATETIME))
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")


@app.command()
def export(
    table: Annotated[str, typer.Option("--table", help="A lake table, e.g. features_daily")],
    since: Annotated[str | None, typer.Option(
        help="First date to keep (YYYY-MM-DD), on the table's date column")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="parquet, csv or json (records, ISO dates)")] = "parquet",
    out_path: Annotated[str | None, typer.Option(
        "--out", help="File to write [default: ./<table>.<format>]; - for stdout")] = None,
    as_of_version: Annotated[int | None, typer.Option(
        help="Export the table as it was at this Delta version")] = None,
    as_of_time: Annotated[str | None, typer.Option(
        help="Export the table as it was at this ISO time (a day: its end, UTC)")] = None,
) -> None:
    """Export a lake table (optionally from a date on, or as it was) as parquet, CSV or JSON."""
    from core.errors import SchemaError
    from flows.cli.as_of import parse_time

    if format not in EXPORT_FORMATS:
        raise fail(f"unknown format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}", 2)
    first = parse_day(since, "--since")
    target = out_path or f"{table}.{format}"
    if target == "-" and format == "parquet":
        raise fail("parquet cannot go to stdout: give --out FILE or --format csv|json", 2)
    try:
        frame = export_frame(table, first, as_of_version, parse_time(as_of_time))
        write_export(frame, format, target)
    except SchemaError as e:
        raise fail(str(e), 2) from None
    except (PipelineError, OSError) as e:
        raise fail(f"export {table}: {e}") from None
    if target != "-":
        out.print(f"{table}: {frame.height} row(s) -> {target}", highlight=False)
