"""The suites' verdict computed in polars: the same checks GX runs, without GX.

Each expectation type the suites use has its polars twin below, counting the rows GX would
call unexpected (nulls and NaN are "missing" to GX's pandas engine and pass every check but
the null checks). The gate takes this verdict when every check passes and asks GX for its
result documents only when one fails or Data Docs are wanted; tests/validations/
test_verdict.py holds both to the same answer, check by check, on every fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from validations.expectation import Expectation


def _present(col: str, frame: pl.DataFrame) -> pl.Expr:
    c = pl.col(col)
    return c.is_not_null() & ~c.is_nan() if frame.schema[col].is_float() else c.is_not_null()


def _missing(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    return ~_present(kw["column"], frame)


def _not_missing(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    return _present(kw["column"], frame)


def _unique(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    return _present(kw["column"], frame).not_() | ~pl.col(kw["column"]).is_duplicated()


def _compound_unique(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    cols = list(kw["column_list"])
    all_missing = pl.all_horizontal([~_present(c, frame) for c in cols])
    return all_missing | ~pl.struct(cols).is_duplicated()


def _between(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    c, lo, hi = pl.col(kw["column"]), kw.get("min_value"), kw.get("max_value")
    ok = pl.lit(True)
    if lo is not None:
        ok &= (c > lo) if kw.get("strict_min") else (c >= lo)
    if hi is not None:
        ok &= (c < hi) if kw.get("strict_max") else (c <= hi)
    return ~_present(kw["column"], frame) | ok


def _a_greater_than_b(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    a, b = pl.col(kw["column_A"]), pl.col(kw["column_B"])
    either_missing = ~_present(kw["column_A"], frame) | ~_present(kw["column_B"], frame)
    return either_missing | ((a >= b) if kw.get("or_equal") else (a > b))


def _in_set(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    return ~_present(kw["column"], frame) | pl.col(kw["column"]).is_in(list(kw["value_set"]))


def _match_regex(kw: Mapping[str, Any], frame: pl.DataFrame) -> pl.Expr:
    return ~_present(kw["column"], frame) | pl.col(kw["column"]).str.contains(kw["regex"])


# Row checks: an expression true on every row GX would count as expected.
ROW_CHECKS: dict[str, Callable[[Mapping[str, Any], pl.DataFrame], pl.Expr]] = {
    "ExpectColumnValuesToBeNull": _missing,
    "ExpectColumnValuesToNotBeNull": _not_missing,
    "ExpectColumnValuesToBeUnique": _unique,
    "ExpectCompoundColumnsToBeUnique": _compound_unique,
    "ExpectColumnValuesToBeBetween": _between,
    "ExpectColumnPairValuesAToBeGreaterThanB": _a_greater_than_b,
    "ExpectColumnValuesToBeInSet": _in_set,
    "ExpectColumnValuesToMatchRegex": _match_regex,
}


def _row_count_ok(e: Expectation, rows: int, params: Mapping[str, Any]) -> bool:
    lo, hi = (params.get(v["$PARAMETER"]) if isinstance(v, dict) else v
              for v in (e.kwargs.get("min_value"), e.kwargs.get("max_value")))
    return bool((lo is None or rows >= lo) and (hi is None or rows <= hi))


def passes(expectations: list[Expectation], frame: pl.DataFrame,
           params: Mapping[str, Any]) -> list[bool] | None:
    """Whether each expectation passes on ``frame`` (prepared: derived columns added).

    Returns None when one cannot be judged here (a type without a twin, or a frame polars
    refuses): the caller then asks GX.
    """
    exprs: list[pl.Expr] = []
    for i, e in enumerate(expectations):
        if "mostly" in e.kwargs:
            return None
        if e.type in ROW_CHECKS:
            exprs.append(ROW_CHECKS[e.type](e.kwargs, frame).fill_null(True).all()
                         .alias(str(i)))
        elif e.type != "ExpectTableRowCountToBeBetween":
            return None
    try:
        row = frame.select(exprs).row(0) if exprs else ()
    except (pl.exceptions.PolarsError, KeyError, TypeError):
        return None
    out: list[bool] = []
    it = iter(row)
    for e in expectations:
        out.append(_row_count_ok(e, frame.height, params) if e.type not in ROW_CHECKS
                   else bool(next(it)))
    return out
