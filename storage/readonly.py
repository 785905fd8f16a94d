"""Which SQL statements a reader may run on the catalog: only those that read."""

from __future__ import annotations

import re

import duckdb

from core.errors import PipelineError

# DESCRIBE, SHOW, SUMMARIZE, FROM-first and table functions all parse as SELECT.
_READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\s+", re.IGNORECASE)


class ReadOnlyViolation(PipelineError):
    """A statement that would write, copy, attach or install was refused."""


def read_only_statements(query: str) -> list[str]:
    """The statements of ``query``, after checking every one of them only reads.

    COPY, EXPORT, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL and anything that writes are
    refused before any statement runs: a read-only catalog connection still lets DuckDB
    write files with COPY or EXPORT, and attach other databases.

    Raises:
        ReadOnlyViolation: naming the first refused statement's kind.
        duckdb.Error: the query does not parse.
    """
    out = []
    for stmt in duckdb.extract_statements(query):
        text = query_text(query, stmt)
        if stmt.type not in _READING or not _explains_a_read(text, stmt.type):
            kind = stmt.type.name.replace("_STATEMENT", "")
            raise ReadOnlyViolation(
                f"read-only: {kind} statements are refused; `alvh sql` runs only queries "
                "that read (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)")
        out.append(text)
    return out


def query_text(query: str, stmt: duckdb.Statement) -> str:
    """The SQL text of one extracted statement (DuckDB keeps its span in the query)."""
    return str(stmt.query) if getattr(stmt, "query", None) else query


def _explains_a_read(text: str, kind: duckdb.StatementType) -> bool:
    """True unless ``text`` is an EXPLAIN [ANALYZE] of a statement that does not read."""
    if kind is not duckdb.StatementType.EXPLAIN:
        return True
    inner = duckdb.extract_statements(_EXPLAIN.sub("", text, count=1))
    return all(s.type is duckdb.StatementType.SELECT for s in inner)
