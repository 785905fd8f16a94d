"""``alvh alerts``: failure notifications for the nightly and backfill runs."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.app import app, fail, out

alerts_app = typer.Typer(help="Failure alerts (a Prefect automation and a webhook block).",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("install")
def install(
    url: Annotated[str, typer.Option(help="Webhook that receives {text, subject, body} JSON")],
) -> None:
    """Create or replace the alert on the Prefect server of PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL

    from flows.alerts import AUTOMATION_NAME, BLOCK_NAME
    from flows.alerts import install as install_alerts

    if not PREFECT_API_URL.value():
        raise fail("alerts need a Prefect server: set PREFECT_API_URL "
                   "(e.g. http://127.0.0.1:4200/api)", 2)
    try:
        block_id, automation_id = install_alerts(url)
    except Exception as e:  # noqa: BLE001  (any server or validation error: one line)
        raise fail(f"could not install alerts on {PREFECT_API_URL.value()}: {e}", 1) from None
    out.print(f"webhook block {BLOCK_NAME!r} ({block_id}) and automation "
              f"{AUTOMATION_NAME!r} ({automation_id}) installed on {PREFECT_API_URL.value()}",
              highlight=False)
