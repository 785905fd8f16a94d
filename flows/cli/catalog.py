"""The DuckDB catalog's commands: ``alvh publish``, ``alvh status`` and ``alvh sql``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import duckdb
import typer

from core.clock import today_new_york
from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out


@app.command()
def publish() -> None:
    """Rebuild the full DuckDB catalog (as the nightly does) and swap it into place."""
    from flows.pipeline import publish as publish_all

    path = publish_all(State.lake())
    out.print(f"catalog published: {path}")


@app.command()
def status() -> None:
    """Every table's rows, date range and freshness."""
    from storage.catalog import connect_readonly

    lake = State.lake()
    try:
        con = connect_readonly(lake)
    except PipelineError as e:
        raise fail(str(e)) from None
    with con:
        rows = con.execute("SELECT table_name, rows, first_date, last_date, last_ingested_at "
                           "FROM table_status ORDER BY table_name").fetchall()
        closes = con.execute(_LAST_CLOSES).fetchone()
    today = today_new_york()
    shown = [(name, f"{n:,}", first, last, _age(last, today),
              f"{stamp:%Y-%m-%d %H:%M}" if stamp else "") for name, n, first, last, stamp in rows]
    emit(["table", "rows", "first", "last", "age", "last ingested"], shown, Format.table,
         title=f"lake {lake.url}")
    if closes and closes[0]:
        out.print(f"inputs: the last session with SPX and VIX closes is {closes[0]} "
                  f"({_age(closes[0], today)}); features_daily ends there", highlight=False)


# The last session features_daily can hold (``features.build.last_input_day``).
_LAST_CLOSES = ("SELECT max(date) FROM (SELECT date FROM index_daily WHERE symbol IN "
                "('SPX', 'VIX') AND close IS NOT NULL GROUP BY date "
                "HAVING count(DISTINCT symbol) = 2)")


def _age(last: dt.date | None, today: dt.date) -> str:
    """How many NYSE sessions behind today a table's last date is."""
    from core.calendar import trading_days

    if last is None:
        return "empty"
    if last >= today:
        return "current"
    behind = len(trading_days(last + dt.timedelta(days=1), today))
    return f"{behind} session{'s' if behind != 1 else ''} behind"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run on the read-only catalog")],
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    as_of_version: Annotated[list[str] | None, typer.Option(
        help="TABLE=VERSION: read that table as it was at a Delta version (repeatable)")] = None,
    as_of_time: Annotated[str | None, typer.Option(
        help="Read every table as it was at this ISO time (a day: its end, UTC)")] = None,
) -> None:
    """Run a read-only query on the catalog (or on the lake as it was: --as-of-...)."""
    from flows.cli.as_of import connect_as_of, parse_time, parse_versions
    from storage.catalog import connect_readonly
    from storage.readonly import read_only_statements

    try:
        con = (connect_as_of(State.lake(), parse_versions(as_of_version or []),
                             parse_time(as_of_time))
               if as_of_version or as_of_time else connect_readonly(State.lake()))
    except PipelineError as e:
        raise fail(str(e), 2) from None
    with con:
        try:
            read_only_statements(query)
            cur = con.execute(query)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        except duckdb.Error as e:
            raise fail(f"query failed: {str(e).splitlines()[0]}", 2) from None
        except PipelineError as e:
            raise fail(str(e), 2) from None
    emit(columns, rows, format)
