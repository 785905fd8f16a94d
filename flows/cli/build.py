"""``alvh build``: features_daily computed from the lake and published."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from core.clock import today_new_york, utc_now
from core.errors import PipelineError
from flows.cli.app import State, app, fail, out


@app.command()
def build(
    full: Annotated[bool, typer.Option("--full", help="Recompute all history")] = False,
    date: Annotated[dt.datetime | None, typer.Option(
        "--date", formats=["%Y-%m-%d"], help="Last day to build [default: today]")] = None,
) -> None:
    """Compute features_daily from the lake (incrementally by default) and publish it."""
    from flows.pipeline import build as build_features_table
    from flows.pipeline import publish as publish_all

    lake = State.lake()
    try:
        now = utc_now()
        report = build_features_table(lake, date.date() if date else today_new_york(now),
                                      now=now, full=full)
        publish_all(lake)
    except (PipelineError, ValueError) as e:
        raise fail(str(e)) from None
    out.print(report.line(), highlight=False)
