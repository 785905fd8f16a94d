"""Prefect flows: one per source, the nightly run and the Dask-backed backfill.

Tasks pass dates, names and paths (never frames), so any task runner can carry them.
Ingest tasks carry no Prefect timeout: it could not interrupt blocking I/O in a worker
thread. Instead every HTTP request has its own connect and read timeout and a bounded
number of retries (sources config ``[http]``), which bounds the task.
Final state of ``nightly``: Completed when every configured source was ingested; Failed
when any source still failed after its retries, even though features, the recommendation
and the catalog were built on what was fresh (stale inputs are flagged in both): the
failure stays visible to alerts while the trader still gets a recommendation. Failed too
when D has no SPX and VIX closes: features_daily then ends before D and nothing is
recommended for D (a later run completes it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.tasks import exponential_backoff

from core.calendar import is_session
from core.clock import trading_day_at, utc_now
from core.errors import PipelineError, SourceDataError, SourceUnavailable
from flows.ingest import Run
from flows.ingest import ingest as ingest_files
from flows.settings import Settings
from sources.http import REFUSED, HttpClient
from sources.registry import ADAPTERS, SOURCE_NAMES

# Sources the others read (the calendar's release days), ingested before the market's.
FIRST_SOURCES = tuple(s for s, a in ADAPTERS.items() if a.runs_first)
MARKET_SOURCES = tuple(s for s, a in ADAPTERS.items() if not a.runs_first)


def _settings(home: str | None, sources: str | None) -> Settings:
    return Settings().with_options(home=home, sources=sources)


def _retryable(task: Any, task_run: Any, state: State) -> bool:
    """Retry a source only when something was unavailable (never a bad payload or a 4xx).

    A host that refused every connection is down, not busy: the HTTP client already
    retried it, and waiting minutes more would only delay the run's report.
    """
    error = state.result(raise_on_failure=False)
    return isinstance(error, SourceUnavailable) and REFUSED not in str(error)


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=30),
      retry_jitter_factor=0.5, retry_condition_fn=_retryable,
      task_run_name="ingest-{source}-{run_date}")
def ingest_source(source: str, run_date: dt.date, home: str | None = None,
                  sources: str | None = None, start: dt.date | None = None,
                  end: dt.date | None = None, docs: bool = False,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Ingest one source for ``run_date`` (or the window [start, end]); raise when it failed.

    ``docs`` rebuilds Data Docs after the gate: for tasks that run in other processes
    (Dask); in-process runs build them once at the end (``docs_task``).
    """
    settings = _settings(home, sources)
    lake = settings.lake()
    run = Run(lake, settings.sources_config(), run_date, now or utc_now(), start=start, end=end,
              api_key=settings.fred_api_key,
              docs_dir=_docs_dir(settings) if docs else None)
    with HttpClient(**run.config.http.client_kwargs()) as client:
        report = ingest_files(source, run, client=client)
    logger = get_run_logger()
    logger.info(report.line())
    for dropped in report.dropped:  # published, but these rows went to quarantine
        logger.warning(dropped)
    if not report.ok:
        kind = SourceUnavailable if report.unavailable else SourceDataError
        raise kind(f"{report.line()}: " + " | ".join(report.errors))
    return vars(report)


def _docs_dir(settings: Settings) -> str | None:
    lake = settings.lake()
    return lake.path("reports", "validation") if lake.local else None


@task
def docs_task(home: str | None = None) -> str | None:
    """Data Docs of every validation this run did, built once; returns the index path."""
    from validations import build_docs

    folder = _docs_dir(_settings(home, None))
    return build_docs(folder) if folder else None


@task(task_run_name="build-features-{day}")
def build_task(day: dt.date, home: str | None = None, full: bool = False,
               now: dt.datetime | None = None) -> str:
    """Compute features_daily through ``day``."""
    from flows.pipeline import build

    report = build(_settings(home, None).lake(), day, now=now or utc_now(), full=full)
    get_run_logger().info(report.line())
    return report.line()


@task
def calibrate_task(home: str | None = None, policy: str | None = None,
                   now: dt.datetime | None = None) -> str:
    """Fit the pricing models to the quote days not yet calibrated (none new: nothing).

    A failed fit does not cost the night its recommendation: it is logged, and the day is
    priced with the calibration already in force.
    """
    from flows.calibrate import fit_and_store, uncalibrated_quote_days

    new = uncalibrated_quote_days(_settings(home, None).lake())
    if not new:
        return "pricing calibration: no new quotes"
    try:
        got = fit_and_store.fn(home, policy, now)
    except (PipelineError, ValueError) as e:
        get_run_logger().warning("pricing calibration failed, the calibration in force "
                                 "prices the day: %s", e)
        return f"pricing calibration failed: {e}"
    return f"pricing calibration: {got['calibrations']} new fit(s) for {len(new)} quote day(s)"


