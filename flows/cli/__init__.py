"""The ``alvh`` command line: ``app`` (``flows.cli.app``) and the commands registered on it.

Each command module imports the app and registers its commands; importing them here, in the
order ``alvh --help`` lists them, is the one place the app meets its commands.
"""

# isort: off
from flows.cli.app import app
from flows.cli import catalog, ingest, build, features, recommend, validate, runs  # noqa: F401
from flows.cli import report, export, backtest, calibrate, lake, serve  # noqa: F401
from flows.cli import policy, alerts  # noqa: F401  (groups: listed after the commands)
# isort: on

__all__ = ["app"]
