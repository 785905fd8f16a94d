"""``alvh serve``: the read-only HTTP API over the catalog."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.app import State, app, fail


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Serve features, signals and recommendations over HTTP (OpenAPI docs at /docs)."""
    import uvicorn

    from flows.api import create_app

    lake = State.lake()
    if not lake.local:
        raise fail(f"alvh serve needs a local lake home (the DuckDB catalog), not {lake.url}", 2)
    typer.echo(f"alvh API on http://{host}:{port} (docs: /docs) over {lake.root}", err=True)
    uvicorn.run(create_app(lake.root), host=host, port=port, log_level="warning")