@task(task_run_name="recommend-{day}")
def recommend_task(day: dt.date, home: str | None = None, equity: float = 1_000_000.0,
                   policy: str | None = None, now: dt.datetime | None = None) -> str:
    """Store the recommendation for the session after ``day``; returns its JSON."""
    from flows.recommend import recommend_day
    from hedge.policy import load_policy

    settings = _settings(home, None)
    pol = load_policy(policy or settings.policy)
    rec = recommend_day(settings.lake(), day, policy=pol, equity=equity, now=now or utc_now(),
                        store=True)
    return rec.to_json()


@task
def publish_task(home: str | None = None) -> str:
    """Publish the DuckDB catalog."""
    from flows.pipeline import publish

    return publish(_settings(home, None).lake())


@task(task_run_name="report-{day}")
def report_task(day: dt.date, home: str | None = None, policy: str | None = None) -> str:
    """Write the day's HTML report; returns its path."""
    from flows.report import write_report
    from hedge.policy import load_policy

    settings = _settings(home, None)
    return write_report(settings.lake(), day, policy=load_policy(policy or settings.policy))


def trading_day(run_date: dt.date | None) -> dt.date:
    """Day D of this run: the parameter, else the day of the run's scheduled start.

    One rule (``core.clock.trading_day_at``) on one instant the run records, never a fresh
    clock read: the flow derives D once and passes it down, and the run's name, which reads
    the same instant, cannot name another day. (Outside a run Prefect gives the current time.)
    """
    if run_date is not None:
        return run_date
    return trading_day_at(flow_run.scheduled_start_time)


# Called as (what finished, how many are done, how many in all) when run in-process (CLI).
PROGRESS: list[Callable[[str, int, int], None]] = []


def _wait_all(futures: dict[str, PrefectFuture]) -> dict[str, str | None]:
    """Map each key to None when its task succeeded, else to its error text."""
    names = {id(f): k for k, f in futures.items()}
    outcome: dict[str, str | None] = {}
    for done, future in enumerate(as_completed(list(futures.values())), start=1):
        future.wait()  # as_completed may yield before the final state is readable
        state = future.state
        key = names[id(future)]
        outcome[key] = None if state.is_completed() else str(
            state.result(raise_on_failure=False))
        error = outcome[key]
        if error:  # said at once, not only in the run's final message
            get_run_logger().error("%s failed: %s", key, error[:300])
        for listener in PROGRESS:
            listener(key, done, len(futures))
    return {k: outcome[k] for k in futures}


def make_source_flow(source: str) -> Any:
    """A flow that ingests one source (``ingest-cboe`` ...), for running it on its own."""
    @flow(name=f"ingest-{source}", flow_run_name=f"ingest-{source}-{{run_date}}")
    def ingest_one(run_date: dt.date | None = None, home: str | None = None,
                   sources: str | None = None) -> dict[str, Any]:
        return ingest_source(source, trading_day(run_date), home, sources)
    return ingest_one


SOURCE_FLOWS = {s: make_source_flow(s) for s in SOURCE_NAMES}


def nightly_run_name() -> str:
    """``nightly-<day D>``, also for scheduled runs (no run_date: D from the start time)."""
    run_date = flow_run.parameters.get("run_date")
    return f"nightly-{trading_day(run_date)}"


@flow(name="nightly", flow_run_name=nightly_run_name)
def nightly(run_date: dt.date | None = None, home: str | None = None,
            sources: str | None = None, equity: float = 1_000_000.0,
            policy: str | None = None) -> State:
    """Ingest every source, gate, build features, recommend, publish, report."""
    log = get_run_logger()
    now = utc_now()  # the run's one "now": every task stamps it
    day = trading_day(run_date)  # the run's one D: every task gets it
    if not is_session(day):
        log.info("%s is not a NYSE trading day: nothing to do", day)
        return Completed(message=f"{day} is not a NYSE trading day: nothing to do")
    first = _wait_all({s: ingest_source.submit(s, day, home, sources, now=now)
                       for s in FIRST_SOURCES})
    market = _wait_all({s: ingest_source.submit(s, day, home, sources, now=now)
                        for s in MARKET_SOURCES})
    failed = {s: e for s, e in (first | market).items() if e}
    build_task(day, home, now=now)
    if (through := features_through(day, home)) != day:
        publish_task(home)
        return Failed(message=f"{day}: no SPX and VIX closes for the day (features end "
                              f"{through}): no recommendation; a later run retries")
    calibrate_task(home, policy, now)
    rec_json = recommend_task(day, home, equity, policy, now)
    catalog = publish_task(home)
    report = report_task(day, home, policy)
    docs_task(home)
    summarize(day, rec_json, failed, catalog, report)
    if failed:
        return Failed(message=f"{day}: {len(failed)} source(s) failed ({', '.join(failed)}); "
                              "features and recommendation built on fresh inputs, stale "
                              "ones flagged")
    return Completed(message=f"{day}: recommendation for the next session stored")


