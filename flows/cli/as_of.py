"""The lake as it was: ``--as-of-version`` and ``--as-of-time`` parsed, and a catalog over them.

Shared by ``alvh sql``, ``alvh export`` and the lake's upkeep commands.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from core.errors import PipelineError

if TYPE_CHECKING:  # imported by every command's module: the lake loads when used
    import duckdb

    from storage.lake import Lake, Snapshot


def declared_tables() -> list[str]:
    """Every table name, the feature and recommendation tables included."""
    from storage import schemas

    return [t.name for t in schemas.all_tables()]


def parse_versions(pins: list[str]) -> dict[str, int]:
    """``TABLE=VERSION`` options as a mapping, or a one-line error naming the bad one."""
    out_: dict[str, int] = {}
    for pin in pins:
        table, _, version = pin.partition("=")
        if not version.isdigit() or table not in declared_tables():
            raise PipelineError(f"--as-of-version {pin!r}: expected TABLE=VERSION with a "
                                "declared table and a version number")
        out_[table] = int(version)
    return out_


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or None."""
    if text is None:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise PipelineError(f"--as-of-time {text!r}: expected an ISO date or time") from e
    if len(text) == 10:  # a day means its end: "what the lake said on the night of D"
        at = at.replace(hour=23, minute=59, second=59, microsecond=999999)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def snapshots_as_of(lake: Lake, versions: dict[str, int], at: dt.datetime | None
                    ) -> dict[str, Snapshot]:
    """Each table's snapshot: a pinned version, else the one current at ``at``, else now."""
    return {name: lake.snapshot(name, version=versions.get(name),
                                as_of=None if name in versions else at)
            for name in declared_tables()}


def connect_as_of(lake: Lake, versions: dict[str, int], at: dt.datetime | None
                  ) -> duckdb.DuckDBPyConnection:
    """An in-memory catalog, as the nightly builds it, over the tables as they were."""
    import duckdb

    from flows.views import catalog_extras
    from storage.catalog import populate

    con = duckdb.connect()
    extra_sql, tables = catalog_extras()
    populate(con, lake, snapshots_as_of(lake, versions, at), extra_sql, tables)
    return con
