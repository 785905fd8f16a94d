"""The Great Expectations adapter: run a suite with GX and read its result document.

GX returns a result and raises nothing, so every decision reads the result itself. GX is
imported inside these functions only: the gate asks for it when a check fails, so a passing
gate never pays its import.

GX has no polars engine. Only the columns the suite inspects go to pandas. Measured on the
real tables (bench/bench_gate.py), the hand-over itself costs the same either way (<= 25 ms
for 45k rows), but GX's pandas engine runs about twice as fast on NumPy-backed columns as on
Arrow-backed ones (``use_pyarrow_extension_array``): its null masks and comparisons fall back
to slow paths on ArrowDtype. So NumPy-backed is the default; ARROW_BACKED switches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from validations.result import Failure, GateResult, expectation_column
from validations.suites import Rules, Suite

SAMPLES = 5
ARROW_BACKED = False
DATASOURCE = "alvh"
# COMPLETE: a failed row-level expectation must name every failing row (its index), not a
# sample. GX computes that list for SUMMARY too; COMPLETE only stops it truncating. Passing
# runs cost the same; a 40k-row table failing on every row takes ~0.5 s more. The pandas
# query text would repeat the index list.
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": SAMPLES,
                 "return_unexpected_index_query": False}


@lru_cache(maxsize=1)
def default_context() -> Any:
    """One ephemeral GX context per process (creating one costs ~0.1 s; importing GX ~5 s)."""
    # GX announces its ephemeral docs folder at INFO on every context (every Dask worker).
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.analytics_enabled = False
    return ctx


def run_suite(table: str, frame: pl.DataFrame, suite: Suite, params: dict[str, Any],
              context: Any, rules: Rules, start: float) -> GateResult:
    """GX's result of ``suite`` on ``frame``, timed from ``start`` (a ``perf_counter``)."""
    ctx = context or default_context()
    with _GX_LOCK:
        vd = _registered(ctx, table, suite, rules, bool(params))
        data = pandas_view(suite.prepare(frame), suite)
        result = vd.run(batch_parameters={"dataframe": data}, expectation_parameters=params,
                        result_format=RESULT_FORMAT)
    return _gate_result(table, frame.height, result, time.perf_counter() - start)


def pandas_view(frame: pl.DataFrame, suite: Suite) -> Any:
    """The columns ``suite`` inspects, as pandas (NumPy-backed unless ARROW_BACKED)."""
    return frame.select(suite.columns()).to_pandas(use_pyarrow_extension_array=ARROW_BACKED)


# A GX context is not thread-safe (stores are plain dicts, Data Docs write shared files), and
# flows may validate tables from concurrent task threads.
_GX_LOCK = threading.RLock()

# Registering a suite and its validation definition costs more than running it on a daily
# table, so each (context, table, rules) pair is registered once and reused.
_REGISTERED: dict[tuple[int, str, str, bool], Any] = {}


def _registered(ctx: Any, table: str, suite: Suite, rules: Rules, with_rows: bool) -> Any:
    import great_expectations as gx

    key = (id(ctx), table, rules.fingerprint(), with_rows)
    if key not in _REGISTERED:
        name = f"{table}_{hashlib.sha256(repr(key[1:]).encode()).hexdigest()[:10]}"
        gx_suite = ctx.suites.add_or_update(gx.ExpectationSuite(
            name=name, expectations=[c.expectation.to_gx() for c in suite.checks]))
        _REGISTERED[key] = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(
            name=name, data=_batch_definition(ctx, table), suite=gx_suite))
    return _REGISTERED[key]


def _batch_definition(ctx: Any, table: str) -> Any:
    try:
        ds = ctx.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        ds = ctx.data_sources.add_pandas(DATASOURCE)
    if table not in ds.get_asset_names():
        ds.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole")
    return ds.get_asset(table).get_batch_definition("whole")


def _gate_result(table: str, rows: int, result: Any, elapsed: float) -> GateResult:
    evaluated = [_evaluated(r) for r in result.results]
    failed = [_failure(r) for r in result.results if not r.success]
    blocking = [f for f in failed if f.blocking]
    return GateResult(table, not blocking, rows, blocking, [f for f in failed if not f.blocking],
                      elapsed, result.to_json_dict(), evaluated)


def _failure(r: Any) -> Failure:
    cfg = r.expectation_config
    kwargs, res = cfg.kwargs, r.result or {}
    column = expectation_column(kwargs)
    samples = res.get("partial_unexpected_list")
    if samples is None:
        samples = [_observed(res["observed_value"], kwargs)] if "observed_value" in res else []
    if r.exception_info and r.exception_info.get("raised_exception"):
        samples = [r.exception_info.get("exception_message")]
    rows = res.get("unexpected_index_list") or []
    return Failure(cfg.meta.get("check", cfg.type), cfg.type, column,
                   res.get("unexpected_count"), [_plain(v) for v in samples[:SAMPLES]],
                   bool(cfg.meta.get("blocking", True)), bool(cfg.meta.get("row_level")),
                   tuple(int(i) for i in rows if isinstance(i, int | np.integer)))


def _observed(value: Any, kwargs: Mapping[str, Any]) -> str:
    """An aggregate expectation's observed value against its bounds: ``50 (min 543)``."""
    bounds = [f"{k.removesuffix('_value')} {kwargs[k]}" for k in ("min_value", "max_value")
              if kwargs.get(k) is not None]
    return f"{_plain(value)} ({', '.join(bounds)})" if bounds else str(_plain(value))


def _evaluated(r: Any) -> dict[str, Any]:
    f = _failure(r)
    return {"check": f.check, "expectation": f.expectation, "column": f.column,
            "blocking": f.blocking, "success": bool(r.success),
            "unexpected_count": f.unexpected_count, "samples": f.samples if not r.success else []}


def _nat() -> Any:
    import pandas as pd  # loaded with GX already: only GX results carry NaT

    return pd.NaT


def _plain(value: Any) -> Any:
    """A JSON-friendly sample value (dates as ISO text)."""
    if value is _nat():
        return None
    if isinstance(value, np.generic):
        value = value.item()  # NumPy-backed pandas hands back NumPy scalars
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        return value.date().isoformat()  # a Date column handed over as datetime64
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
