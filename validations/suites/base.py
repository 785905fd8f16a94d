"""Building blocks of the suites: a Check is one GX expectation plus what it needs computed.

GX runs on pandas and cannot express per-series calendars or per-symbol bounds, so a check
may carry a polars expression that derives a column before the frame is handed to GX; the
expectation then inspects that column (usually: "is null", the non-null values naming the
offending rows so that GX's sample of unexpected values is readable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import polars as pl

from storage.schemas import Table
from validations import checks
from validations.expectation import Expectation, expect

Bounds = tuple[float | None, float | None]
PUBLISHED_ROWS = "published_rows"


@dataclass(frozen=True)
class Rules:
    """Table-specific inputs a suite cannot know by itself; the integrator fills them.

    Attributes:
        range_rules: column -> (lo, hi), inclusive, None for an open side (features' valid
            ranges from features/registry.py, recommendation caps from the policy).
        row_rules: name -> boolean polars expression true on a good row (e.g. layers
            consistent with the regime); a row where it is false (not null) fails.
        series_bounds: series -> (lo, hi) sanity bounds from sources/config.py: macro
            series_id (``fred.rules``) for macro_observations, index symbol
            (``cboe.bounds``) for index_daily.
        soft: check names downgraded to warnings.
        vix_family: index symbols whose close must lie in [5, 150].
    """

    range_rules: Mapping[str, Bounds] = field(default_factory=dict)
    row_rules: Mapping[str, pl.Expr] = field(default_factory=dict)
    series_bounds: Mapping[str, Bounds] = field(default_factory=dict)
    soft: frozenset[str] = frozenset()
    vix_family: frozenset[str] = frozenset({"VIX", "VIX9D", "VIX3M", "VIX6M", "VIX1Y"})

    def fingerprint(self) -> str:
        """A text that differs whenever the suite these rules build would differ."""
        rows = {k: str(v) for k, v in self.row_rules.items()}
        return repr((sorted(self.range_rules.items()), sorted(rows.items()),
                     sorted(self.series_bounds.items()), sorted(self.soft),
                     sorted(self.vix_family)))


class HasRange(Protocol):
    """A registry entry with a valid range (features.registry.Feature has this shape)."""

    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def valid_min(self) -> float | None: ...  # noqa: D102
    @property
    def valid_max(self) -> float | None: ...  # noqa: D102


def registered_ranges(entries: Iterable[HasRange]) -> dict[str, Bounds]:
    """``Rules.range_rules`` from registry entries that declare a valid range."""
    return {e.name: (e.valid_min, e.valid_max) for e in entries
            if e.valid_min is not None or e.valid_max is not None}


@dataclass(frozen=True)
class Check:
    """One named expectation, whether it blocks publication, and the column it may need.

    ``row_level``: the expectation judges each row on its own, so a failing row can be
    dropped (quarantined) and the rest published; otherwise a failure refuses the partition.
    """

    name: str
    expectation: Expectation
    blocking: bool = True
    derived: pl.Expr | None = None
    row_level: bool = False


@dataclass(frozen=True)
class Suite:
    """The checks of one table."""

    table: str
    checks: tuple[Check, ...]

    def prepare(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` plus every derived column the checks inspect."""
        derived = [c.derived for c in self.checks if c.derived is not None]
        return frame.with_columns(derived) if derived else frame

    def columns(self) -> list[str]:
        """The columns the expectations read, in first-use order."""
        names: list[str] = []
        for c in self.checks:
            kw = c.expectation.kwargs
            found = [kw.get("column"), *(kw.get("column_list") or []), kw.get("column_A"),
                     kw.get("column_B")]
            names += [n for n in found if isinstance(n, str) and n not in names]
        return names


def check(name: str, expectation: Expectation, *, blocking: bool = True,
          derived: pl.Expr | None = None, row_level: bool = False) -> Check:
    """A Check whose expectation carries its name, severity and scope (shown in Data Docs)."""
    expectation = replace(expectation, meta={"check": name, "blocking": blocking,
                                             "row_level": row_level},
                          blocking=blocking, description=expectation.description or name)
    return Check(name, expectation, blocking, derived, row_level)


