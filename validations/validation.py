"""One validation: a table's suite judged on one frame, by polars, and by GX when a check fails.

The verdict is computed in polars (``validations.verdict``): the same checks GX runs. GX runs
only when one fails, for its result document (which names the failing rows the gate drops).
Either result goes into our own Data Docs (``validations.docs``), so a passing gate never
imports GX.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl

from storage import schemas
from validations import docs, gx
from validations.result import GateResult, expectation_column
from validations.suites import Rules, Suite, build_suite
from validations.suites.base import PUBLISHED_ROWS
from validations.verdict import passes


def validate(table: str, frame: pl.DataFrame, *, published_rows: int | None = None,
             context: Any = None, rules: Rules | None = None,
             docs_dir: str | Path | None = None) -> GateResult:
    """Run ``table``'s suite on ``frame``.

    Args:
        table: a registered table name.
        frame: the rows to validate, in the table's schema (extra columns are refused).
        published_rows: rows of the published version it would replace; None skips the
            row-count check.
        context: a GX data context (default: the process-wide ephemeral one).
        rules: range/row rules, macro series bounds, soft overrides (see ``Rules``).
        docs_dir: when given, the result goes into the Data Docs there at once; otherwise
            it is kept for the next ``build_docs``.

    Returns:
        A GateResult; ``success`` is False when any blocking expectation failed.

    Raises:
        SchemaError: the table is unknown or ``frame`` does not match its schema.
    """
    start = time.perf_counter()
    frame = schemas.get(table).conform(frame)
    rules = rules or Rules()
    suite = _suite(table, rules, published_rows is not None)
    params = {} if published_rows is None else {PUBLISHED_ROWS: published_rows}
    # The verdict in polars; GX runs only when a check fails, for its result document. Data
    # Docs are our own page over either result, so a passing gate never needs GX.
    verdict = passes([c.expectation for c in suite.checks], suite.prepare(frame), params)
    if verdict is not None and all(verdict):
        gate = _passed(table, suite, frame.height, time.perf_counter() - start)
    else:
        gate = gx.run_suite(table, frame, suite, params, context, rules, start)
    _keep_for_docs(gate, frame, docs_dir)
    return gate


def _keep_for_docs(gate: GateResult, frame: pl.DataFrame, docs_dir: str | Path | None) -> None:
    """Write the result into Data Docs now (docs_dir), or keep it for ``build_docs``."""
    column = schemas.get(gate.table).date_col
    first, last = (frame[column].min(), frame[column].max()) if frame.height else (None, None)
    record = docs.result_record(gate.table, gate.success, gate.rows, gate.elapsed, first, last,
                                gate.evaluated)
    if docs_dir is None:
        docs.remember(record)
    else:
        docs.write_docs(docs_dir, [record])


_SUITES: dict[tuple[str, str, bool], Suite] = {}


def _suite(table: str, rules: Rules, with_rows: bool) -> Suite:
    """``table``'s suite under ``rules``, built once per process."""
    key = (table, rules.fingerprint(), with_rows)
    if key not in _SUITES:
        _SUITES[key] = build_suite(table, rules, published_rows=0 if with_rows else None)
    return _SUITES[key]


def _passed(table: str, suite: Suite, rows: int, elapsed: float) -> GateResult:
    """A passing result judged in polars: what GX reports for it, without the document."""
    evaluated: list[dict[str, Any]] = [{"check": c.name, "expectation": c.expectation.gx_type,
                  "column": expectation_column(c.expectation.kwargs), "blocking": c.blocking,
                  "success": True, "samples": [],
                  "unexpected_count": None if c.expectation.type ==
                  "ExpectTableRowCountToBeBetween" else 0} for c in suite.checks]
    doc = {"success": True, "judged_by": "polars (validations/verdict.py)",
           "suite": suite.table, "rows": rows, "checks": [e["check"] for e in evaluated]}
    return GateResult(table, True, rows, [], [], elapsed, doc, evaluated)
