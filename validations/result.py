"""What a gate run returns: one table's suite on one frame, its failures and dropped rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Failure:
    """One failed expectation: its check name, GX type, column and sample offending values.

    ``rows``: positions of the failing rows in the validated frame (row-level checks).
    """

    check: str
    expectation: str
    column: str | None
    unexpected_count: int | None
    samples: list[Any]
    blocking: bool
    row_level: bool = False
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        """``check (expectation on column): N rows, e.g. [...]`` for messages and logs."""
        where = f" on {self.column}" if self.column else ""
        count = "" if self.unexpected_count is None else f": {self.unexpected_count} row(s)"
        return f"{self.check} ({self.expectation}{where}){count}, e.g. {self.samples}"


@dataclass(frozen=True)
class DroppedRows:
    """Rows one partition lost to row-level checks, and where they were quarantined."""

    label: str
    rows: int
    new_rows: int  # of them, rows of the incoming frame (the rest were published before)
    reasons: dict[str, int]
    keys: list[str]
    path: str
    # Rows an earlier run already quarantined, unchanged: the provider re-sent them. They
    # are dropped again but not re-quarantined, and are no news (``path`` is the first copy).
    known: bool = False

    def describe(self) -> str:
        """``label: N row(s) dropped (check: n, ...) [key, ...] -> path``."""
        why = ", ".join(f"{c}: {n}" for c, n in self.reasons.items())
        more = f" and {self.rows - len(self.keys)} more" if self.rows > len(self.keys) else ""
        what = "known bad row(s) dropped again" if self.known else "row(s) dropped"
        where = "first quarantined at" if self.known else "->"
        return (f"{self.label}: {self.rows} {what} ({why}) "
                f"[{', '.join(self.keys)}{more}] {where} {self.path}")


@dataclass
class GateResult:
    """The outcome of one table's suite on one frame."""

    table: str
    success: bool
    rows: int
    failures: list[Failure]
    warnings: list[Failure]
    elapsed: float
    result_json: dict[str, Any] = field(repr=False)
    evaluated: list[dict[str, Any]] = field(default_factory=list, repr=False)
    scope: str = ""
    dropped: list[DroppedRows] = field(default_factory=list)

    @property
    def dropped_new_rows(self) -> int:
        """Rows of the incoming frame that were dropped to quarantine instead of published."""
        return sum(d.new_rows for d in self.dropped)

    @property
    def dropped_news(self) -> list[DroppedRows]:
        """The drops that are news: not rows an earlier run already quarantined as they are."""
        return [d for d in self.dropped if not d.known]

    def message(self) -> str:
        """One paragraph naming every blocking failure with its samples."""
        what = f"{self.table} {self.scope}".strip()
        if self.success:
            return f"{what}: {self.rows} rows passed"
        lines = "; ".join(f.describe() for f in self.failures)
        return f"{what}: {len(self.failures)} blocking expectation(s) failed: {lines}"


def expectation_column(kwargs: Mapping[str, Any]) -> str | None:
    """The column(s) an expectation reads, as GX results name them."""
    return kwargs.get("column") or ",".join(
        kwargs.get("column_list") or [k for k in (kwargs.get("column_A"), kwargs.get("column_B"))
                                      if k]) or None
