"""``alvh policy``: the policy file in force."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import PipelineError
from flows.cli.app import State, app, fail, out

policy_app = typer.Typer(help="The ALVH policy file.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(
    policy: Annotated[str | None, typer.Option(help="Policy TOML [default: shipped]")] = None,
) -> None:
    """Print the policy in force and its version."""
    from hedge.policy import load_policy, render_policy

    try:
        out.print(render_policy(load_policy(policy or State.settings.policy)), highlight=False)
    except PipelineError as e:
        raise fail(str(e), 2) from None
