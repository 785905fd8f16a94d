"""Store: read-only access to a lake's published DuckDB catalog, as polars frames.

The nightly run publishes a new catalog file and renames it over the old one. A Store keeps
one read-only connection per catalog file and opens the new file when the path points at a
new inode (one stat per query), so a reader is never blocked by a publish and never reads a
half-built file; queries already running finish on the file they started with.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from typing import TYPE_CHECKING, Any

import duckdb

from core.errors import PipelineError

if TYPE_CHECKING:  # frames come from duckdb's .pl(), which imports polars when asked
    import polars as pl

CATALOG_FILE = "alvh.duckdb"
DateLike = dt.date | str


_ALIAS = "alvh"


def _attach(path: str) -> duckdb.DuckDBPyConnection:
    """A fresh read-only connection to the catalog file at ``path``.

    ``duckdb.connect(path)`` would hand back the process's cached instance of the file it
    opened first, the pre-swap catalog, for as long as any cursor holds it; attaching to a
    new in-memory instance always opens the file the path names now.
    """
    con = duckdb.connect()
    con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS {_ALIAS} (READ_ONLY)")
    # The views name the lake's files relative to its home (a moved lake reads its own).
    con.execute("SET GLOBAL file_search_path = ?", [os.path.dirname(os.path.abspath(path))])
    return con


class CatalogMissing(PipelineError):
    """The lake has no published catalog yet."""


class UnknownName(ValueError):
    """A feature or signal name the catalog does not hold."""


class NotFound(LookupError):
    """Nothing stored for the day or object asked for."""


def as_date(value: DateLike, what: str = "date") -> dt.date:
    """``value`` as a date (ISO ``YYYY-MM-DD`` strings accepted); ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad {what} {value!r}: expected YYYY-MM-DD") from None


