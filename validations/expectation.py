"""An expectation as data: its GX type and arguments, made a GX object only when GX runs.

Building the suites then costs no GX import, and the gate can judge a frame with the same
checks in polars (validations/verdict.py) and call GX only for the documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Expectation:
    """A GX expectation by name (``ExpectColumnValuesToBeNull``) and keyword arguments."""

    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    blocking: bool = True
    description: str = ""

    @property
    def gx_type(self) -> str:
        """The type as GX results name it: ``expect_column_values_to_be_null``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.type).lower()

    def to_gx(self) -> Any:
        """The great_expectations expectation this describes (imports GX)."""
        import great_expectations.expectations as gxe
        from great_expectations.expectations.metadata_types import FailureSeverity

        gx_expectation = getattr(gxe, self.type)(**self.kwargs)
        gx_expectation.meta = dict(self.meta)
        gx_expectation.severity = (FailureSeverity.CRITICAL if self.blocking
                                   else FailureSeverity.WARNING)
        gx_expectation.description = self.description
        return gx_expectation


def expect(type_: str, **kwargs: Any) -> Expectation:
    """``expect("ExpectColumnValuesToBeNull", column="x")``: a GX expectation, as data."""
    return Expectation(type_, kwargs)
