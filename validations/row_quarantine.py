"""Expect or drop: which rows a row-level failure removes, and how they are described.

A blocking expectation that judges each row on its own (``Check.row_level``) does not have to
cost the whole partition: GX names the failing rows (``unexpected_index_list``, positions in
the frame it was given), those rows go to quarantine with their reasons and the rest is
published. Structural failures (schema, keys, a shrinking partition, checks across rows) and
failing rows beyond ``DropPolicy.max_share`` of the partition still refuse it whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from validations.result import Failure

REASON = "quarantine_reason"
ROW = "_row"
LISTED_KEYS = 20


@dataclass(frozen=True)
class DropPolicy:
    """How many failing rows a partition may lose before it is refused whole.

    Attributes:
        max_share: failing rows as a share of the partition (0.01 = 1%); more refuses it.
    """

    max_share: float = 0.01

    def allows(self, failing: int, rows: int) -> bool:
        """Whether ``failing`` of ``rows`` may be dropped (an empty partition drops nothing)."""
        return failing <= self.max_share * rows


def droppable(failures: Sequence[Failure]) -> bool:
    """Whether every blocking failure is row-level and GX named its rows."""
    return bool(failures) and all(f.row_level and f.rows for f in failures)


def failing_rows(failures: Iterable[Failure]) -> pl.DataFrame:
    """One row per failing row position (``_row``) with its checks (``quarantine_reason``)."""
    pairs = [(i, f.check) for f in failures for i in f.rows]
    frame = pl.DataFrame(pairs, schema={ROW: pl.UInt32, "check": pl.String}, orient="row")
    return frame.group_by(ROW).agg(pl.col("check").unique().sort().str.join("; ").alias(REASON))


def split(frame: pl.DataFrame, failing: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``frame`` without the ``failing`` positions, and those rows with their reasons."""
    indexed = frame.with_row_index(ROW)
    kept = indexed.join(failing, on=ROW, how="anti").drop(ROW)
    dropped = indexed.join(failing, on=ROW, how="inner").sort(ROW).drop(ROW)
    return kept, dropped


def key_labels(frame: pl.DataFrame, keys: Sequence[str]) -> pl.Series:
    """``"k1 k2"`` for each row: the key values as text, as the suites' samples show them."""
    return frame.select(pl.concat_str([pl.col(k).cast(pl.String) for k in keys],
                                      separator=" ", ignore_nulls=True)).to_series()


def reason_counts(dropped: pl.DataFrame) -> dict[str, int]:
    """Check name -> rows it dropped (a row failing two checks counts under both)."""
    checks = dropped.select(pl.col(REASON).str.split("; ").explode().alias("check"))
    counts = checks.group_by("check").len().sort("check")
    return dict(zip(counts["check"].to_list(), counts["len"].to_list(), strict=True))
