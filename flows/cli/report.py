"""``alvh report``: the daily HTML report."""

from __future__ import annotations

import datetime as dt
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import State, app, fail, out, parse_day


@app.command()
def report(
    date: Annotated[str | None, typer.Option(
        "--date", help="Day D (YYYY-MM-DD) [default: latest built]")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the report in a browser")] = False,
) -> None:
    """Write the daily HTML report (<home>/reports/<D>.html, self-contained, works offline)."""
    from flows.report import write_report

    day = parse_day(date, "--date") or dt.date.max
    try:
        path = write_report(State.lake(), day)
    except PipelineError as e:
        raise fail(str(e)) from None
    out.print(f"report written: {path}", highlight=False, soft_wrap=True)
    if open_:
        webbrowser.open(Path(path).resolve().as_uri())
