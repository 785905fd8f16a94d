"""The ``alvh`` command line."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import glob
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from typer.core import TyperGroup

from core.clock import today_new_york, utc_now
from core.errors import PipelineError
from flows.settings import Settings
from flows.stoppable import run_stoppable
from storage.catalog import connect_readonly
from storage.lake import Lake
from storage.readonly import read_only_statements

# Quiet defaults for Prefect when run from the CLI; users' own settings win.
# Dask's scheduler and nannies log every worker start and stop at INFO (also for workers).
for _key, _value in {"PREFECT_LOGGING_LEVEL": "WARNING",
                     "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error",
                     "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}.items():
    os.environ.setdefault(_key, _value)

ENVIRONMENT = """Environment: ALVH_HOME (lake root, default ./lake), ALVH_SOURCES (sources
TOML), ALVH_POLICY (policy TOML), FRED_API_KEY (FRED observations API with vintages),
PREFECT_API_URL (a Prefect server; unset: an ephemeral one), ALVH_SHARED_DATA (tests' real
data)."""
GLOBAL_OPTIONS = ("--home",)


class GlobalOptionsAnywhere(TyperGroup):
    """Accept the global options after the command too (``alvh status --home X``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Move global options found after the command in front of it."""
        front: list[str] = []
        rest: list[str] = []
        it = iter(args)
        for arg in it:
            if arg == "--":
                rest += [arg, *it]
            elif arg in GLOBAL_OPTIONS:
                front += [arg, next(it, "")]
            elif arg.split("=", 1)[0] in GLOBAL_OPTIONS:
                front.append(arg)
            else:
                rest.append(arg)
        return super().parse_args(ctx, front + rest)


app = typer.Typer(help="alvh: the ALVH data pipeline and feature store.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=GlobalOptionsAnywhere,
                  epilog=ENVIRONMENT, rich_markup_mode=None)
# Piped output (logs, CI, `make run | tee`) gets room for the wide tables.
out = Console(width=None if sys.stdout.isatty() else 130)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 130)
logging.getLogger("great_expectations").setLevel(logging.WARNING)


class Format(StrEnum):
    """Output formats for tabular results."""

    table = "table"
    csv = "csv"
    json = "json"


class State:
    """Options shared by every command."""

    settings = Settings()

    @classmethod
    def lake(cls) -> Lake:
        """The lake chosen by ``--home`` or ``ALVH_HOME``."""
        return cls.settings.lake()


@app.callback()
def main(
    home: Annotated[str | None, typer.Option(help="Lake root: a path or fsspec URL "
                                             "[env: ALVH_HOME, default ./lake]")] = None,
) -> None:
    """alvh: ingest, validate, compute features and recommend the next session's hedge."""
    if home:
        State.settings = Settings(home=home)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def emit(columns: list[str], rows: list[tuple[Any, ...]], fmt: Format, title: str = "") -> None:
    """Print rows as a rich table, CSV or JSON records."""
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    elif fmt is Format.json:
        sys.stdout.write(json.dumps([dict(zip(columns, r, strict=True)) for r in rows],
                                    default=str, indent=1) + "\n")
    else:
        table = RichTable(title=title or None)
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        out.print(table)


@app.command()
def publish() -> None:
    """Rebuild the full DuckDB catalog (as the nightly does) and swap it into place."""
    from flows.pipeline import publish as publish_all

    path = publish_all(State.lake())
    out.print(f"catalog published: {path}")


@app.command()
def status() -> None:
    """Every table's rows, date range and freshness."""
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
    from flows.cli_lake import connect_as_of, parse_time, parse_versions

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
    settings = State.settings.model_copy(update={"sources": sources or State.settings.sources})
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
    for dropped in report.dropped:
        err.print(f"[yellow]{source}:[/] {escape(dropped)}", highlight=False, soft_wrap=True)
    for problem in report.errors:
        err.print(f"[red]{source}:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)
    if report.dropped:
        raise typer.Exit(INGEST_DROPPED_ROWS)


DateOpt = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])]


class RecFormat(StrEnum):
    """Output formats for a recommendation."""

    table = "table"
    json = "json"
    markdown = "markdown"


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


@app.command()
def features(
    as_of: Annotated[dt.datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Day to show [default: latest]")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """The feature row of a day, grouped by family, regime and lit signals highlighted."""
    import alvh
    from features.registry import FEATURES

    lake = State.lake()
    if not lake.local:
        raise fail(f"alvh features reads the DuckDB catalog: it needs a local lake home, not "
                   f"{lake.url}", 2)
    try:
        frame = alvh.open(lake.root).features(as_of=as_of.date() if as_of else None)
    except PipelineError as e:
        raise fail(str(e)) from None
    if frame.height == 0:
        raise fail(f"no features on or before {as_of:%Y-%m-%d}" if as_of else "no features "
                   "published: run `alvh build` first")
    row = frame.row(0, named=True)
    day = row["date"]
    if format is Format.json:
        sys.stdout.write(json.dumps(row, default=str, indent=1) + "\n")
        return
    rows = [(f.family, f.name, row[f.name], f.unit) for f in
            sorted(FEATURES, key=lambda f: f.family)]
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


policy_app = typer.Typer(help="The ALVH policy file.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(
    policy: Annotated[str | None, typer.Option(help="Policy TOML [default: shipped]")] = None,
) -> None:
    """Print the policy in force and its version."""
    from hedge.policy import load_policy, render_policy

    try:
        out.print(render_policy(load_policy(policy or State.settings.policy)), highlight=False)
    except PipelineError as e:
        raise fail(str(e), 2) from None


@app.command()
def validate(
    table: Annotated[str | None, typer.Argument(help="One table [default: all]")] = None,
) -> None:
    """Re-run the validation suites over the lake; exit 1 when a blocking check fails."""
    from flows.pipeline import feature_rules
    from validations.gate import summary_rows, validate_lake

    lake = State.lake()
    docs = lake.path("reports", "validation") if lake.local else None
    try:
        results = validate_lake(lake, [table] if table else None, docs_dir=docs,
                                rules={"features_daily": feature_rules()})
    except PipelineError as e:
        raise fail(str(e), 2) from None
    rows = [(r["table"], r["check"], r["severity"], "ok" if r["success"] else "FAILED",
             r.get("unexpected_count"), str(r.get("samples") or "")[:60])
            for r in summary_rows(results)]
    emit(["table", "check", "severity", "result", "bad rows", "samples"], rows, Format.table)
    if docs:
        out.print(f"Data Docs: {docs}")
    if not all(r.success for r in results):
        raise typer.Exit(1)


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


from flows import (  # noqa: E402,F401  (register their commands)
    cli_alerts,
    cli_backtest,
    cli_lake,
    cli_report,
    cli_serve,
)
