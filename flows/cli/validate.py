"""``alvh validate``: the validation suites re-run over the lake."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out


@app.command()
def validate(
    table: Annotated[str | None, typer.Argument(help="One table [default: all]")] = None,
) -> None:
    """Re-run the validation suites over the lake; exit 1 when a blocking check fails."""
    from flows.pipeline import feature_rules
    from validations import summary_rows, validate_lake

    lake = State.lake()
    docs = lake.path("reports", "validation") if lake.local else None
    try:
        results = validate_lake(lake, [table] if table else None, docs_dir=docs,
                                rules={"features_daily": feature_rules()})
    except PipelineError as e:
        raise fail(str(e), 2) from None
    rows = [(r["table"], r["check"], r["severity"], "ok" if r["success"] else "FAILED",
             r.get("unexpected_count"), str(r.get("samples") or "")[:60])
            for r in summary_rows(results)]
    emit(["table", "check", "severity", "result", "bad rows", "samples"], rows, Format.table)
    if docs:
        out.print(f"Data Docs: {docs}")
    if not all(r.success for r in results):
        raise typer.Exit(1)
