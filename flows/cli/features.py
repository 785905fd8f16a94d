"""``alvh features``: the feature row of a day, read from the catalog."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table as RichTable

from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out


@app.command()
def features(
    as_of: Annotated[dt.datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Day to show [default: latest]")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """The feature row of a day, grouped by family, regime and lit signals highlighted."""
    import alvh

    home = State.settings.local_home()
    if home is None:
        raise fail(f"alvh features reads the DuckDB catalog: it needs a local lake home, not "
                   f"{State.settings.home}", 2)
    try:
        store = alvh.open(home)
        row = store.feature_row(as_of.date() if as_of else None)
        # The published feature set's own catalog (registry order within each family).
        described = store.rows("SELECT family, name, unit FROM feature_catalog "
                               "ORDER BY family, rowid")
    except PipelineError as e:
        raise fail(str(e)) from None
    if row is None:
        raise fail(f"no features on or before {as_of:%Y-%m-%d}" if as_of else "no features "
                   "published: run `alvh build` first")
    day = row["date"]
    if format is Format.json:
        sys.stdout.write(json.dumps(row, default=str, indent=1) + "\n")
        return
    rows = [(f["family"], f["name"], row[f["name"]], f["unit"]) for f in described]
    if format is Format.csv:
        emit(["family", "feature", "value", "unit"], rows, format)
        return
    table = RichTable(title=f"features_daily {day} (regime: {row.get('vix_regime')})")
    for c in ("family", "feature", "value", "unit"):
        table.add_column(c)
    for family, name, value, unit in rows:
        lit = value is True or name == "vix_regime"
        style = "bold yellow" if lit else ("dim" if value is None else "")
        table.add_row(family, name, "" if value is None else str(value), unit, style=style)
    out.print(table)
