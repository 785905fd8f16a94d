"""Great Expectations suites, one per table, and the gate that runs them before publishing."""

from validations.gate import (
    Failure,
    GateResult,
    build_docs,
    default_context,
    gate_partition,
    gate_table,
    keep_for_docs,
    reports_dir,
    summary_rows,
    validate,
    validate_lake,
)
from validations.row_quarantine import DroppedRows, DropPolicy
from validations.suites import Rules, build_suite, registered_ranges

__all__ = [
    "DropPolicy",
    "DroppedRows",
    "Failure",
    "GateResult",
    "Rules",
    "build_docs",
    "build_suite",
    "default_context",
    "gate_partition",
    "gate_table",
    "keep_for_docs",
    "registered_ranges",
    "reports_dir",
    "summary_rows",
    "validate",
    "validate_lake",
]