class Store:
    """The feature store of one lake home (a local folder holding ``alvh.duckdb``)."""

    def __init__(self, home: str | os.PathLike[str] = "./lake") -> None:
        self.home = os.fspath(home)
        self.catalog = os.path.join(self.home, CATALOG_FILE)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._inode: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"alvh.Store({self.home!r})"

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current catalog file (reopened when a publish swapped it)."""
        try:
            st = os.stat(self.catalog)
        except FileNotFoundError:
            raise CatalogMissing(f"no catalog at {self.catalog}: run `alvh publish` or "
                                 "`alvh nightly` first") from None
        with self._lock:
            if self._con is None or self._inode != (st.st_dev, st.st_ino):
                # The old connection is dropped, not closed: cursors in flight keep it alive.
                self._con = _attach(self.catalog)
                self._inode = (st.st_dev, st.st_ino)
            cur = self._con.cursor()
        cur.execute(f"USE {_ALIAS}")  # a cursor starts in the in-memory default catalog
        return cur

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run read-only SQL on the catalog; returns a polars frame."""
        cur = self._cursor()
        try:
            return cur.sql(sql, params=params or None).pl()
        finally:
            cur.close()

    def feature_names(self) -> list[str]:
        """Every column of ``v_features``, in order (``date`` first)."""
        return self.query("SELECT column_name FROM duckdb_columns() WHERE table_name = "
                          "'v_features' ORDER BY column_index")["column_name"].to_list()

    def _columns(self, names: list[str] | None) -> str:
        if not names:
            return "*"
        known = set(self.feature_names())
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UnknownName(f"unknown feature(s) {', '.join(map(repr, unknown))}; "
                              "see feature_catalog for the names")
        # Identifiers come from the catalog's own column list, never from the caller's text.
        return ", ".join(f'"{n}"' for n in ["date", *(n for n in names if n != "date")])

    def features(self, as_of: DateLike | None = None, *, start: DateLike | None = None,
                 end: DateLike | None = None, names: list[str] | None = None) -> pl.DataFrame:
        """Feature rows, point in time.

        Args:
            as_of: the row in force on this day (the latest stored on or before it, as the
                catalog's ``features_asof`` macro); one row, or none before the first day.
            start: first day of a range (inclusive); with ``end``, every stored row between.
            end: last day of a range (inclusive).
            names: only these features (``date`` always comes first).

        Returns:
            A polars frame, one row per trading day; unknown values stay null. With no
            arguments: the latest row.

        Raises:
            ValueError: a bad date, ``as_of`` given with a range, or start after end.
            UnknownName: a name that is not a feature.
            CatalogMissing: nothing published yet.
        """
        cols = self._columns(names)
        if as_of is not None or (start is None and end is None):
            if start is not None or end is not None:
                raise ValueError("give either as_of or a start/end range, not both")
            day = as_date(as_of, "as_of") if as_of is not None else dt.date.max
            return self.query(f"SELECT {cols} FROM features_asof(?)", [day])
        first = as_date(start, "start") if start is not None else dt.date.min
        last = as_date(end, "end") if end is not None else dt.date.max
        if first > last:
            raise ValueError(f"start {first} is after end {last}")
        return self.query(f"SELECT {cols} FROM v_features WHERE date BETWEEN ? AND ? "
                          "ORDER BY date", [first, last])

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run read-only SQL on the catalog; returns its rows as dicts (for small results).

        No frame is built: a few rows need no Arrow conversion (nor the pyarrow import that
        is most of a one-row read's cost). Stamps come back in UTC, as in the frames.
        """
        cur = self._cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(sql, params or None)
            columns = [d[0] for d in cur.description or []]
            return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
        finally:
            cur.close()

    def feature_row(self, as_of: DateLike | None = None) -> dict[str, Any] | None:
        """The feature row in force on ``as_of`` (default: the latest) as a dict, None if none.

        The row ``features(as_of=...)`` returns, as ``rows`` reads it.
        """
        day = as_date(as_of, "as_of") if as_of is not None else dt.date.max
        found = self.rows("SELECT * FROM features_asof(?)", [day])
        return found[0] if found else None

    def signals(self, date: DateLike | None = None) -> pl.DataFrame:
        """Every flag feature of the day in force on ``date`` (default: the latest day).

        Columns ``date, signal, family, value, lit``; ``value`` is null when unknown.
        """
        day = as_date(date) if date is not None else dt.date.max
        return self.query("SELECT * FROM v_signals_history WHERE date = (SELECT max(date) "
                          "FROM features_daily WHERE date <= ?) ORDER BY family, signal", [day])

    def recommendation(self, date: DateLike | None = None) -> dict[str, Any]:
        """The stored recommendation computed from day ``date`` (default: the latest).

        Returns:
            The recommendation document (hedge/SCHEMA.md): regime, condor, ladder legs,
            the rules that fired and why.

        Raises:
            NotFound: no recommendation stored for that day.
        """
        if date is None:
            rows = self.query("SELECT document FROM v_recommendation_latest")
        else:
            day = as_date(date)
            rows = self.query("SELECT document FROM recommendations WHERE date = ? "
                              "ORDER BY computed_at DESC NULLS LAST LIMIT 1", [day])
        if rows.height == 0:
            raise NotFound(f"no recommendation stored for {date or 'any day'}")
        document: dict[str, Any] = json.loads(rows.item(0, 0))
        return document

    def status(self) -> pl.DataFrame:
        """Every table's rows, first and last date and last ingest/compute stamp."""
        return self.query("SELECT * FROM table_status ORDER BY table_name")

    def has_view(self, name: str) -> bool:
        """True when the catalog holds a view or table called ``name``."""
        return self.query("SELECT count(*) AS n FROM duckdb_views() WHERE view_name = ? "
                          "UNION ALL SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                          [name, name])["n"].sum() > 0

    def backtest_summary(self) -> pl.DataFrame:
        """The backtest's summary (``v_backtest_summary``).

        Raises:
            NotFound: no such view yet, or it is empty (no backtest has been run).
        """
        summary = (self.query("SELECT * FROM v_backtest_summary")
                   if self.has_view("v_backtest_summary") else _empty_frame())
        if summary.height == 0:
            raise NotFound("no backtest summary in the catalog yet: run `alvh backtest` "
                           "and publish")
        return summary


def open(home: str | os.PathLike[str] = "./lake") -> Store:  # noqa: A001
    """The feature store of the lake at ``home`` (read-only; nothing is opened until used)."""
    return Store(home)


def _empty_frame() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame()
