"""Great Expectations suites, one per table, and the gate that runs them before publishing."""

import warnings

# GX imports the deprecated sre_* modules: noise in every process that validates.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="great_expectations")

from validations.audit import summary_rows, validate_lake  # noqa: E402
from validations.docs import build_docs, reports_dir  # noqa: E402
from validations.gate import gate_partition, gate_table  # noqa: E402
from validations.gx import default_context  # noqa: E402
from validations.result import DroppedRows, Failure, GateResult  # noqa: E402
from validations.row_quarantine import DropPolicy  # noqa: E402
from validations.suites import Rules, build_suite, registered_ranges  # noqa: E402
from validations.validation import validate  # noqa: E402

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
