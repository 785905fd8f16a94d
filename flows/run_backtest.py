"""Prefect flows of the backtest: one run, and a sweep of policy variants fanned out on Dask.

Not named ``flows/backtest.py``: Prefect puts an entrypoint's folder on ``sys.path``, where
that module would shadow the ``backtest`` package for every flow of this folder.

Tasks pass dates, paths and policy mappings (never frames); each task reads the lake itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task

from core.clock import utc_now
from flows.settings import Settings


def _lake(home: str | None) -> Any:
    return Settings().with_options(home=home).lake()


@task(task_run_name="backtest-{start}-{end}")
def backtest_task(start: dt.date, end: dt.date, policies: list[dict[str, Any]],
                  home: str | None = None) -> list[str]:
    """Run and store the backtests of ``policies`` (policy mappings); returns the run ids.

    One worker's share of a sweep: the lake is read once for all of them
    (``backtest.run.backtest_each``) and their rows are stored in one commit per table.
    """
    from backtest.run import backtest_each, run_id, store
    from hedge.policy import policy_from_mapping

    lake = _lake(home)
    chosen = [policy_from_mapping(p, "backtest task") for p in policies]
    results = backtest_each(lake, start, end, chosen, utc_now())
    store(lake, results)
    get_run_logger().info("backtest: %d run(s), %d daily rows", len(results),
                          sum(r.daily.height for r in results))
    return [run_id(p, start, end) for p in chosen]


def shares(items: list[Any], n: int) -> list[list[Any]]:
    """``items`` dealt round-robin into at most ``n`` non-empty shares."""
    return [share for share in (items[i::max(n, 1)] for i in range(max(n, 1))) if share]


@task
def publish_backtest(home: str | None = None) -> str:
    """Publish the catalog (with the backtest views) once the runs are stored."""
    from flows.pipeline import publish

    return publish(_lake(home))


@flow(name="backtest", flow_run_name="backtest-{start}-{end}")
def backtest_flow(start: dt.date, end: dt.date, policy: str | None = None,
                  sweep: str | None = None, home: str | None = None, workers: int = 2,
                  dask_address: str | None = None) -> list[str]:
    """Backtest one policy, or every variant of a sweep grid on Dask; returns the run ids."""
    from backtest.sweep import read_grid, variants
    from flows.nightly import task_runner
    from hedge.policy import load_policy

    base = load_policy(policy or Settings().policy)
    chosen = variants(base, read_grid(sweep)) if sweep else [base]
    mappings = [p.model_dump(mode="json") for p in chosen]
    runner = task_runner(workers if sweep else 0, dask_address if sweep else None)
    # One task per worker, not per variant: each reads the lake once and commits once, so
    # neither the orchestration of many small tasks nor the reads and commits serialise it.
    dealt = shares(mappings, workers if sweep else 1)
    ids = run_variants.with_options(task_runner=runner)(start, end, dealt, home)
    publish_backtest(home)
    return ids


@flow(name="backtest-variants")
def run_variants(start: dt.date, end: dt.date, shares: list[list[dict[str, Any]]],
                 home: str | None = None) -> list[str]:
    """Each share of the policies as a task on the flow's task runner.

    Returns the run ids in the order of the variants (the shares were dealt round-robin).
    """
    futures = [backtest_task.submit(start, end, share, home) for share in shares]
    done = [f.result() for f in futures]
    n = len(done)
    return [done[i % n][i // n] for i in range(sum(len(d) for d in done))]