def features_through(day: dt.date, home: str | None) -> dt.date | None:
    """The last features_daily day on or before ``day`` (None: none)."""
    from flows.pipeline import last_session

    try:
        return last_session(_settings(home, None).lake(), day)
    except PipelineError:
        return None


def summarize(day: dt.date, rec_json: str, failed: dict[str, str], catalog: str,
              report: str) -> None:
    """Prefect artifacts: the recommendation as markdown and its lit signals as a table."""
    from hedge.document import Recommendation
    from hedge.render import render_markdown

    rec = Recommendation.model_validate_json(rec_json)
    stale = "".join(f"\n- **{s} failed**: {e[:300]}" for s, e in failed.items())
    docs = catalog.rsplit("/", 1)[0] + "/reports/validation/index.html"
    create_markdown_artifact(
        key="alvh-recommendation", description=f"ALVH recommendation after {day}",
        markdown=render_markdown(rec) + (f"\n\n## Sources{stale}" if stale else "")
        + f"\n\nReport: [{day}.html](file://{report})  \nCatalog: `{catalog}`  \n"
        f"Data Docs: [validation report](file://{docs})")
    create_table_artifact(
        key="alvh-lit-signals", description=f"Signals lit on {day}",
        table=[{"signal": s.name, "layer": s.layer, "value": s.value, "rule": s.rule}
               for s in rec.signals if s.lit] or [{"signal": "none lit"}])


def backfill_units(sources: list[str], start: dt.date, end: dt.date
                   ) -> list[tuple[str, dt.date, dt.date]]:
    """(source, first, last) units whose partitions never overlap.

    Chains by month (one partition per quote date), VX futures by year (partitioned by
    trade year), the rest in one unit each (their files hold whole histories).
    """
    units: list[tuple[str, dt.date, dt.date]] = []
    for source in sources:
        step = ADAPTERS[source].backfill_unit
        first = start
        while first <= end:
            if step == "month":
                nxt = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            elif step == "year":
                nxt = dt.date(first.year + 1, 1, 1)
            else:
                nxt = end + dt.timedelta(days=1)
            units.append((source, first, min(end, nxt - dt.timedelta(days=1))))
            first = nxt
    return units


@flow(name="backfill-partitions")
def backfill_partitions(units: list[tuple[str, dt.date, dt.date]], home: str | None,
                        sources: str | None) -> dict[str, str | None]:
    """Ingest every unit on the flow's task runner; returns unit -> error or None."""
    futures = {f"{s} {a}..{b}": ingest_source.submit(s, b, home, sources, start=a, end=b,
                                                    docs=True)
               for s, a, b in units}
    return _wait_all(futures)


@flow(name="backfill", flow_run_name="backfill-{start}-{end}")
def backfill(start: dt.date, end: dt.date, sources: list[str] | None = None, workers: int = 2,
             dask_address: str | None = None, home: str | None = None,
             sources_file: str | None = None) -> State:
    """Ingest [start, end] for ``sources`` fanned out on Dask, then rebuild the features."""
    if start > end:  # refuse before any worker starts
        return Failed(message=f"start {start} is after end {end}: nothing done")
    chosen = [s for s in SOURCE_NAMES if s in (sources or SOURCE_NAMES)]
    units = backfill_units(chosen, start, end)
    first = [u for u in units if u[0] in FIRST_SOURCES]
    if first:  # release days must be known before FRED's availability
        backfill_partitions(first, home, sources_file)
        units = [u for u in units if u[0] not in FIRST_SOURCES]
    runner = task_runner(workers, dask_address)
    errors = backfill_partitions.with_options(task_runner=runner)(units, home, sources_file)
    failed = {u: e for u, e in errors.items() if e}
    build_task(end, home, full=True)
    publish_task(home)
    if failed:
        return Failed(message=f"{len(failed)} of {len(units)} unit(s) failed: "
                              + "; ".join(f"{u}: {e[:200]}" for u, e in failed.items()))
    return Completed(message=f"{len(units)} unit(s) ingested, features rebuilt")


# A worker has one thread (threads_per_worker=1), and so do the libraries in it: polars'
# pool would otherwise take every core in each worker, so two workers on two cores fight
# over them (Dask sets OMP_NUM_THREADS=1 for the same reason).
ONE_THREAD_WORKER = {"POLARS_MAX_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def task_runner(workers: int, dask_address: str | None) -> Any:
    """Dask (an existing cluster, or a local one of ``workers``); 0 workers: in-process."""
    if dask_address or workers > 0:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        # ":0": any free port for the dashboard (None means 8787, which another cluster may hold)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": ":0",
                                              "env": ONE_THREAD_WORKER})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=1)
