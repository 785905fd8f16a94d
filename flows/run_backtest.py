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
    return (Settings(home=home) if home else Settings()).lake()


@task(task_run_name="backtest-{start}-{end}")
def backtest_task(start: dt.date, end: dt.date, policy: dict[str, Any],
                  home: str | None = None) -> str:
    """Run and store one backtest of ``policy`` (a policy mapping); returns the run id."""
    from backtest.run import backtest, store
    from hedge.policy import policy_from_mapping

    lake = _lake(home)
    result = backtest(lake, start, end, policy_from_mapping(policy, "backtest task"), utc_now())
    store(lake, result)
    get_run_logger().info("backtest %s: %d daily rows", result.run_id, result.daily.height)
    return result.run_id


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
    ids = run_variants.with_options(task_runner=runner)(start, end, mappings, home)
    publish_backtest(home)
    return ids


@flow(name="backtest-variants")
def run_variants(start: dt.date, end: dt.date, policies: list[dict[str, Any]],
                 home: str | None = None) -> list[str]:
    """Each policy's run as a task on the flow's task runner."""
    futures = [backtest_task.submit(start, end, p, home) for p in policies]
    return [f.result() for f in futures]
