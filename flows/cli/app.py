"""The ``alvh`` app: global options, the state they set, the consoles and shared helpers.

Commands live in the other modules of this package; each imports ``app`` from here and
registers itself, and ``flows/cli/__init__.py`` imports them all. Nothing here imports a
command module, so the package has no import cycle.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from typer.core import TyperGroup

from flows.settings import Settings

if TYPE_CHECKING:  # every command imports this module: the lake loads when used
    from storage.lake import Lake

ENVIRONMENT = """Environment: ALVH_HOME (lake root, default ./lake), ALVH_SOURCES (sources
TOML), ALVH_POLICY (policy TOML), FRED_API_KEY (FRED observations API with vintages),
PREFECT_API_URL (a Prefect server; unset: an ephemeral one), ALVH_SHARED_DATA (tests' real
data)."""
GLOBAL_OPTIONS = ("--home",)
# Quiet defaults for Prefect when run from the CLI; users' own settings win.
# Dask's scheduler and nannies log every worker start and stop at INFO (also for workers).
M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
QUIET_DEFAULTS = {"PREFECT_LOGGING_LEVEL": "WARNING",
                  "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error",
                  "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


class GlobalOptionsAnywhere(TyperGroup):
    """Accept the global options after the command too (``alvh status --home X``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Move global options found after the command in front of it."""
        front: list[str] = []
        rest: list[str] = []
        it = iter(args)
        for arg in it:
            if arg == "--":
                rest += [arg, *it]
            elif arg in GLOBAL_OPTIONS:
                front += [arg, next(it, "")]
            elif arg.split("=", 1)[0] in GLOBAL_OPTIONS:
                front.append(arg)
            else:
                rest.append(arg)
        return super().parse_args(ctx, front + rest)


app = typer.Typer(help="alvh: the ALVH data pipeline and feature store.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=GlobalOptionsAnywhere,
                  epilog=ENVIRONMENT, rich_markup_mode=None)
# Piped output (logs, CI, `make run | tee`) gets room for the wide tables.
out = Console(width=None if sys.stdout.isatty() else 130)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 130)


class Format(StrEnum):
    """Output formats for tabular results."""

    table = "table"
    csv = "csv"
    json = "json"


class State:
    """Options shared by every command, set by the app's callback before any command runs."""

    settings: Settings

    @classmethod
    def lake(cls) -> Lake:
        """The lake chosen by ``--home`` or ``ALVH_HOME``."""
        return cls.settings.lake()


@app.callback()
def main(
    home: Annotated[str | None, typer.Option(help="Lake root: a path or fsspec URL "
                                             "[env: ALVH_HOME, default ./lake]")] = None,
) -> None:
    """alvh: ingest, validate, compute features and recommend the next session's hedge."""
    # Here, not at import: they must precede Prefect's and Dask's imports (which read them)
    # and the workers a run starts (which inherit them), and every command imports those
    # lazily; importing this package leaves the environment alone.
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    few_malloc_arenas()
    State.settings = Settings().with_options(home=home)


def few_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for the threads the command starts (no-op elsewhere).

    glibc gives each new thread an arena of its own; the threads of delta-rs' and DuckDB's
    runtimes each grow one for a handful of allocations. Two arenas make `alvh build --full`
    ~15 MiB smaller and no slower (MALLOC_ARENA_MAX, set before any of them starts).
    """
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return  # the user's choice (glibc read it at start), or no glibc
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # musl and others: no mallopt
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def parse_day(text: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value, or a one-line error (exit 2)."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r}: expected a date as YYYY-MM-DD", 2) from None


def emit(columns: list[str], rows: list[tuple[Any, ...]], fmt: Format, title: str = "") -> None:
    """Print rows as a rich table, CSV or JSON records."""
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    elif fmt is Format.json:
        sys.stdout.write(json.dumps([dict(zip(columns, r, strict=True)) for r in rows],
                                    default=str, indent=1) + "\n")
    else:
        table = RichTable(title=title or None)
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        out.print(table)
