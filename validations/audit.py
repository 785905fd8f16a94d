"""The audit: the suites re-run over what is published, and the summary the CLI prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from storage import schemas
from storage.lake import Lake
from validations.result import GateResult
from validations.suites import Rules
from validations.validation import validate


def validate_lake(lake: Lake, tables: Sequence[str] | None = None, *,
                  rules: Mapping[str, Rules] | None = None, context: Any = None,
                  docs_dir: str | Path | None = None) -> list[GateResult]:
    """Re-run the suites over the published tables.

    Args:
        lake: the lake to read.
        tables: table names; default every registered table that has published data.
        rules: table -> Rules.
        context: a GX data context (default: the process-wide ephemeral one).
        docs_dir: where to build Data Docs, or None.

    Returns:
        One GateResult per table, in the order validated.
    """
    names = list(tables) if tables else [t.name for t in schemas.all_tables()
                                         if lake.partitions(t.name)]
    rules = rules or {}
    out: list[GateResult] = []
    for name in names:
        for scope, frame in _scopes(lake, name):
            result = validate(name, frame, context=context, rules=rules.get(name),
                              docs_dir=docs_dir)
            result.scope = scope
            out.append(result)
    return out


def _scopes(lake: Lake, table: str) -> Iterable[tuple[str, pl.DataFrame]]:
    """The table whole, or one snapshot at a time when it is partitioned by its date alone.

    Snapshot tables (option_chain) have no check across partitions, and all of their
    history at once would not fit GX's pandas engine comfortably.
    """
    t = schemas.get(table)
    if t.partition_by != (t.date_col,):
        yield "", lake.scan(table).collect()
        return
    lf = lake.scan(table)
    dates = lf.select(pl.col(t.date_col).unique().sort()).collect().to_series()
    for d in dates:
        yield f"{t.date_col}={d}", lf.filter(pl.col(t.date_col) == d).collect()


def summary_rows(results: Iterable[GateResult]) -> list[dict[str, Any]]:
    """One row per evaluated expectation, for the CLI's summary table.

    Each row: table, scope (a snapshot partition, or empty for the whole table), check,
    expectation, column, blocking, severity, success, unexpected_count and samples.
    """
    return [{"table": r.table, "scope": r.scope, **e,
             "severity": "blocking" if e["blocking"] else "soft"}
            for r in results for e in r.evaluated]
