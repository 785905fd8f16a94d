"""The flows run from the CLI in-process: ``alvh nightly``, ``alvh backfill``, ``alvh demo``.

Each shows a progress bar fed by the flow's task completions and ends with the flow's
final state (exit 1 unless it completed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from core.errors import PipelineError
from flows.cli.app import State, app, err, fail, out
from flows.cli.recommend import RecFormat, recommend_cmd
from flows.stoppable import run_stoppable


def _as_date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@app.command(name="nightly")
def nightly_cmd(
    date: Annotated[dt.datetime | None, typer.Option(
        "--date", formats=["%Y-%m-%d"], help="Trading day D [default: from the clock]")] = None,
    sources: Annotated[str | None, typer.Option(help="Sources TOML [env: ALVH_SOURCES]")] = None,
    equity: Annotated[float, typer.Option(help="Account equity in dollars")] = 1_000_000.0,
) -> None:
    """Ingest every source, validate, build features, recommend and publish (a Prefect flow)."""
    from flows.nightly import nightly

    with progress_bar("nightly"):
        state = run_stoppable("nightly", lambda: nightly(
            run_date=_as_date(date), home=State.settings.home,
            sources=sources or State.settings.sources, equity=equity, return_state=True),
            say=err.print)
    _finish(state)


@app.command(name="backfill")
def backfill_cmd(
    start: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])],
    end: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])],
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Repeat to choose sources [default: all]")] = None,
    workers: Annotated[int, typer.Option(help="Local Dask workers (0: in-process, no Dask)")] = 2,
    dask_address: Annotated[str | None, typer.Option(
        help="An existing Dask scheduler, e.g. tcp://host:8786")] = None,
    sources: Annotated[str | None, typer.Option(help="Sources TOML [env: ALVH_SOURCES]")] = None,
) -> None:
    """Ingest a date range partition by partition on Dask, then rebuild the features."""
    if start > end:  # before any import or worker starts
        raise fail(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}", 2)
    from flows.nightly import backfill

    with progress_bar("backfill"):
        state = run_stoppable("backfill", lambda: backfill(
            start=start.date(), end=end.date(), sources=source, workers=workers,
            dask_address=dask_address, home=State.settings.home,
            sources_file=sources or State.settings.sources, return_state=True), say=err.print)
    _finish(state)


@contextlib.contextmanager
def progress_bar(title: str) -> Iterator[None]:
    """A rich progress bar fed by the flows' task completions (in-process runs)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from flows.nightly import PROGRESS

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(title, total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {what}", completed=done, total=total)

        PROGRESS.append(update)
        try:
            yield
        finally:
            PROGRESS.remove(update)


def _finish(state: Any) -> None:
    """Print a flow's final state; exit 1 unless it completed."""
    colour = "green" if state.is_completed() else "red"
    out.print(f"[{colour}]{state.name}[/]: {state.message or ''}", highlight=False)
    lake = State.lake()
    out.print(f"lake: {lake.url}  catalog: {lake.path('alvh.duckdb')}  (alvh status, alvh sql)",
              highlight=False)
    reports = sorted(glob.glob(lake.path("reports", "*.html"))) if lake.local else []
    if reports:
        out.print(f"report: {reports[-1]}  (alvh report --open)", highlight=False)
    if not state.is_completed():
        raise typer.Exit(1)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Simulator seed")] = 7,
    equity: Annotated[float, typer.Option(help="Account equity in dollars")] = 1_000_000.0,
) -> None:
    """The nightly pipeline on the simulated demo market, served over local HTTP."""
    from flows.demo import run_demo

    try:
        with progress_bar("demo"):
            state, rec_day = run_demo(State.lake(), seed=seed, equity=equity, say=out.print)
    except PipelineError as e:
        raise fail(str(e)) from None
    if state.is_completed():
        recommend_cmd(date=dt.datetime.combine(rec_day, dt.time()), equity=equity,
                      policy=None, format=RecFormat.table, store=False)
    _finish(state)
