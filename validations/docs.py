"""Data Docs of our own: one static HTML page over the kept validation results.

GX's Data Docs load jQuery, Bootstrap and Vega from CDNs (blank offline), and its ephemeral
context only knows the validations of the current process, so every partial run (a Dask
worker, one table) rebuilt the index down to its own few tables. Here each validation is
kept as a small JSON file under ``<docs>/results/<table>/`` and the index is rendered from
all of them: runs merge instead of overwriting, and the page needs no network and no script.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import uuid
from collections import deque
from pathlib import Path
from typing import Any

KEEP_PER_TABLE = 30  # older result files of a table are pruned when the index is rendered
_PENDING: deque[dict[str, Any]] = deque(maxlen=500)  # validated, not yet written anywhere

_CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:28px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.ok{color:#2e7d32}.failed{color:#c62828;
font-weight:bold}.soft{color:#ef6c00}.muted{color:#777}"""


def result_record(table: str, success: bool, rows: int, elapsed: float, first: Any, last: Any,
                  evaluated: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON kept for one validation (dates as ISO text)."""
    return {"table": table, "success": success, "rows": rows, "elapsed": round(elapsed, 3),
            "first": str(first) if first is not None else None,
            "last": str(last) if last is not None else None, "checks": evaluated}


def remember(record: dict[str, Any]) -> None:
    """Keep a validation for the next ``write_docs`` of this process."""
    _PENDING.append(record)


def write_docs(docs_dir: str | Path, records: list[dict[str, Any]] | None = None) -> str:
    """Write ``records`` (default: every one remembered) and re-render the index.

    Returns:
        The path of ``index.html``.
    """
    folder = Path(docs_dir)
    todo = list(_PENDING) if records is None else records
    if records is None:
        _PENDING.clear()
    for record in todo:
        target = folder / "results" / record["table"] / f"{uuid.uuid4().hex}.json"
        _atomic_write(target, json.dumps(record, default=str).encode())
    return render_index(folder)


def reports_dir(home: str | Path) -> Path:
    """Where Data Docs go under the alvh home: ``<home>/reports/validation``."""
    return Path(home) / "reports" / "validation"


def build_docs(docs_dir: str | Path) -> str:
    """Write every validation this process kept into the Data Docs in ``docs_dir``.

    Merged with what other runs and processes wrote there.

    Returns:
        The path of the site's ``index.html``.
    """
    return write_docs(docs_dir)


def kept_results(folder: Path) -> dict[str, list[tuple[dt.datetime, dict[str, Any]]]]:
    """Every kept result by table, newest first, with the time its file was written."""
    out: dict[str, list[tuple[dt.datetime, dict[str, Any]]]] = {}
    for path in (folder / "results").glob("*/*.json"):
        try:
            stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            out.setdefault(path.parent.name, []).append((stamp, json.loads(path.read_text())))
        except (OSError, ValueError):
            continue  # pruned or half-visible from another process: the next render has it
    return {t: sorted(r, key=lambda x: x[0], reverse=True) for t, r in sorted(out.items())}


def render_index(folder: Path) -> str:
    """Render ``index.html`` from the kept results; prune all but the newest per table."""
    results = kept_results(folder)
    _prune(folder, results)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>alvh "
             f"validation</title><style>{_CSS}</style></head><body><h1>alvh validation</h1>"
             "<p class=\"muted\">The latest validation of every table (Great Expectations "
             "suites), then the earlier ones kept. Times are UTC.</p>", _summary(results)]
    parts += [_table_section(t, r) for t, r in results.items()]
    target = folder / "index.html"
    _atomic_write(target, ("".join(parts) + "</body></html>").encode())
    return str(target)


def _summary(results: dict[str, list[tuple[dt.datetime, dict[str, Any]]]]) -> str:
    rows = "".join(
        f"<tr><td><a href=\"#{html.escape(t)}\">{html.escape(t)}</a></td>"
        f"<td>{_status(r[0][1]['success'])}</td><td>{r[0][1]['rows']:,}</td>"
        f"<td>{_range(r[0][1])}</td><td>{r[0][0]:%Y-%m-%d %H:%M:%S}</td></tr>"
        for t, r in results.items())
    return ("<table><tr><th>table</th><th>latest</th><th>rows</th><th>dates</th>"
            f"<th>validated</th></tr>{rows}</table>")


def _table_section(table: str, kept: list[tuple[dt.datetime, dict[str, Any]]]) -> str:
    stamp, latest = kept[0]
    checks = "".join(
        f"<tr><td>{html.escape(str(c.get('check')))}</td>"
        f"<td>{html.escape(str(c.get('column') or ''))}</td>"
        f"<td>{'blocking' if c.get('blocking') else 'soft'}</td>"
        f"<td>{_status(c.get('success'), soft=not c.get('blocking'))}</td>"
        f"<td>{'' if c.get('unexpected_count') is None else c['unexpected_count']}</td>"
        f"<td>{html.escape(json.dumps(c.get('samples') or [], default=str)[:200])}</td></tr>"
        for c in latest.get("checks", []))
    earlier = "".join(
        f"<tr><td>{s:%Y-%m-%d %H:%M:%S}</td><td>{_status(r['success'])}</td>"
        f"<td>{r['rows']:,}</td><td>{_range(r)}</td></tr>" for s, r in kept[1:])
    name = html.escape(table)
    return (f"<h2 id=\"{name}\">{name}</h2><p>{_status(latest['success'])} &middot;"
            f" {latest['rows']:,} rows &middot; {_range(latest)} &middot; validated "
            f"{stamp:%Y-%m-%d %H:%M:%S}</p><table><tr><th>check</th><th>column</th>"
            f"<th>severity</th><th>result</th><th>bad rows</th><th>samples</th></tr>{checks}"
            "</table>" + (f"<details><summary>{len(kept) - 1} earlier</summary><table><tr>"
                          "<th>validated</th><th>result</th><th>rows</th><th>dates</th></tr>"
                          f"{earlier}</table></details>" if earlier else ""))


def _status(success: Any, soft: bool = False) -> str:
    if success:
        return "<span class=\"ok\">ok</span>"
    return "<span class=\"soft\">warning</span>" if soft else "<span class=\"failed\">FAILED</span>"


def _range(record: dict[str, Any]) -> str:
    first, last = record.get("first"), record.get("last")
    return html.escape(f"{first}..{last}" if first != last else str(first))


def _prune(folder: Path, results: dict[str, list[tuple[dt.datetime, dict[str, Any]]]]) -> None:
    for table, kept in results.items():
        if len(kept) > KEEP_PER_TABLE:
            stamps = {s for s, _ in kept[KEEP_PER_TABLE:]}
            for path in (folder / "results" / table).glob("*.json"):
                try:
                    if dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) in stamps:
                        path.unlink()
                except OSError:
                    pass
            del kept[KEEP_PER_TABLE:]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

