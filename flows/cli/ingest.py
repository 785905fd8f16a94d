"""``alvh ingest``: one source fetched (or read from files), gated and published."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape

from core.clock import today_new_york, utc_now
from core.errors import PipelineError
from flows.cli.app import State, app, err, fail, out

# `alvh ingest` published, but without some rows (in quarantine): neither success nor failure.
INGEST_DROPPED_ROWS = 3


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="calendar, cboe, cfe, chains, breadth or fred")],
    start: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                      help="First date to keep")] = None,
    end: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                    help="Last date to keep")] = None,
    sources: Annotated[str | None, typer.Option("--sources", help="Sources TOML "
                                                "[env: ALVH_SOURCES]")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Ingest a local file or "
                                              "folder named as the provider names files")] = None,
) -> None:
    """Fetch one source (or read it --from files), validate it and publish it to the lake."""
    from flows.ingest import SOURCE_NAMES, Run, plan_from, publish_catalog_if_stale
    from flows.ingest import ingest as ingest_source
    from sources.http import HttpClient

    if source not in SOURCE_NAMES:
        raise fail(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)}", 2)
    if start and end and start > end:
        raise fail(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}", 2)
    settings = State.settings.with_options(sources=sources)
    try:
        now = utc_now()
        run = Run(settings.lake(), settings.sources_config(), today_new_york(now), now,
                  start=start.date() if start else None, end=end.date() if end else None,
                  api_key=settings.fred_api_key)
        files = plan_from(source, from_) if from_ else None
        with HttpClient(**run.config.http.client_kwargs()) as client:
            report = ingest_source(source, run, client=client, files=files)
        catalog = publish_catalog_if_stale(run.lake)
    except PipelineError as e:
        raise fail(str(e), 2) from None
    out.print(escape(report.line()), highlight=False)
    if catalog:
        out.print(f"catalog published: {catalog}", highlight=False)
    for known in report.known_bad:  # said, but no news: exit 0
        err.print(f"{source}: {escape(known)}", highlight=False, soft_wrap=True)
    for dropped in report.dropped:
        err.print(f"[yellow]{source}:[/] {escape(dropped)}", highlight=False, soft_wrap=True)
    for problem in report.errors:
        err.print(f"[red]{source}:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)
    if report.dropped:
        raise typer.Exit(INGEST_DROPPED_ROWS)
