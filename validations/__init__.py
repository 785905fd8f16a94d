"""Great Expectations suites, one per table, and the gate that runs them before publishing."""

import warnings

# GX imports the deprecated sre_* modules: noise in every process that validates.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="great_expectations")

from validations.gate import (  # noqa: E402
    Failure,
    GateResult,
    build_docs,
    default_context,
    gate_partition,
    gate_table,
    reports_dir,
    summary_rows,
    validate,
    validate_lake,
)
from validations.row_quarantine import DroppedRows, DropPolicy  # noqa: E402
from validations.suites import Rules, build_suite, registered_ranges  # noqa: E402

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
    "registered_ranges",
    "reports_dir",
    "summary_rows",
    "validate",
    "validate_lake",
]
