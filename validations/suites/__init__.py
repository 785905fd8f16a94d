"""One suite per table: the table-specific checks plus those every table gets.

A table without a module of its own (recommendations, recommendation_legs ...) gets the
generic suite, built from its registered Table, as soon as ``storage.schemas.get`` knows it.
"""

from __future__ import annotations

from collections.abc import Callable

from storage import schemas
from storage.schemas import Table
from validations.suites import (
    breadth_daily,
    events,
    features_daily,
    generic,
    index_daily,
    macro_observations,
    option_chain,
    vx_futures,
)
from validations.suites.base import (
    Check,
    Rules,
    Suite,
    key_checks,
    registered_ranges,
    row_count_check,
    rule_checks,
)
from validations.suites.base import soften as _soften

SPECIFIC: dict[str, Callable[[Table, Rules], list[Check]]] = {
    "index_daily": index_daily.checks,
    "vx_futures": vx_futures.checks,
    "option_chain": option_chain.checks,
    "breadth_daily": breadth_daily.checks,
    "macro_observations": macro_observations.checks,
    "events": events.checks,
    "features_daily": features_daily.checks,
}


def build_suite(table: str, rules: Rules | None = None, *,
                published_rows: int | None = None) -> Suite:
    """The suite of ``table`` (raises SchemaError when the table is not registered)."""
    t = schemas.get(table)
    rules = rules or Rules()
    specific = SPECIFIC.get(table, generic.checks)
    all_checks = [*key_checks(t), *row_count_check(published_rows), *specific(t, rules),
                  *rule_checks(t, rules)]
    return Suite(table, _soften(all_checks, rules.soft))


__all__ = ["Check", "Rules", "Suite", "build_suite", "registered_ranges"]