def flagged(name: str, label: pl.Expr, *, blocking: bool = True,
            row_level: bool = True) -> Check:
    """A Check on a derived column that is null on good rows and names the offence otherwise.

    ``row_level=False`` when the label depends on other rows (gaps, ordering within a day).
    """
    col = f"_{name}"
    return check(name, expect("ExpectColumnValuesToBeNull", column=col), blocking=blocking,
                 derived=label.alias(col), row_level=row_level)


def key_checks(t: Table) -> list[Check]:
    """Every key column non-null, and the key unique."""
    out = [check(f"{k}_not_null", expect("ExpectColumnValuesToNotBeNull", column=k))
           for k in t.keys]
    if len(t.keys) == 1:
        out.append(check("key_unique",
                         expect("ExpectColumnValuesToBeUnique", column=t.keys[0])))
    else:
        out.append(check("key_unique",
                         expect("ExpectCompoundColumnsToBeUnique", column_list=list(t.keys))))
    return out


def row_count_check(published_rows: int | None) -> list[Check]:
    """The new version has at least as many rows as the published one (when there is one).

    The count is a run-time parameter (``published_rows``) so one GX suite serves every run.
    """
    if published_rows is None:
        return []
    return [check("rows_not_shrinking", expect("ExpectTableRowCountToBeBetween",
        min_value={"$PARAMETER": PUBLISHED_ROWS}))]


def trading_day_check(date_col: str, *, blocking: bool) -> Check:
    """Every date is an NYSE session."""
    return flagged(f"{date_col}_is_nyse_session", checks.non_trading_date(date_col),
                   blocking=blocking)


def gap_check(date_col: str, by: tuple[str, ...] = (), *, blocking: bool) -> Check:
    """No NYSE session missing between two consecutive dates of a series."""
    return flagged(f"{date_col}_no_session_gap", checks.gap_sessions(date_col, by),
                   blocking=blocking, row_level=False)


def between(col: str, lo: float | None, hi: float | None, *, name: str | None = None,
            blocking: bool = True, strict_min: bool = False) -> Check:
    """``col`` within [lo, hi] where present (nulls pass)."""
    return check(name or f"{col}_in_range", expect("ExpectColumnValuesToBeBetween",
        column=col, min_value=lo, max_value=hi, strict_min=strict_min), blocking=blocking,
        row_level=True)


def at_least(a: str, b: str, *, name: str, strict: bool = False, blocking: bool = True) -> Check:
    """``a >= b`` (``a > b`` when strict) on rows where both are present."""
    return check(name, expect("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A=a, column_B=b, or_equal=not strict, ignore_row_if="either_value_is_missing"),
        blocking=blocking, row_level=True)


def out_of_bounds(bounds: Mapping[str, Bounds], key: pl.Expr, value: pl.Expr) -> pl.Expr:
    """True where ``value`` lies outside the bounds of its ``key`` (keys without bounds pass)."""
    table = pl.DataFrame([(k, lo, hi) for k, (lo, hi) in bounds.items()], orient="row",
                         schema={"key": pl.String, "lo": pl.Float64, "hi": pl.Float64})
    lo = key.replace_strict(table["key"], table["lo"], default=None, return_dtype=pl.Float64)
    hi = key.replace_strict(table["key"], table["hi"], default=None, return_dtype=pl.Float64)
    return (value < lo).fill_null(False) | (value > hi).fill_null(False)


def rule_checks(t: Table, rules: Rules) -> list[Check]:
    """The integrator's range rules and row rules for columns/rows of ``t``."""
    out = [between(col, lo, hi, name=f"{col}_in_registered_range")
           for col, (lo, hi) in rules.range_rules.items() if col in t.columns]
    label = pl.concat_str([pl.col(k).cast(pl.String) for k in t.keys], separator=" ")
    out += [flagged(name, pl.when(expr.not_()).then(label).otherwise(None))
            for name, expr in rules.row_rules.items()]
    return out


def soften(checks_: list[Check], soft: frozenset[str]) -> tuple[Check, ...]:
    """``checks_`` with the named ones downgraded to warnings."""
    return tuple(check(c.name, c.expectation, blocking=False, derived=c.derived,
                       row_level=c.row_level)
                 if c.name in soft else c for c in checks_)
