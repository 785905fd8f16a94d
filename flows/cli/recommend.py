"""``alvh recommend``: the hedge for the session after a day, read-only unless --store."""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Annotated

import typer

from core.clock import utc_now
from core.errors import PipelineError
from flows.cli.app import State, app, fail, out


class RecFormat(StrEnum):
    """Output formats for a recommendation."""

    table = "table"
    json = "json"
    markdown = "markdown"


@app.command(name="recommend")
def recommend_cmd(
    date: Annotated[dt.datetime | None, typer.Option(
        "--date", formats=["%Y-%m-%d"], help="Day D [default: latest built]")] = None,
    equity: Annotated[float, typer.Option(help="Account equity in dollars")] = 1_000_000.0,
    policy: Annotated[str | None, typer.Option(help="Policy TOML [env: ALVH_POLICY]")] = None,
    format: Annotated[RecFormat, typer.Option("--format", "-f")] = RecFormat.table,
    store: Annotated[bool, typer.Option(
        "--store", help="Write it to recommendations (the nightly run does)")] = False,
) -> None:
    """The iron condor and VIX call ladder for the session after day D, with its reasons.

    Read-only unless --store: an ad hoc run never replaces the nightly run's stored row.
    """
    from flows.feature_row import last_session
    from flows.recommend import recommend_day
    from hedge.policy import load_policy
    from hedge.render import render_markdown, render_table

    lake = State.lake()
    try:
        pol = load_policy(policy or State.settings.policy)
        day = last_session(lake, date.date() if date else dt.date.max)
        rec = recommend_day(lake, day, policy=pol, equity=equity, now=utc_now(), store=store)
    except (PipelineError, ValueError) as e:
        raise fail(str(e)) from None
    if format is RecFormat.json:
        sys.stdout.write(rec.to_json() + "\n")
    elif format is RecFormat.markdown:
        sys.stdout.write(render_markdown(rec) + "\n")
    else:
        out.print(render_table(rec))
